//! Sharing in apply: bringing an image's members (`share_with`) to the set the plan asks for.
//!
//! The change is journaled (a `Members` entry naming the projects to add and remove) before the
//! first batch is sent; the batches run as jobs and are waited for; the save that records the
//! new set also removes the entry. Member batches are sets, so an interrupted change needs no
//! guessing: the next plan re-reads the members (refresh reads them for every image with a
//! `Members` entry), drops the entry and plans what is still missing.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::time::Instant;

use super::progress::Phase;
use super::steps::{now, phase};
use super::{ApplyError, Ctx};
use crate::cloud::{CloudApi, CloudError, JobReport, JobStatus};
use crate::manifest::model::Address;
use crate::state::{Edit, PendingEntry, PendingOperation};

/// How a member change ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shared {
    /// Every batch succeeded; the `Members` entry is still in the journal, for the caller to
    /// remove with [`settle`] in the save that records the new set.
    Done,
    /// A batch failed or could not be sent; the entry stays, so the next plan re-reads.
    Failed(String),
    /// Interrupted before anything was sent; nothing was journaled.
    Stopped(String),
}

/// Journals and carries out the member change of image `image_id` from `before` to `after`.
pub(crate) async fn converge<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    image_id: &str,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
) -> Result<Shared, ApplyError> {
    let add: Vec<String> = after.difference(before).cloned().collect();
    let remove: Vec<String> = before.difference(after).cloned().collect();
    if add.is_empty() && remove.is_empty() {
        return Ok(Shared::Done);
    }
    if ctx.shutdown.is_requested() {
        return Ok(Shared::Stopped(
            "interrupted before the sharing change started".into(),
        ));
    }
    let entry = PendingEntry {
        address: address.clone(),
        operation: PendingOperation::Members {
            image_id: image_id.to_owned(),
            add: add.clone(),
            remove: remove.clone(),
        },
        started_at: now(),
    };
    ctx.state
        .edit(move |state| state.pending_mut().push(entry))
        .await?;
    phase(ctx, address, Phase::Sharing);
    let deadline = Instant::now() + ctx.options.job_timeout;
    for (adding, projects) in [(true, &add), (false, &remove)] {
        if projects.is_empty() {
            continue;
        }
        let verb = if adding { "sharing" } else { "unsharing" };
        let what = format!("{verb} image {image_id} with {}", projects.join(", "));
        let sent = if adding {
            ctx.cloud.add_members(image_id, projects).await
        } else {
            ctx.cloud.remove_members(image_id, projects).await
        };
        let report = match sent {
            Ok(job) => ctx.cloud.wait_job(&job, &ctx.options.watch, deadline).await,
            Err(error) => Err(error),
        };
        if let Some(why) = failure(report) {
            return Ok(Shared::Failed(format!("{what}: {why}")));
        }
    }
    Ok(Shared::Done)
}

/// Why a member job did not do its whole batch, or `None` when it did.
fn failure(report: Result<JobReport, CloudError>) -> Option<String> {
    let report = match report {
        Ok(report) => report,
        Err(error) => return Some(error.to_string()),
    };
    if report.job.status == JobStatus::Fail {
        let code = report.job.error_code.as_deref().unwrap_or("job failed");
        let reason = report
            .job
            .fail_reason
            .as_deref()
            .unwrap_or("no reason given");
        return Some(format!("{code}: {reason}"));
    }
    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.project_id.as_deref().unwrap_or("a project"))
        .collect();
    (!failed.is_empty()).then(|| format!("the job failed for {}", failed.join(", ")))
}

/// In one save: removes the `Members` entries of `image_id` at `address`, and records
/// `share_with` as the image's members when given.
pub(crate) fn settle(
    state: &mut Edit<'_>,
    address: &Address,
    image_id: &str,
    share_with: Option<BTreeSet<String>>,
) {
    state
        .pending_mut()
        .retain(|e| !(e.address == *address && is_members_of(&e.operation, image_id)));
    if let Some(share_with) = share_with
        && let Some(record) = state.image_mut(address).filter(|r| r.id == image_id)
    {
        record.attributes.share_with = share_with;
    }
}

fn is_members_of(operation: &PendingOperation, id: &str) -> bool {
    matches!(operation, PendingOperation::Members { image_id, .. } if image_id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{Job, MemberResult};

    fn report(status: JobStatus, results: &[(&str, &str)]) -> JobReport {
        JobReport {
            job: Job {
                id: "job-1".into(),
                status,
                image_id: None,
                error_code: Some("IMG.0088".into()),
                fail_reason: Some("An image can have at most 256 members.".into()),
                progress: None,
            },
            results: results
                .iter()
                .map(|(project, status)| MemberResult {
                    image_id: "img-1".into(),
                    project_id: Some((*project).into()),
                    status: (*status).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_member_job_fails_as_a_whole_or_for_the_projects_it_names() {
        assert_eq!(
            failure(Ok(report(JobStatus::Success, &[("p1", "success")]))),
            None
        );
        assert_eq!(
            failure(Ok(report(JobStatus::Fail, &[]))).unwrap(),
            "IMG.0088: An image can have at most 256 members."
        );
        assert_eq!(
            failure(Ok(report(
                JobStatus::Success,
                &[("p1", "SUCCESS"), ("p2", "FAIL")]
            )))
            .unwrap(),
            "the job failed for p2"
        );
    }
}
