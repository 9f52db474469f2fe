//! Read-only service information: the image quota (both paths of ims-api.md row 21), the
//! supported `__os_version` list, and the IAM stub `GET /v3/projects?name=NAME` the SDK uses
//! to look up a project id (every region's default project is named like the region). Owns no
//! state beyond reading the image count.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::images::os_facts;
use super::model::Caller;
use super::reply::Reply;
use super::world::Shared;
use crate::sign;

/// `GET /v1/cloudimages/quota` and `GET /v1/{project_id}/cloudimages/quota`.
pub async fn quota(State(shared): State<Shared>, Extension(caller): Extension<Caller>) -> Reply {
    let quota = shared.config.image_quota;
    let used = shared
        .run(move |world| world.visible(&caller.project).count())
        .await;
    Ok(Json(json!({"quotas": {"resources": [
        {"type": "image", "used": used, "quota": quota, "min": 1, "max": 1000}
    ]}}))
    .into_response())
}

/// `GET /v1/cloudimages/os_version`: a JSON array grouped by platform.
pub async fn os_versions(State(shared): State<Shared>) -> Reply {
    let mut groups: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (platform, version) in &shared.config.os_versions {
        let (os_type, _, bits) = os_facts(&shared.config, version);
        let bits: u32 = bits.parse().unwrap_or(64);
        groups.entry(platform).or_default().push(json!({
            "platform": platform,
            "os_version_key": version,
            "os_version": version,
            "os_bit": bits,
            "os_type": os_type,
        }));
    }
    let body: Vec<Value> = groups
        .into_iter()
        .map(|(platform, list)| json!({"platform": platform, "version_list": list}))
        .collect();
    Ok(Json(body).into_response())
}

/// `GET /v3/projects[?name=NAME]`: the emulator's projects, all or the one named.
pub async fn projects(State(shared): State<Shared>, RawQuery(raw): RawQuery) -> Reply {
    let config = &shared.config;
    let pairs = sign::parse_query(raw.as_deref().unwrap_or(""));
    let name = pairs
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.as_str());
    let projects: Vec<Value> = config
        .projects
        .iter()
        .filter(|project| name.is_none_or(|name| name == project.name))
        .map(|project| {
            json!({
                "id": project.id,
                "name": project.name,
                "domain_id": "0000000000000000000000000000d0d0",
                "parent_id": "0000000000000000000000000000d0d0",
                "enabled": true,
                "is_domain": false,
                "description": "",
                "links": {"self": format!("/v3/projects/{}", project.id)},
            })
        })
        .collect();
    Ok(Json(json!({
        "projects": projects,
        "links": {"self": "/v3/projects", "previous": null, "next": null},
    }))
    .into_response())
}
