//! A replica's journaled cross-region copy (design.md section 10); its update and delete are in
//! `replica_steps.rs`, the phases that run them in `replicas.rs`.
//!
//! # The copy protocol
//!
//! 1. A pending `Copy` entry (source id and region, destination region and project, name,
//!    a fresh token, `sent_at`) is **saved before the request**.
//! 2. `POST /v1/cloudimages/{source}/cross_region_copy` in the source region; the job id is
//!    saved. The job (in the source region) is waited for; its `entities.image_id` names the
//!    copy in the destination, and is saved.
//! 3. A copy's answer can be lost ([`CloudError::OutcomeUnknown`]); it is never re-sent. A copy
//!    request carries no tags, so the copy is looked for in the destination region by
//!    `__data_origin` = `image,<source region>,<source id>`, its name and a creation time not
//!    before `sent_at` less [`COPY_SKEW`], among images no replica record owns: one is
//!    adopted, none means the request was not taken (the entry is dropped and the next plan
//!    copies again), several: the oldest is adopted.
//! 4. The copy is waited for until `active`, tagged `imsform-token=<token>` (so the untracked
//!    scan and later recoveries key on it as for creates), and recorded at the image's
//!    `replicas[REGION]` in the save that drops the entry; a replaced copy's delete is
//!    journaled in that same save, then carried out.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::time::Instant;

use super::replica_steps::delete_in;
use super::steps::{Done, client, now};
use super::{ApplyError, Ctx};
use crate::cloud::distribution::CopyToRegion;
use crate::cloud::{Client, CloudApi, CloudError, ImageStatus, JobStatus};
use crate::manifest::model::{Address, TOKEN_TAG};
use crate::plan::{COPY_SKEW, RemoteView, ReplicaAttrs, candidates};
use crate::state::{Observed, PendingEntry, PendingOperation, ReplicaRecord, new_token};

fn is_copy(entry: &PendingEntry, key: &str) -> bool {
    matches!(&entry.operation, PendingOperation::Copy { token, .. } if token == key)
}

/// The copy entry of `token`, to change.
fn copy_entry<'a>(pending: &'a mut [PendingEntry], key: &str) -> Option<&'a mut PendingOperation> {
    pending
        .iter_mut()
        .find(|e| is_copy(e, key))
        .map(|e| &mut e.operation)
}

pub(crate) async fn drop_copy<C>(ctx: &Arc<Ctx<C>>, token: &str) -> Result<(), ApplyError> {
    let key = token.to_owned();
    ctx.state
        .edit(move |state| {
            state.pending_mut().retain(|e| !is_copy(e, &key));
        })
        .await
}

/// Copies `address`'s current image into `region` as `attrs` (journaled first), then
/// deletes the replica it `replaces`.
pub(crate) async fn copy<C>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    region: &str,
    attrs: &ReplicaAttrs,
    replaces: Option<String>,
) -> Result<Done, ApplyError> {
    let key = address.clone();
    let source = ctx
        .state
        .edit(move |state| state.state().images.get(&key).map(|r| r.id.clone()))
        .await?;
    let Some(source_id) = source else {
        return Ok(Err("its source image is not in the state".into()));
    };
    let (home, agency) = match ctx.options.regions.as_ref() {
        Some(factory) => (
            factory.home_region().to_owned(),
            factory.config().copy_agency.clone().unwrap_or_default(),
        ),
        None => return Ok(Err("this run has no clients for other regions".into())),
    };
    let (source_client, target) = match (client(ctx, &home), client(ctx, region)) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(why), _) | (_, Err(why)) => return Ok(Err(why)),
    };
    let operation = PendingOperation::Copy {
        token: new_token(&ctx.lineage),
        source_id: source_id.clone(),
        source_region: home.clone(),
        region: region.to_owned(),
        project: attrs.project.clone(),
        name: attrs.name.clone(),
        description: attrs.description.clone(),
        sent_at: now(),
        image_id: None,
        job_id: None,
        replaces,
    };
    let entry = PendingEntry {
        address: address.clone(),
        operation: operation.clone(),
        started_at: now(),
    };
    ctx.state
        .edit(move |state| state.pending_mut().push(entry))
        .await?;
    let request = CopyToRegion {
        name: attrs.name.clone(),
        description: attrs.description.clone(),
        region: region.to_owned(),
        project_name: attrs.project.clone(),
        agency_name: agency,
    };
    let copied = match source_client.copy_to_region(&source_id, &request).await {
        Ok(job_id) => copied(ctx, &source_client, &operation, &job_id).await?,
        Err(CloudError::OutcomeUnknown { .. }) => lost(ctx, &target, &operation).await?,
        Err(error) => Copied::Failed {
            why: format!("copying image {source_id} to {region}: {error}"),
            discard: false,
        },
    };
    settle(ctx, address, &target, &operation, copied).await
}

/// How a copy request ended before its copy was recorded.
pub(crate) enum Copied {
    /// The copy's image in the destination region.
    Image(String),
    /// Refused, not taken, or failed: the entry is dropped; `discard`: first delete what a
    /// failed copy job left in the destination.
    Failed { why: String, discard: bool },
    /// Not known (the cloud could not be read, the job was not seen to end): the entry stays
    /// for the next plan, which looks for the copy.
    Unsettled(String),
}

/// Finishes `operation` as `copied` says: records the copy, or drops the entry, or leaves it.
pub(crate) async fn settle<C>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    target: &Client,
    operation: &PendingOperation,
    copied: Copied,
) -> Result<Done, ApplyError> {
    match copied {
        Copied::Image(image_id) => finish(ctx, address, target, operation, &image_id).await,
        Copied::Unsettled(why) => Ok(Err(format!(
            "{why}; the copy stays in the journal and the next plan looks for it"
        ))),
        Copied::Failed { why, discard } => {
            if discard {
                discard_failed(ctx, target, operation).await?;
            }
            drop_copy(ctx, token_of(operation)).await?;
            Ok(Err(why))
        }
    }
}

/// Deletes (best effort) the image a failed copy job left in the destination: the only image
/// there of its origin, name and time that no replica owns.
async fn discard_failed<C>(
    ctx: &Arc<Ctx<C>>,
    target: &Client,
    operation: &PendingOperation,
) -> Result<(), ApplyError> {
    if let Copied::Image(id) = lost(ctx, target, operation).await? {
        let deadline = Instant::now() + ctx.options.job_timeout;
        if target.delete(&id).await.is_ok() {
            let _ = target.wait_gone(&[id], deadline).await;
        }
    }
    Ok(())
}

fn token_of(operation: &PendingOperation) -> &str {
    match operation {
        PendingOperation::Copy { token, .. } => token,
        _ => "",
    }
}

/// Saves the job id, waits for the job and returns the copy's id.
async fn copied<C>(
    ctx: &Arc<Ctx<C>>,
    source: &Client,
    operation: &PendingOperation,
    job_id: &str,
) -> Result<Copied, ApplyError> {
    let (key, job) = (token_of(operation).to_owned(), job_id.to_owned());
    ctx.state
        .edit(move |state| {
            if let Some(PendingOperation::Copy { job_id, .. }) =
                copy_entry(state.pending_mut(), &key)
            {
                *job_id = Some(job);
            }
        })
        .await?;
    let deadline = Instant::now() + ctx.options.job_timeout;
    let report = match source.wait_job(job_id, &ctx.options.watch, deadline).await {
        Ok(report) => report,
        Err(error) => {
            return Ok(Copied::Unsettled(format!(
                "waiting for copy job {job_id}: {error}"
            )));
        }
    };
    Ok(match (report.job.status, report.job.image_id) {
        (JobStatus::Success, Some(id)) => Copied::Image(id),
        (JobStatus::Success, None) => {
            Copied::Unsettled(format!("copy job {job_id} succeeded but named no image"))
        }
        _ => Copied::Failed {
            why: format!(
                "copy job {job_id} failed: {}: {}",
                report.job.error_code.unwrap_or_default(),
                report.job.fail_reason.unwrap_or_default()
            ),
            discard: true,
        },
    })
}

/// A copy whose answer was lost: looked for in the destination region.
pub(crate) async fn lost<C>(
    ctx: &Arc<Ctx<C>>,
    target: &Client,
    operation: &PendingOperation,
) -> Result<Copied, ApplyError> {
    let PendingOperation::Copy { region, .. } = operation else {
        return Ok(Copied::Unsettled("not a copy".into()));
    };
    let listed = match target.list_private_images().await {
        Ok(listed) => listed,
        Err(error) => {
            return Ok(Copied::Unsettled(format!(
                "looking for a lost copy in {region}: {error}"
            )));
        }
    };
    let records = ctx.state.edit(|state| state.state().images.clone()).await?;
    let mut view = RemoteView::default();
    let images = listed.into_iter().map(|i| (i.id.clone(), i)).collect();
    view.regions.insert(region.clone(), images);
    let found = candidates(operation, &view, &records);
    if let [adopted, others @ ..] = found.as_slice()
        && !others.is_empty()
    {
        let others: Vec<&str> = others.iter().map(|i| i.id.as_str()).collect();
        tracing::warn!(
            adopted = %adopted.id,
            others = %others.join(", "),
            region = %region,
            "several copies match a lost copy: the oldest is adopted, the others are not tracked"
        );
    }
    Ok(match found.first() {
        Some(image) => Copied::Image(image.id.clone()),
        None => Copied::Failed {
            why: format!(
                "the copy's answer was lost and no copy made since {} minutes before it was \
                 sent is in {region}: it was not taken; the next plan copies again",
                COPY_SKEW.num_minutes()
            ),
            discard: false,
        },
    })
}

/// Saves the copy's id, waits until it is active, tags it with the token and records it.
pub(crate) async fn finish<C>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    target: &Client,
    operation: &PendingOperation,
    image_id: &str,
) -> Result<Done, ApplyError> {
    let PendingOperation::Copy {
        token,
        source_id,
        region,
        project,
        name,
        description,
        replaces,
        ..
    } = operation.clone()
    else {
        return Ok(Err("not a copy".into()));
    };
    let (key, id) = (token.clone(), image_id.to_owned());
    ctx.state
        .edit(move |state| {
            if let Some(PendingOperation::Copy { image_id, .. }) =
                copy_entry(state.pending_mut(), &key)
            {
                *image_id = Some(id);
            }
        })
        .await?;
    let image = match active(ctx, target, image_id).await {
        Ok(image) => image,
        Err(why) => return Ok(Err(why)),
    };
    let tag = BTreeMap::from([(TOKEN_TAG.to_owned(), token.clone())]);
    if let Err(error) = target.update_tags(image_id, &tag, &[]).await {
        return Ok(Err(format!("tagging copy {image_id}: {error}")));
    }
    let record = ReplicaRecord {
        id: image_id.to_owned(),
        project: Some(project),
        name,
        description,
        source_id,
        observed: Some(Observed {
            status: image.as_str().to_owned(),
            checksum: None,
            size: None,
            updated_at: None,
        }),
    };
    let (address, key, at) = (address.clone(), token, region.clone());
    let old = replaces.clone();
    ctx.state
        .edit(move |state| {
            state.pending_mut().retain(|e| !is_copy(e, &key));
            if let Some(old) = old {
                state.pending_mut().push(PendingEntry {
                    address: address.clone(),
                    operation: PendingOperation::DeleteReplica {
                        region: at.clone(),
                        image_id: old,
                    },
                    started_at: now(),
                });
            }
            if let Some(image) = state.image_mut(&address) {
                image.replicas.insert(at, record);
            }
        })
        .await?;
    if let Some(old) = replaces
        && let Err(why) = delete_in(ctx, target, &region, &old).await?
    {
        return Ok(Err(format!("copy {image_id} is in place, but {why}")));
    }
    Ok(Ok(Some(image_id.to_owned())))
}

/// Waits until the copy is `active`.
async fn active<C>(ctx: &Ctx<C>, target: &Client, image_id: &str) -> Result<ImageStatus, String> {
    let deadline = Instant::now() + ctx.options.job_timeout;
    let mut interval = ctx.options.watch.poll_interval;
    loop {
        match target.get_image(image_id).await {
            Ok(Some(image)) if image.status == ImageStatus::Active => return Ok(image.status),
            Ok(Some(image)) if image.status == ImageStatus::Saving => {}
            Ok(Some(image)) => {
                return Err(format!("copy {image_id} is {}", image.status.as_str()));
            }
            Ok(None) => return Err(format!("copy {image_id} is gone")),
            Err(error) => return Err(format!("reading copy {image_id}: {error}")),
        }
        if Instant::now() + interval > deadline {
            return Err(format!("copy {image_id} is not active in time"));
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(ctx.options.watch.poll_interval * 10);
    }
}
