//! Steps 3 and 4 of the create protocol: register the image file, wait for the job, then record
//! the image (or taint it). Also the entry points recovery uses to resume a journaled create at
//! the image's real status. Must not create images (that is `create.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::delete::{self, Gone};
use super::progress::Phase;
use super::steps::{self, NewImage, entry_mut, is_create, phase};
use super::{ApplyError, Ctx};
use crate::cloud::{AttrUpdate, CloudApi, CloudError, ImageStatus, JobOutcome, RemoteImage};
use crate::state::{ImageRecord, Observed, PendingEntry, PendingOperation, Taint};

/// How one create (or one resumed create) ended.
#[derive(Debug)]
pub(crate) enum Step {
    /// The image is recorded at the address (for a replace, the old one journaled for delete).
    Done(String),
    /// The registration failed and that is now settled in the state: the image is recorded
    /// tainted, or the failed new half of a replace is deleted.
    Tainted(String),
    Failed(String),
    Stopped(String),
}

/// A journaled create with its image id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Journaled<'a> {
    pub image: &'a NewImage,
    pub token: &'a str,
    pub image_id: &'a str,
}

/// Continues a create whose image exists, from its real status. Boxed: the steps it leads to
/// may come back here once they learn the image's status.
pub(crate) fn resume<'a, C: CloudApi>(
    ctx: &'a Arc<Ctx<C>>,
    image: &'a NewImage,
    token: &'a str,
    seen: &'a RemoteImage,
) -> Pin<Box<dyn Future<Output = Result<Step, ApplyError>> + Send + 'a>> {
    Box::pin(async move {
        let at = Journaled {
            image,
            token,
            image_id: &seen.id,
        };
        match &seen.status {
            ImageStatus::Queued => register(ctx, at).await,
            ImageStatus::Active => finish(ctx, at, Some(seen)).await,
            ImageStatus::Killed => {
                let reason = "the cloud reports the image killed".to_owned();
                fail_image(ctx, at, None, reason).await
            }
            ImageStatus::Deleted => vanished(ctx, at).await,
            _ => wait(ctx, at, None).await,
        }
    })
}

/// Step 3: register the image file and save the job id, then wait.
pub(crate) async fn register<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    at: Journaled<'_>,
) -> Result<Step, ApplyError> {
    for _ in 0..2 {
        if ctx.shutdown.is_requested() {
            let stop = format!(
                "interrupted: image {} created, not registered yet",
                at.image_id
            );
            return Ok(Step::Stopped(stop));
        }
        phase(ctx, &at.image.address, Phase::Registering);
        let url = &at.image.attributes.image_url;
        match ctx.cloud.register(at.image_id, url).await {
            Ok(job_id) => {
                let answered = Instant::now();
                let (key, job) = (at.token.to_owned(), job_id.clone());
                ctx.state
                    .edit(move |state| {
                        if let Some(PendingOperation::Create { job_id, .. }) =
                            entry_mut(state.pending_mut(), &key)
                        {
                            *job_id = Some(job);
                        }
                    })
                    .await?;
                return wait_since(ctx, at, Some(job_id), answered).await;
            }
            Err(error) if steps::definitive(&error) => {
                let code = error.code().map(str::to_owned);
                return fail_image(ctx, at, code, format!("registration refused: {error}")).await;
            }
            Err(CloudError::OutcomeUnknown { .. }) => {
                match ctx.cloud.get_image(at.image_id).await {
                    // Queued: the registration was not taken; send it again (once).
                    Ok(Some(seen)) if seen.status == ImageStatus::Queued => {}
                    Ok(Some(seen)) => return resume(ctx, at.image, at.token, &seen).await,
                    Ok(None) => return vanished(ctx, at).await,
                    Err(error) => return Ok(Step::Failed(resumable(at, &error))),
                }
            }
            Err(error) => return Ok(Step::Failed(resumable(at, &error))),
        }
    }
    let failure = "the registration's answer was lost twice; the next apply resumes it";
    Ok(Step::Failed(failure.into()))
}

fn resumable(at: Journaled<'_>, error: &CloudError) -> String {
    format!(
        "image {}: {error}; the journal keeps it and the next apply resumes it",
        at.image_id
    )
}

/// Step 4: wait for the job (or, without a job id, for the image's status), then finish.
pub(crate) async fn wait<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    at: Journaled<'_>,
    job_id: Option<String>,
) -> Result<Step, ApplyError> {
    wait_since(ctx, at, job_id, Instant::now()).await
}

/// [`wait`] for a job whose registration was answered at `answered`: the watcher learns job
/// durations from there, not from after the save of the job id.
async fn wait_since<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    at: Journaled<'_>,
    job_id: Option<String>,
    answered: Instant,
) -> Result<Step, ApplyError> {
    phase(ctx, &at.image.address, Phase::Waiting { percent: None });
    let deadline = answered + ctx.options.job_timeout;
    let Some(job_id) = job_id else {
        return wait_by_status(ctx, at, deadline).await;
    };
    let watching = ctx
        .watcher
        .watch_since(at.image_id, &job_id, answered, deadline);
    let mut progress = watching.progress.clone();
    let outcome = watching.outcome();
    tokio::pin!(outcome);
    let mut shown = None;
    let outcome = loop {
        tokio::select! {
            outcome = &mut outcome => break outcome,
            Ok(()) = progress.changed() => {
                let percent = progress.borrow().percent.map(|p| (p * 100.0).round());
                if percent != shown {
                    shown = percent;
                    phase(ctx, &at.image.address, Phase::Waiting { percent });
                }
            }
            () = ctx.shutdown.requested() => return Ok(Step::Stopped(format!(
                "interrupted while waiting for registration job {job_id}; the next apply \
                 resumes waiting"
            ))),
        }
    };
    match outcome {
        JobOutcome::Succeeded(_) => finish(ctx, at, None).await,
        JobOutcome::Failed(job) => {
            let reason = job
                .fail_reason
                .unwrap_or_else(|| "registration failed".into());
            fail_image(ctx, at, job.error_code, reason).await
        }
        JobOutcome::TimedOut { .. } => Ok(Step::Failed(format!(
            "registration job {job_id} did not finish within {}; the next apply resumes waiting",
            humantime::format_duration(ctx.options.job_timeout)
        ))),
        JobOutcome::Error(error) => Ok(Step::Failed(resumable(at, &error))),
    }
}

/// Waits for a registration whose job id was never saved, by reading the image.
async fn wait_by_status<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    at: Journaled<'_>,
    deadline: Instant,
) -> Result<Step, ApplyError> {
    let floor = ctx
        .options
        .watch
        .poll_interval
        .max(Duration::from_millis(1));
    let mut interval = floor;
    loop {
        let seen = match ctx.cloud.get_image(at.image_id).await {
            Ok(Some(seen)) => seen,
            Ok(None) => return vanished(ctx, at).await,
            Err(error) => return Ok(Step::Failed(resumable(at, &error))),
        };
        match seen.status {
            ImageStatus::Saving | ImageStatus::Other(_) => {}
            _ => return resume(ctx, at.image, at.token, &seen).await,
        }
        if Instant::now() >= deadline {
            return Ok(Step::Failed(format!(
                "image {} is still saving after {}; the next apply resumes waiting",
                at.image_id,
                humantime::format_duration(ctx.options.job_timeout)
            )));
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = ctx.shutdown.requested() => return Ok(Step::Stopped(format!(
                "interrupted while image {} was saving; the next apply resumes waiting",
                at.image_id
            ))),
        }
        interval = (interval * 2).min(floor * 10);
    }
}

/// Success: apply the description, record the image at the address and drop the entry, in one
/// save (for a replace, the same save journals the delete of the old image).
pub(crate) async fn finish<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    at: Journaled<'_>,
    seen: Option<&RemoteImage>,
) -> Result<Step, ApplyError> {
    let attributes = at.image.attributes.clone();
    let mut observed = seen.cloned();
    let needs_description = attributes.description.is_some()
        && seen.is_none_or(|s| s.description != attributes.description);
    if needs_description {
        phase(ctx, &at.image.address, Phase::Updating);
        let update = [AttrUpdate::Description(attributes.description.clone())];
        match ctx.cloud.update(at.image_id, &update).await {
            Ok(updated) => observed = Some(updated),
            Err(error) => return Ok(Step::Failed(resumable(at, &error))),
        }
    }
    let record = ImageRecord {
        id: at.image_id.to_owned(),
        attributes,
        observed: Some(observation(observed.as_ref())),
        tainted: None,
        replicas: std::collections::BTreeMap::new(),
    };
    let (address, key) = (at.image.address.clone(), at.token.to_owned());
    let replaces = at.image.replaces.clone();
    ctx.state
        .edit(move |state| {
            state.pending_mut().retain(|e| !is_create(e, &key));
            state.insert_image(address.clone(), record);
            if let Some(old) = replaces {
                let operation = PendingOperation::Delete { image_id: old };
                let started_at = steps::now();
                state.pending_mut().push(PendingEntry {
                    address,
                    operation,
                    started_at,
                });
            }
        })
        .await?;
    Ok(Step::Done(at.image_id.to_owned()))
}

fn observation(seen: Option<&RemoteImage>) -> Observed {
    match seen {
        Some(image) => Observed {
            status: image.status.as_str().to_owned(),
            checksum: image.checksum.clone(),
            size: image.size,
            updated_at: image.updated_at.clone(),
        },
        // The job succeeded: IMS reports the image active.
        None => Observed {
            status: ImageStatus::Active.as_str().to_owned(),
            checksum: None,
            size: None,
            updated_at: None,
        },
    }
}

/// Failure of the registration: taint the image at the address; the failed new half of a
/// replace is deleted instead and the old image stays.
pub(crate) async fn fail_image<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    at: Journaled<'_>,
    code: Option<String>,
    reason: String,
) -> Result<Step, ApplyError> {
    let (address, key, id) = (
        at.image.address.clone(),
        at.token.to_owned(),
        at.image_id.to_owned(),
    );
    let shown = match &code {
        Some(code) => format!("{code}: {reason}"),
        None => reason.clone(),
    };
    if let Some(old) = &at.image.replaces {
        let (entry_address, image_id) = (address.clone(), id.clone());
        ctx.state
            .edit(move |state| {
                state.pending_mut().retain(|e| !is_create(e, &key));
                let operation = PendingOperation::Delete { image_id };
                let started_at = steps::now();
                state.pending_mut().push(PendingEntry {
                    address: entry_address,
                    operation,
                    started_at,
                });
            })
            .await?;
        let failed = format!("the registration of replacement image {id} failed ({shown})");
        return Ok(match delete::delete_journaled(ctx, &address, &id).await? {
            Gone::Deleted => Step::Tainted(format!("{failed}; it was deleted, {old} stays")),
            Gone::Refused(why) | Gone::Failed(why) => Step::Failed(format!("{failed}; {why}")),
            Gone::Stopped(why) => Step::Stopped(format!("{failed}; {why}")),
        });
    }
    let record = ImageRecord {
        id: id.clone(),
        attributes: at.image.attributes.clone(),
        observed: None,
        tainted: Some(Taint { code, reason }),
        replicas: std::collections::BTreeMap::new(),
    };
    ctx.state
        .edit(move |state| {
            state.pending_mut().retain(|e| !is_create(e, &key));
            state.insert_image(address, record);
        })
        .await?;
    Ok(Step::Tainted(format!(
        "the registration of image {id} failed ({shown}); it is recorded tainted and the next \
         plan replaces it"
    )))
}

/// The create's image is gone: drop the entry.
async fn vanished<C: CloudApi>(ctx: &Arc<Ctx<C>>, at: Journaled<'_>) -> Result<Step, ApplyError> {
    steps::drop_entry(ctx, at.token).await?;
    Ok(Step::Failed(format!(
        "image {} disappeared before its registration finished; the next plan creates it again",
        at.image_id
    )))
}
