//! Image sharing (ims-distribution.md section 3): the owner's batch add and delete
//! (`POST`/`DELETE /v1/cloudimages/members`), the consumer's batch accept or reject (`PUT`),
//! each checked synchronously (400 with the IMS codes of section 3.8) and then done by a job,
//! and both member-list paths with pagination plus both single-member reads. The member set
//! changes when the job finishes, so a client must wait for the job.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::{Config, Pagination};
use super::images::timestamp;
use super::jobs;
use super::model::{Caller, Image, Member, MemberStatus, Outcome, Status, Work};
use super::reply::{ApiError, Reply, parse_body};
use super::world::{Shared, World};
use crate::ims;
use crate::sign;

/// The body of the owner's batch add and delete.
#[derive(Debug, Deserialize)]
struct MembersBody {
    images: Option<Vec<String>>,
    projects: Option<Vec<String>>,
    domains: Option<Vec<String>>,
    organizations: Option<Vec<String>>,
}

/// The body of the consumer's batch answer.
#[derive(Debug, Deserialize)]
struct AnswerBody {
    images: Option<Vec<String>>,
    project_id: Option<String>,
    status: Option<String>,
}

fn required(field: &str, values: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let mut seen = BTreeSet::new();
    let values: Vec<String> = values
        .unwrap_or_default()
        .into_iter()
        .filter(|value| seen.insert(value.clone()))
        .collect();
    if values.is_empty() {
        return Err(ApiError::bad("IMG.0001", format!("{field} is required.")));
    }
    Ok(values)
}

/// The owner's checks of a batch add (`adding`) or delete; the images and projects to use.
fn check_owner_batch(
    world: &World,
    config: &Config,
    caller: &Caller,
    body: MembersBody,
    adding: bool,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    if body
        .domains
        .iter()
        .chain(&body.organizations)
        .any(|list| !list.is_empty())
    {
        return Err(ApiError::bad(
            "IMG.0001",
            "The emulator shares with projects only, not with domains or organizations.",
        ));
    }
    let images = required("images", body.images)?;
    let projects = required("projects", body.projects)?;
    for project in &projects {
        if !ims::is_project_id(project) {
            return Err(ApiError::bad(
                "IMG.0067",
                format!("The project ID {project} is invalid."),
            ));
        }
        if *project == caller.project {
            return Err(ApiError::bad(
                "IMG.0076",
                "An image cannot be shared with its owner.",
            ));
        }
        if config.region_of(project) != Some(caller.region.as_str()) {
            return Err(ApiError::bad(
                "IMG.0108",
                format!(
                    "The tenant {project} does not exist in region {}.",
                    caller.region
                ),
            ));
        }
    }
    for id in &images {
        let image = world
            .images
            .get(id)
            .filter(|image| image.gone_at.is_none())
            .ok_or_else(|| ApiError::bad("IMG.0066", "The image ID is incorrect."))?;
        if image.owner != caller.project {
            return Err(ApiError::bad(
                "IMG.0106",
                "The image belongs to another tenant.",
            ));
        }
        if !adding {
            continue;
        }
        if image.status != Status::Active {
            return Err(ApiError::bad(
                "IMG.0046",
                "Only active images can be shared.",
            ));
        }
        let after = projects
            .iter()
            .filter(|p| !image.members.contains_key(*p))
            .count()
            + image.members.len();
        if after > config.member_limit {
            return Err(ApiError::bad(
                "IMG.0088",
                format!("An image can have at most {} members.", config.member_limit),
            ));
        }
    }
    Ok((images, projects))
}

async fn owner_batch(shared: Shared, caller: Caller, body: &[u8], adding: bool) -> Reply {
    let body: MembersBody = parse_body(body)?;
    let config = shared.config.clone();
    shared
        .run(move |world| {
            let (images, projects) = check_owner_batch(world, &config, &caller, body, adding)?;
            let work = if adding {
                Work::AddMembers { images, projects }
            } else {
                Work::DeleteMembers { images, projects }
            };
            let job_id = jobs::start(
                world,
                &caller,
                (work, Outcome::Success),
                ("", ""),
                config.job_duration,
            );
            Ok(Json(json!({ "job_id": job_id })).into_response())
        })
        .await
}

/// `POST /v1/cloudimages/members`: 200 `{"job_id"}`.
pub async fn add(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Reply {
    owner_batch(shared, caller, &body, true).await
}

/// `DELETE /v1/cloudimages/members` (JSON body): 200 `{"job_id"}`.
pub async fn remove(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Reply {
    owner_batch(shared, caller, &body, false).await
}

/// `PUT /v1/cloudimages/members`: the consumer accepts or rejects; 200 `{"job_id"}`.
pub async fn answer(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Reply {
    let body: AnswerBody = parse_body(&body)?;
    let images = required("images", body.images)?;
    let project = body
        .project_id
        .ok_or_else(|| ApiError::bad("IMG.0001", "project_id is required."))?;
    if project != caller.project {
        return Err(ApiError::bad(
            "IMG.0067",
            "project_id must be the caller's own project.",
        ));
    }
    let status = match body.status.as_deref() {
        Some("accepted") => MemberStatus::Accepted,
        Some("rejected") => MemberStatus::Rejected,
        _ => {
            return Err(ApiError::bad(
                "IMG.0001",
                "status must be accepted or rejected.",
            ));
        }
    };
    let duration = shared.config.job_duration;
    shared
        .run(move |world| {
            for id in &images {
                let shared_with_caller = world.images.get(id).is_some_and(|image| {
                    image.gone_at.is_none() && image.members.contains_key(&project)
                });
                if !shared_with_caller {
                    return Err(ApiError::bad("IMG.0066", "The image ID is incorrect."));
                }
            }
            let work = Work::UpdateMembers {
                images,
                project,
                status,
            };
            let job_id = jobs::start(world, &caller, (work, Outcome::Success), ("", ""), duration);
            Ok(Json(json!({ "job_id": job_id })).into_response())
        })
        .await
}

fn render(image_id: &str, member_id: &str, member: &Member) -> Value {
    json!({
        "status": member.status.as_str(),
        "created_at": timestamp(member.created_at),
        "updated_at": timestamp(member.updated_at),
        "image_id": image_id,
        "member_id": member_id,
        "schema": "/v2/schemas/member",
        "member_type": "project",
    })
}

/// The members `caller` may see: all of them for the owner, its own entry for a member (as
/// Glance does); 404 IMG.0027 for anyone else.
fn visible_members(world: &World, caller: &Caller, id: &str) -> Result<Vec<Value>, ApiError> {
    let image: &Image = world
        .images
        .get(id)
        .filter(|image| image.gone_at.is_none())
        .filter(|image| {
            image.owner == caller.project || image.members.contains_key(&caller.project)
        })
        .ok_or_else(|| ApiError::no_image(id))?;
    Ok(image
        .members
        .iter()
        .filter(|(member, _)| image.owner == caller.project || **member == caller.project)
        .map(|(member, facts)| render(id, member, facts))
        .collect())
}

/// `limit` (1-1000, default 500) and `marker` (the last member id of the previous page).
fn page_query(raw: Option<&str>) -> Result<(usize, Option<String>), ApiError> {
    let pairs = sign::parse_query(raw.unwrap_or(""));
    let value = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let limit = match value("limit") {
        None => 500,
        Some(text) => text
            .parse()
            .ok()
            .filter(|limit| (1..=1000).contains(limit))
            .ok_or_else(|| ApiError::bad("IMG.0001", "limit must be 1-1000."))?,
    };
    Ok((limit, value("marker").filter(|marker| !marker.is_empty())))
}

/// One page of members (sorted by member id) in the shape of rows 4 and 6: `page_info`
/// (unless `--pagination none`, OTC's shape) with `next_marker` only when more remain.
fn page(members: Vec<Value>, limit: usize, marker: Option<&str>, pagination: Pagination) -> Value {
    let after: Vec<Value> = members
        .into_iter()
        .filter(|m| marker.is_none_or(|last| m["member_id"].as_str() > Some(last)))
        .collect();
    let more = after.len() > limit;
    let page: Vec<Value> = after.into_iter().take(limit).collect();
    let mut body = json!({"members": page, "schema": "/v2/schemas/members"});
    if pagination != Pagination::None {
        let mut info = json!({"current_count": page.len()});
        if more && let Some(last) = page.last() {
            info["next_marker"] = last["member_id"].clone();
        }
        body["page_info"] = info;
    }
    body
}

async fn list_members(shared: Shared, caller: Caller, id: String, raw: Option<String>) -> Reply {
    let pagination = shared.config.pagination;
    let (limit, marker) = page_query(raw.as_deref())?;
    let members = shared
        .run(move |world| visible_members(world, &caller, &id))
        .await?;
    Ok(Json(page(members, limit, marker.as_deref(), pagination)).into_response())
}

/// `GET /v2/images/{image_id}/members`.
pub async fn list(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Reply {
    list_members(shared, caller, id, raw).await
}

/// `GET /v1/{project_id}/cloudimages/{image_id}/members`.
pub async fn list_in_project(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Reply {
    list_members(shared, caller, id, raw).await
}

async fn show_member(shared: Shared, caller: Caller, id: String, member: String) -> Reply {
    let members = shared
        .run(move |world| visible_members(world, &caller, &id))
        .await?;
    let found = members
        .into_iter()
        .find(|m| m["member_id"] == member.as_str())
        .ok_or_else(|| {
            ApiError::not_found("IMG.0027", format!("The member {member} does not exist."))
        })?;
    Ok(Json(found).into_response())
}

/// `GET /v2/images/{image_id}/members/{member_id}`.
pub async fn show(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((id, member)): Path<(String, String)>,
) -> Reply {
    show_member(shared, caller, id, member).await
}

/// `GET /v1/{project_id}/cloudimages/{image_id}/members/{member_id}`.
pub async fn show_in_project(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((_, id, member)): Path<(String, String, String)>,
) -> Reply {
    show_member(shared, caller, id, member).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_are_32_lower_case_hex_digits() {
        assert!(ims::is_project_id("0123456789abcdef0123456789abcdef"));
        assert!(!ims::is_project_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!ims::is_project_id("0123456789abcdef"));
    }

    #[test]
    fn pages_follow_the_member_id_marker() {
        let members: Vec<Value> = ["a", "b", "c"]
            .iter()
            .map(|id| json!({"member_id": id}))
            .collect();
        let first = page(members.clone(), 2, None, Pagination::PageInfo);
        assert_eq!(first["members"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            first["page_info"],
            json!({"current_count": 2, "next_marker": "b"})
        );
        let last = page(members.clone(), 2, Some("b"), Pagination::PageInfo);
        assert_eq!(last["members"][0]["member_id"], "c");
        assert_eq!(last["page_info"], json!({"current_count": 1}));
        let otc = page(members, 2, None, Pagination::None);
        assert!(otc.get("page_info").is_none());
        assert_eq!(page_query(Some("limit=2")).ok(), Some((2, None)));
        assert!(page_query(Some("limit=0")).is_err());
        assert!(page_query(Some("limit=1001")).is_err());
        assert_eq!(
            page_query(Some("marker=b")).ok(),
            Some((500, Some("b".into())))
        );
    }
}
