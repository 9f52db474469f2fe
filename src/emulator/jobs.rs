//! Registration jobs: `PUT /v1/cloudimages/{id}/upload` starts one on a `queued` image (which
//! goes `saving`); its status is derived from the emulator clock (INIT, RUNNING, then SUCCESS or
//! FAIL once its duration has passed, when `model::finish` turns the image `active` or `killed`).
//! Serves both job endpoints for every kind of job ([`Work`]: registrations, member jobs and
//! copies); a job is found only by the project that started it, else 404 IMG.0027.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::response::IntoResponse;
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::model::{Caller, Job, Outcome, Status, Work};
use super::reply::{ApiError, Reply, parse_body};
use super::world::{Shared, World};
use crate::ims;

/// Below this share of its duration a job reports INIT.
const INIT_SHARE: f64 = 0.1;

#[derive(Debug, Deserialize)]
struct RegisterBody {
    image_url: Option<String>,
}

/// Checks `bucket:object`: IMG.0001 when absent, IMG.0017 when malformed, IMG.0109 for a bad
/// bucket name.
fn check_url(url: Option<String>) -> Result<String, ApiError> {
    let url = url.ok_or_else(|| ApiError::bad("IMG.0001", "image_url is required."))?;
    let (bucket, object) = url
        .split_once(':')
        .filter(|(_, object)| !object.is_empty())
        .ok_or_else(|| ApiError::bad("IMG.0017", "image_url must be bucket:object."))?;
    if bucket.is_empty() {
        return Err(ApiError::bad("IMG.0068", "The bucket name is empty."));
    }
    if !ims::is_valid_bucket(bucket) {
        return Err(ApiError::bad("IMG.0109", "The bucket name is invalid."));
    }
    if object.contains(' ') {
        return Err(ApiError::bad("IMG.0175", "The file name contains spaces."));
    }
    Ok(url)
}

/// `PUT /v1/cloudimages/{image_id}/upload`: 200 `{"job_id"}`.
pub async fn register(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let body: RegisterBody = parse_body(&body)?;
    let url = check_url(body.image_url)?;
    let default_duration = shared.config.job_duration;
    let (store, lookup, region) = (
        shared.config.obs.clone(),
        url.clone(),
        caller.region.clone(),
    );
    let obs_problem =
        tokio::task::spawn_blocking(move || store.registration_problem(&lookup, &region))
            .await
            .unwrap_or(None);
    shared
        .run(move |world| {
            let image = world.image(&caller.project, &id)?;
            if image.status != Status::Queued || image.gone_at.is_some() {
                return Err(ApiError::bad(
                    "IMG.0046",
                    format!("The image is {}, not queued.", image.status.as_str()),
                ));
            }
            world.check_flow_control()?;
            let image_name = image.name.clone();
            let outcome = match (world.faults.registration_failure(&url), obs_problem) {
                (None, None) => Outcome::Success,
                (Some(reason), _) => Outcome::Fail {
                    code: "IMG.0057".to_owned(),
                    reason,
                },
                (None, Some((code, reason))) => Outcome::Fail { code, reason },
            };
            let duration = world.faults.job_duration(default_duration);
            let job = Job {
                id: uuid::Uuid::new_v4().simple().to_string(),
                image_id: id.clone(),
                image_name,
                image_url: url,
                begin_time: Utc::now(),
                started: world.now,
                duration,
                outcome,
                finished: false,
                work: Work::Register,
                project: caller.project,
            };
            let job_id = job.id.clone();
            if let Some(image) = world.images.get_mut(&id) {
                image.status = Status::Saving;
                image.updated_at = Utc::now();
            }
            world.jobs.insert(job_id.clone(), job);
            world.dirty = true;
            Ok(Json(json!({ "job_id": job_id })).into_response())
        })
        .await
}

/// Starts a job that ends with `outcome` after the configured duration: a member job (no
/// image) or a copy (`image` is the new image's id and name). Returns its id.
pub fn start(
    world: &mut World,
    caller: &Caller,
    (work, outcome): (Work, Outcome),
    image: (&str, &str),
    duration: Duration,
) -> String {
    let job = Job {
        id: uuid::Uuid::new_v4().simple().to_string(),
        image_id: image.0.to_owned(),
        image_name: image.1.to_owned(),
        image_url: String::new(),
        begin_time: Utc::now(),
        started: world.now,
        duration: world.faults.job_duration(duration),
        outcome,
        finished: false,
        work,
        project: caller.project.clone(),
    };
    let id = job.id.clone();
    world.jobs.insert(id.clone(), job);
    world.dirty = true;
    id
}

/// The job JSON; `progress` adds the progress fields in `entities`.
fn render(job: &Job, now: Duration, progress: bool) -> Value {
    let share = job.progress(now);
    let (status, error_code, fail_reason) = match (&job.outcome, job.finished) {
        (Outcome::Success, true) => ("SUCCESS", Value::Null, Value::Null),
        (Outcome::Fail { code, reason }, true) => {
            ("FAIL", code.clone().into(), reason.clone().into())
        }
        (_, false) if share < INIT_SHARE => ("INIT", Value::Null, Value::Null),
        (_, false) => ("RUNNING", Value::Null, Value::Null),
    };
    let end_time = if job.finished {
        let end = job.begin_time + chrono::Duration::from_std(job.duration).unwrap_or_default();
        end.to_rfc3339_opts(SecondsFormat::Millis, true)
    } else {
        String::new()
    };
    let mut entities = serde_json::Map::new();
    if let Some(results) = job.work.results() {
        // Member jobs name no image; their results appear once the job has run.
        let results = if job.finished { results } else { Vec::new() };
        entities.insert("results".into(), results.into());
    } else if matches!(job.work, Work::Copy { .. }) {
        // A copy is named only once it has succeeded (TF reads it then), so a client cannot
        // learn the new id from a running job.
        if job.finished && job.outcome == Outcome::Success {
            entities.insert("image_id".into(), job.image_id.clone().into());
            entities.insert("image_name".into(), job.image_name.clone().into());
        }
    } else if job.outcome == Outcome::Success {
        entities.insert("image_id".into(), job.image_id.clone().into());
    }
    if progress && job.work.results().is_none() {
        if job.work == Work::Register {
            entities.insert("image_id".into(), job.image_id.clone().into());
            entities.insert("image_name".into(), job.image_name.clone().into());
        }
        let percent = if status == "FAIL" {
            share.min(0.99)
        } else {
            share
        };
        entities.insert(
            "process_percent".into(),
            json!((percent * 100.0).round() / 100.0),
        );
        entities.insert(
            "current_task".into(),
            "ImportImageTask:ConvertImageTask".into(),
        );
    }
    json!({
        "job_id": job.id,
        "job_type": job.work.job_type(),
        "begin_time": job.begin_time.to_rfc3339_opts(SecondsFormat::Millis, true),
        "end_time": end_time,
        "status": status,
        "error_code": error_code,
        "fail_reason": fail_reason,
        "entities": entities,
    })
}

async fn show_job(shared: Shared, caller: Caller, id: String, progress: bool) -> Reply {
    shared
        .run(move |world| {
            let job = world
                .jobs
                .get(&id)
                .filter(|job| job.project == caller.project)
                .ok_or_else(|| {
                    ApiError::not_found("IMG.0027", format!("The job {id} does not exist."))
                })?;
            Ok(Json(render(job, world.now, progress)).into_response())
        })
        .await
}

/// `GET /v1/{project_id}/jobs/{job_id}`.
pub async fn show(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> Reply {
    show_job(shared, caller, id, false).await
}

/// `GET /v1/cloudimages/job/{job_id}`: with `process_percent`.
pub async fn show_progress(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Reply {
    show_job(shared, caller, id, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<String, ApiError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(ApiError::Ims { code, .. }) => code,
            Err(ApiError::Gateway { code, .. }) => code,
        }
    }

    #[test]
    fn image_urls_are_bucket_colon_object() {
        assert_eq!(code(check_url(Some("bucket-1:dir/a.qcow2".into()))), "ok");
        assert_eq!(code(check_url(None)), "IMG.0001");
        assert_eq!(code(check_url(Some("bucket-1".into()))), "IMG.0017");
        assert_eq!(code(check_url(Some("bucket-1:".into()))), "IMG.0017");
        assert_eq!(code(check_url(Some(":a.qcow2".into()))), "IMG.0068");
        assert_eq!(code(check_url(Some("UPPER:a.qcow2".into()))), "IMG.0109");
        assert_eq!(
            code(check_url(Some("bucket-1:a b.qcow2".into()))),
            "IMG.0175"
        );
    }

    #[test]
    fn progress_and_status_follow_the_clock() {
        let job = Job {
            id: "j".into(),
            image_id: "i".into(),
            image_name: "n".into(),
            image_url: "b:o.qcow2".into(),
            begin_time: Utc::now(),
            started: Duration::from_secs(10),
            duration: Duration::from_secs(100),
            outcome: Outcome::Success,
            finished: false,
            work: Work::Register,
            project: "p".into(),
        };
        assert_eq!(job.progress(Duration::from_secs(5)), 0.0);
        assert_eq!(
            render(&job, Duration::from_secs(15), true)["status"],
            "INIT"
        );
        let running = render(&job, Duration::from_secs(60), true);
        assert_eq!(running["status"], "RUNNING");
        assert_eq!(running["entities"]["process_percent"], 0.5);
        assert_eq!(running["end_time"], "");
        let done = Job {
            finished: true,
            ..job
        };
        assert_eq!(
            render(&done, Duration::from_secs(200), false)["status"],
            "SUCCESS"
        );
    }
}
