//! Recovering one journal entry (design.md section 6): resolve a [`RecoveryAction::LookUp`]
//! against the cloud with the plan's own rules, then finish or undo the entry at the image's real
//! status, and say how it ended ([`Ended`]) and what it took ([`Work`]). A create that replaces
//! an image goes on, in the same run, to delete the replaced image and wait until it is gone.
//! The scheduling across addresses and what the outcome means for the plan's changes are in
//! `recover.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::delete::{self, Gone};
use super::members;
use super::progress::Phase;
use super::register::{self, Journaled, Step};
use super::steps::{self, NewImage, entry_mut, phase};
use super::{ApplyError, Ctx};
use crate::cloud::{CloudApi, CloudError};
use crate::manifest::model::{Address, ImageAttrs, TOKEN_TAG};
use crate::plan::{ImageRecovery, RecoveryAction, RemoteView};
use crate::state::{PendingEntry, PendingOperation};

/// The images one recovered entry added and destroyed, for the report's counts.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Work {
    pub added: usize,
    pub destroyed: usize,
}

/// How one entry's recovery ended.
pub(super) enum Ended {
    /// The state is now what the plan assumed, with what it took.
    Settled(Work),
    /// A looked-up create was found and completed (the replaced image, if any, deleted).
    Completed(ImageAttrs, Work),
    /// Not what the plan assumed (the reason); the address's change is refused.
    Diverged(String),
    /// Still in flight (the entry stays); `stopped` when an interrupt stopped it.
    Unsettled { why: String, stopped: bool },
    /// Left for the next apply (refresh-only needs no cloud writes).
    Left,
}

/// Recovers one entry as `recovery` says (a [`RecoveryAction::LookUp`] resolved first); in a
/// refresh-only run, what needs a cloud write is left for the next apply.
pub(super) async fn recover_one<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    recovery: &ImageRecovery,
    refresh_only: bool,
) -> Result<Ended, ApplyError> {
    let entry = PendingEntry {
        address: recovery.address.clone(),
        operation: recovery.operation.clone(),
        started_at: String::new(),
    };
    let looked_up = recovery.action == RecoveryAction::LookUp;
    let action = if looked_up {
        match resolve(ctx.cloud.as_ref(), &entry).await {
            Ok(action) => action,
            Err(error) => {
                let why = format!("looking up the interrupted operation: {error}");
                return Ok(Ended::Unsettled {
                    why,
                    stopped: false,
                });
            }
        }
    } else {
        recovery.action.clone()
    };
    if refresh_only && writes_to_cloud(&action) {
        return Ok(Ended::Left);
    }
    phase(ctx, &entry.address, Phase::Recovering);
    match &entry.operation {
        PendingOperation::Delete { image_id } => {
            delete_entry(ctx, &entry.address, image_id, &action).await
        }
        // Never in `Plan::recovery` (see `plan::recover`); the replica phase recovers them.
        PendingOperation::Copy { .. } | PendingOperation::DeleteReplica { .. } => Ok(Ended::Left),
        PendingOperation::Members { image_id, .. } => {
            let read = match &action {
                RecoveryAction::Replan { members, .. } => members.clone(),
                _ => None,
            };
            let (address, id) = (entry.address.clone(), image_id.clone());
            ctx.state
                .edit(move |state| members::settle(state, &address, &id, read))
                .await?;
            Ok(Ended::Settled(Work::default()))
        }
        PendingOperation::Create {
            token,
            attributes,
            image_id,
            job_id,
            replaces,
        } => {
            let image = NewImage {
                address: entry.address.clone(),
                attributes: (**attributes).clone(),
                replaces: replaces.clone(),
            };
            let assumed = match (looked_up, image_id) {
                (false, _) => Assumed::AsPlanned,
                (true, None) => Assumed::Nothing,
                (true, Some(_)) => Assumed::Record,
            };
            let known = Known {
                assumed,
                job_id: job_id.clone(),
            };
            create_entry(ctx, &image, token, &action, &known).await
        }
    }
}

/// What the plan assumed the recovery would leave at the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assumed {
    /// A refreshed plan: exactly what its recovery action says.
    AsPlanned,
    /// No refresh, no image id: nothing at the address (the plan creates it).
    Nothing,
    /// No refresh, an image id: a healthy record at the address.
    Record,
}

/// What the journal entry knew and the plan assumed.
struct Known {
    assumed: Assumed,
    job_id: Option<String>,
}

fn writes_to_cloud(action: &RecoveryAction) -> bool {
    match action {
        RecoveryAction::Adopt { then, .. } => writes_to_cloud(then),
        RecoveryAction::Drop
        | RecoveryAction::Vanished { .. }
        | RecoveryAction::AlreadyDeleted { .. }
        | RecoveryAction::Taint { .. } => false,
        _ => true,
    }
}

/// The plan's rules applied to what the cloud holds now for one entry.
async fn resolve<C: CloudApi>(
    cloud: &C,
    entry: &PendingEntry,
) -> Result<RecoveryAction, CloudError> {
    let mut view = RemoteView::default();
    match &entry.operation {
        PendingOperation::Create {
            token,
            image_id: None,
            ..
        } => {
            let found = cloud.find_by_tag(TOKEN_TAG, token).await?;
            view.by_token.insert(token.clone(), found);
        }
        PendingOperation::Create {
            image_id: Some(id), ..
        }
        | PendingOperation::Delete { image_id: id } => {
            if let Some(image) = cloud.get_image(id).await? {
                view.images.insert(id.clone(), image);
            }
        }
        // Never in `Plan::recovery` (see `plan::recover`); the replica phase recovers them.
        PendingOperation::Copy { .. } | PendingOperation::DeleteReplica { .. } => {}
        // Needs nothing from the cloud: the plan's update re-sends what is missing.
        PendingOperation::Members { .. } => {}
    }
    let resolved = crate::plan::recover(
        std::slice::from_ref(entry),
        Some(&view),
        &mut BTreeMap::new(),
    );
    Ok(resolved
        .into_iter()
        .next()
        .map_or(RecoveryAction::LookUp, |r| r.action))
}

async fn delete_entry<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    image_id: &str,
    action: &RecoveryAction,
) -> Result<Ended, ApplyError> {
    if matches!(action, RecoveryAction::AlreadyDeleted { .. }) {
        delete::drop_entry(ctx, address, image_id).await?;
        return Ok(Ended::Settled(Work::default()));
    }
    let work = Work {
        added: 0,
        destroyed: 1,
    };
    deleted(
        delete::delete_journaled(ctx, address, image_id).await?,
        work,
    )
}

/// How a journaled delete that was to finish `work` ended.
fn deleted(gone: Gone, work: Work) -> Result<Ended, ApplyError> {
    Ok(match gone {
        Gone::Deleted => Ended::Settled(work),
        Gone::Refused(why) | Gone::Failed(why) => Ended::Unsettled {
            why,
            stopped: false,
        },
        Gone::Stopped(why) => Ended::Unsettled { why, stopped: true },
    })
}

async fn create_entry<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    image: &NewImage,
    token: &str,
    action: &RecoveryAction,
    known: &Known,
) -> Result<Ended, ApplyError> {
    let (id, then) = match action {
        RecoveryAction::Adopt { image_id, then } => {
            let (key, id) = (token.to_owned(), image_id.clone());
            ctx.state
                .edit(move |state| {
                    if let Some(PendingOperation::Create { image_id, .. }) =
                        entry_mut(state.pending_mut(), &key)
                    {
                        *image_id = Some(id);
                    }
                })
                .await?;
            (image_id.as_str(), then.as_ref())
        }
        RecoveryAction::Drop => {
            steps::drop_entry(ctx, token).await?;
            return Ok(Ended::Settled(Work::default()));
        }
        other => match image_id_of(other) {
            Some(id) => (id, other),
            None => return Ok(Ended::Diverged(format!("unexpected recovery {other:?}"))),
        },
    };
    let at = Journaled {
        image,
        token,
        image_id: id,
    };
    let expected_taint = matches!(
        then,
        RecoveryAction::Taint { .. } | RecoveryAction::DiscardFailedReplacement { .. }
    );
    let step = match then {
        RecoveryAction::ResumeRegister { .. } => register::register(ctx, at).await?,
        RecoveryAction::Wait { .. } => register::wait(ctx, at, known.job_id.clone()).await?,
        RecoveryAction::Done { .. } => register::finish(ctx, at, None).await?,
        RecoveryAction::Taint { .. } | RecoveryAction::DiscardFailedReplacement { .. } => {
            let reason = "the image was killed while an interrupted run registered it".to_owned();
            register::fail_image(ctx, at, None, reason).await?
        }
        RecoveryAction::Vanished { .. } => {
            steps::drop_entry(ctx, token).await?;
            return Ok(if known.assumed == Assumed::Record {
                Ended::Diverged(format!("image {id} disappeared"))
            } else {
                Ended::Settled(Work::default())
            });
        }
        other => return Ok(Ended::Diverged(format!("unexpected recovery {other:?}"))),
    };
    match (step, &image.replaces) {
        // A create-before-destroy converges in this run: `finish` journaled the delete of the
        // replaced image in the save that recorded the new one; carry it out now.
        (Step::Done(_), Some(old)) => {
            let work = Work {
                added: 1,
                destroyed: 1,
            };
            let gone = delete::delete_journaled(ctx, &image.address, old).await?;
            match deleted(gone, work)? {
                Ended::Settled(work) => Ok(judge_done(known.assumed, &image.attributes, work)),
                unsettled => Ok(unsettled),
            }
        }
        (step, _) => Ok(judge(step, known.assumed, expected_taint, image)),
    }
}

/// A resumed create that ended recorded at its address, with what it took.
fn judge_done(assumed: Assumed, attributes: &ImageAttrs, work: Work) -> Ended {
    if assumed == Assumed::Nothing {
        Ended::Completed(attributes.clone(), work)
    } else {
        Ended::Settled(work)
    }
}

/// Whether a resumed create ended as the plan assumed.
fn judge(step: Step, assumed: Assumed, expected_taint: bool, image: &NewImage) -> Ended {
    // The failed new half of a replace is deleted by `fail_image`: one image destroyed.
    let discarded = Work {
        added: 0,
        destroyed: usize::from(image.replaces.is_some()),
    };
    match step {
        Step::Done(_) => judge_done(
            assumed,
            &image.attributes,
            Work {
                added: 1,
                destroyed: 0,
            },
        ),
        Step::Tainted(_) if expected_taint && assumed == Assumed::AsPlanned => {
            Ended::Settled(discarded)
        }
        Step::Tainted(why) => Ended::Diverged(why),
        Step::Failed(why) => Ended::Unsettled {
            why,
            stopped: false,
        },
        Step::Stopped(why) => Ended::Unsettled { why, stopped: true },
    }
}

fn image_id_of(action: &RecoveryAction) -> Option<&str> {
    match action {
        RecoveryAction::ResumeRegister { image_id }
        | RecoveryAction::Wait { image_id }
        | RecoveryAction::Done { image_id }
        | RecoveryAction::Taint { image_id }
        | RecoveryAction::DiscardFailedReplacement { image_id }
        | RecoveryAction::Vanished { image_id } => Some(image_id),
        _ => None,
    }
}
