//! Image replication (ims-distribution.md section 4): in-region copy (`/v1` and `/v2.1`
//! `…/{image_id}/copy`) and cross-region copy (`…/{image_id}/cross_region_copy`). Each checks
//! its body and source synchronously, creates the copy at once as a `saving` private image of
//! the destination project (region), and starts a job in the *source* project whose success
//! turns the copy `active` and whose `entities.image_id` names it. Copies carry the source's
//! file facts and `__data_origin` = `image,<source region>,<source id>`, but no tags.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::response::IntoResponse;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::images::{check_description, check_name};
use super::jobs;
use super::model::{Caller, Image, Outcome, Status, Work};
use super::reply::{ApiError, Reply, parse_body};
use super::world::{Shared, World};

/// Cross-region copies one tenant may run at once (HW `ims_03_0628`).
pub const CROSS_REGION_COPIES: usize = 5;

/// The `error_code` of an injected copy failure (`job_failure_rate`): the real codes are not
/// documented, so the emulator reuses "image unavailable".
const COPY_FAILED: &str = "IMG.0046";

/// The KMS key attribute of an encrypted image.
const CMK_ATTRIBUTE: &str = "__system__cmkid";

#[derive(Debug, Deserialize)]
struct CopyBody {
    name: Option<String>,
    description: Option<String>,
    cmk_id: Option<String>,
    /// Accepted and ignored: the emulator has one enterprise project.
    #[serde(rename = "enterprise_project_id")]
    _enterprise_project_id: Option<String>,
    region: Option<String>,
    project_name: Option<String>,
    agency_name: Option<String>,
    /// Accepted and ignored: the emulator has no full-ECS images.
    #[serde(rename = "vault_id")]
    _vault_id: Option<String>,
}

/// Where a copy goes and what it is called.
struct Target {
    owner: String,
    name: String,
    description: Option<String>,
    cmk_id: Option<String>,
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad(code, message)
}

/// The copy's target from the name and description every copy request carries.
fn target(body: &CopyBody, owner: String, cmk_id: Option<String>) -> Result<Target, ApiError> {
    let name = body
        .name
        .clone()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| bad("IMG.0001", "name is required."))?;
    check_name(&name)?;
    let description = body.description.clone().filter(|text| !text.is_empty());
    if let Some(text) = &description {
        check_description(text)?;
    }
    Ok(Target {
        owner,
        name,
        description,
        cmk_id,
    })
}

/// The copy of `source`, `saving`, owned by `target.owner`.
fn copy_of(source: &Image, source_region: &str, target: Target) -> Image {
    let now = Utc::now();
    let mut attributes = source.attributes.clone();
    attributes.remove("__description");
    if let Some(text) = target.description {
        attributes.insert("__description".into(), text);
    }
    if let Some(cmk) = target.cmk_id {
        attributes.insert(CMK_ATTRIBUTE.into(), cmk);
    }
    Image {
        id: uuid::Uuid::new_v4().to_string(),
        name: target.name,
        status: Status::Saving,
        created_at: now,
        updated_at: now,
        active_at: None,
        tags: std::collections::BTreeMap::new(),
        attributes,
        data_origin: Some(format!("image,{source_region},{}", source.id)),
        owner: target.owner,
        members: std::collections::BTreeMap::new(),
        gone_at: None,
        ..source.clone()
    }
}

/// Creates the copy and starts its job; the answer `{"job_id"}`.
fn start_copy(
    world: &mut World,
    caller: &Caller,
    source_id: &str,
    target: Target,
    cross_region: bool,
    shared: &Shared,
) -> Reply {
    if cross_region {
        check_cross_region_slots(world, caller)?;
    }
    let source = world.image(&caller.project, source_id)?;
    if source.status != Status::Active || source.gone_at.is_some() {
        return Err(bad(
            "IMG.0046",
            format!("The image is {}, not active.", source.status.as_str()),
        ));
    }
    if cross_region && source.attributes.contains_key(CMK_ATTRIBUTE) {
        return Err(bad(
            "IMG.0098",
            "Encrypted images cannot be copied to another region.",
        ));
    }
    world.check_quota(&target.owner, shared.config.image_quota)?;
    world.check_flow_control()?;
    let copy = copy_of(source, &caller.region, target);
    let work = Work::Copy {
        source_region: caller.region.clone(),
        source_id: source_id.to_owned(),
        cross_region,
    };
    let outcome = if world.faults.copy_fails() {
        Outcome::Fail {
            code: COPY_FAILED.to_owned(),
            reason: format!("Failed to copy the image {source_id}."),
        }
    } else {
        Outcome::Success
    };
    let job_id = jobs::start(
        world,
        caller,
        (work, outcome),
        (&copy.id, &copy.name),
        shared.config.job_duration,
    );
    world.images.insert(copy.id.clone(), copy);
    Ok(Json(json!({ "job_id": job_id })).into_response())
}

/// `POST /v1/cloudimages/{image_id}/copy` and `/v2.1/…`: a copy in the caller's project.
pub async fn in_region(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let body: CopyBody = parse_body(&body)?;
    let cmk_id = body.cmk_id.clone().filter(|cmk| !cmk.is_empty());
    let target = target(&body, caller.project.clone(), cmk_id)?;
    copy(shared, caller, id, target, false).await
}

/// The destination project of a cross-region copy: the project named `project_name` in
/// `region` (the region's default project is named like the region).
fn destination(shared: &Shared, caller: &Caller, body: &CopyBody) -> Result<String, ApiError> {
    let region = body
        .region
        .as_deref()
        .filter(|region| !region.is_empty())
        .ok_or_else(|| bad("IMG.0001", "region is required."))?;
    if region == caller.region {
        return Err(bad(
            "IMG.0001",
            "The destination region must differ from the source region.",
        ));
    }
    if !shared.config.regions().any(|known| known == region) {
        return Err(bad(
            "IMG.0001",
            format!("The region {region} is not available."),
        ));
    }
    if body.agency_name.as_deref().is_none_or(str::is_empty) {
        return Err(bad("IMG.0001", "agency_name is required."));
    }
    let project_name = body
        .project_name
        .as_deref()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| bad("IMG.0104", "project_name is required."))?;
    shared
        .config
        .projects
        .iter()
        .find(|project| project.region == region && project.name == project_name)
        .map(|project| project.id.clone())
        .ok_or_else(|| {
            bad(
                "IMG.0145",
                format!("The project name {project_name} is incorrect."),
            )
        })
}

/// `POST /v1/cloudimages/{image_id}/cross_region_copy`: the job runs in the source region.
pub async fn cross_region(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let body: CopyBody = parse_body(&body)?;
    let target = target(&body, destination(&shared, &caller, &body)?, None)?;
    copy(shared, caller, id, target, true).await
}

/// Starts the copy of `id` to `target` in the world of `shared`.
async fn copy(shared: Shared, caller: Caller, id: String, target: Target, cross: bool) -> Reply {
    let handle = shared.clone();
    shared
        .run(move |world| start_copy(world, &caller, &id, target, cross, &handle))
        .await
}

/// Refuses a cross-region copy while the caller's project runs as many as the cloud allows.
fn check_cross_region_slots(world: &World, caller: &Caller) -> Result<(), ApiError> {
    let running = world
        .jobs
        .values()
        .filter(|job| !job.finished && job.project == caller.project)
        .filter(|job| {
            matches!(
                job.work,
                Work::Copy {
                    cross_region: true,
                    ..
                }
            )
        })
        .count();
    if running >= CROSS_REGION_COPIES {
        return Err(bad(
            "IMG.0060",
            format!("At most {CROSS_REGION_COPIES} cross-region copies may run at once."),
        ));
    }
    Ok(())
}
