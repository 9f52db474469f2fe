//! Carrying out the plan's replica work (design.md section 10), around the images' changes:
//!
//! - with the images' drift (also in a refresh-only run): the replica drift accepted into the
//!   state ([`accept_drift`]);
//! - before the images' changes: the recovery of journaled copies and replica deletes, the
//!   deletes (removed from the manifests, source destroyed) and the delete halves of
//!   destroy-before-create replacements (so that a source destroyed first never leaves copies
//!   the state forgot);
//! - after them: the creates, the updates and the other halves of replacements (a new source
//!   is active by then; create-before-destroy copies first, then deletes the old copy).
//!
//! The creates, updates and replacements run `parallelism` at once (the images' changes are
//! done by then, so they have the whole budget), the recovery and the deletes one at a time;
//! every request goes through the one rate limiter of the run's clients. A failed replica is
//! reported at its image's address and does not stop the others.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::copy::{self, Copied, Done};
use super::progress::Event;
use super::replica_steps;
use super::{ApplyError, Ctx, Outcome, Report, add};
use crate::manifest::model::{Address, ReplaceOrder};
use crate::plan::{Action, Plan, ReplicaChange, ReplicaRecovery, ReplicaRecoveryAction};
use crate::state::PendingOperation;

/// Recovery and deletes: the work before the images' changes.
pub(crate) async fn before<C>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
    report: &mut Report,
) -> Result<(), ApplyError> {
    for recovery in &plan.replica_recovery {
        let (done, action) = recover(ctx, recovery).await?;
        record(ctx, report, &recovery.image, &recovery.region, done, action);
    }
    for change in &plan.replicas {
        let first = matches!(
            change.action,
            Action::Delete
                | Action::Replace {
                    order: ReplaceOrder::DestroyBeforeCreate
                }
        );
        if let (true, Some(id)) = (first, &change.prior_id) {
            let done = replica_steps::delete(ctx, &change.image, &change.region, id).await?;
            if change.action == Action::Delete || done.is_err() {
                record(
                    ctx,
                    report,
                    &change.image,
                    &change.region,
                    done,
                    Action::Delete,
                );
            }
        }
    }
    Ok(())
}

/// Creates, updates and create-first replacements: the work after the images' changes, at
/// most `parallelism` replicas at once (each replica is its own address, so no two steps
/// share one). A replica whose image failed is left alone.
pub(crate) async fn after<C: Send + Sync + 'static>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
    report: &mut Report,
) -> Result<(), ApplyError> {
    let semaphore = Arc::new(Semaphore::new(ctx.options.parallelism.max(1)));
    let mut tasks = JoinSet::new();
    let mut images = HashMap::new();
    for change in &plan.replicas {
        if ctx.shutdown.is_requested() {
            break;
        }
        if change.action == Action::NoOp || change.action == Action::Delete {
            continue;
        }
        if report.lists(&change.image) {
            continue;
        }
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            break;
        };
        let (task_ctx, task_change) = (ctx.clone(), change.clone());
        let handle = tasks.spawn(async move {
            let _permit = permit;
            let done = step(&task_ctx, &task_change).await;
            (task_change, done)
        });
        images.insert(handle.id(), change.image.clone());
        while let Some(joined) = tasks.try_join_next() {
            collect(ctx, report, joined, &images)?;
        }
    }
    while let Some(joined) = tasks.join_next().await {
        collect(ctx, report, joined, &images)?;
    }
    Ok(())
}

type Joined = Result<(ReplicaChange, Result<Done, ApplyError>), tokio::task::JoinError>;

fn collect<C>(
    ctx: &Ctx<C>,
    report: &mut Report,
    joined: Joined,
    images: &HashMap<tokio::task::Id, Address>,
) -> Result<(), ApplyError> {
    match joined {
        Ok((change, done)) => {
            record(
                ctx,
                report,
                &change.image,
                &change.region,
                done?,
                change.action,
            );
        }
        // A panicking step is a bug; its journal entry, if any, stays for the next apply.
        Err(error) => {
            if let Some(image) = images.get(&error.id()) {
                report
                    .failures
                    .push((image.clone(), format!("internal error: {error}")));
            }
        }
    }
    Ok(())
}

/// One replica's create, update or create-first replacement.
async fn step<C>(ctx: &Arc<Ctx<C>>, change: &ReplicaChange) -> Result<Done, ApplyError> {
    let (image, region) = (&change.image, &change.region);
    match (change.action, &change.after, &change.prior_id) {
        (Action::Create, Some(after), _) => copy::copy(ctx, image, region, after, None).await,
        (Action::Update, Some(after), Some(id)) => {
            replica_steps::update(ctx, image, region, id, after).await
        }
        (Action::Replace { order }, Some(after), prior) => {
            let replaces = match order {
                ReplaceOrder::CreateBeforeDestroy => prior.clone(),
                ReplaceOrder::DestroyBeforeCreate => None,
            };
            copy::copy(ctx, image, region, after, replaces).await
        }
        _ => Ok(Err(
            "the plan names no attributes or id for this change".into()
        )),
    }
}

/// Adds one replica's end to the report (at its image's address) and to the progress lines.
fn record<C>(
    ctx: &Ctx<C>,
    report: &mut Report,
    image: &Address,
    region: &str,
    done: Done,
    action: Action,
) {
    let summary = match (&done, action) {
        (Err(why), _) => format!("failed: {why}"),
        (Ok(_), Action::NoOp) => "nothing to do".to_owned(),
        (Ok(Some(id)), _) => format!("{} [id={id}]", verb(action)),
        (Ok(None), _) => verb(action).to_owned(),
    };
    ctx.progress.event(Event::Finish {
        address: image.clone(),
        ok: done.is_ok(),
        summary: format!("replicas[\"{region}\"]: {summary}"),
    });
    let outcome = match done {
        Ok(_) => {
            let (added, changed, destroyed) = match action {
                Action::Create => (1, 0, 0),
                Action::Update => (0, 1, 0),
                Action::Replace { .. } => (1, 0, 1),
                Action::Delete => (0, 0, 1),
                Action::NoOp => (0, 0, 0),
            };
            Outcome::Done {
                added,
                changed,
                destroyed,
                id: None,
            }
        }
        Err(why) => Outcome::Failed(format!("replicas[\"{region}\"]: {why}")),
    };
    add(report, image.clone(), outcome);
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated in place",
        Action::Replace { .. } => "replaced",
        Action::Delete => "destroyed",
        Action::NoOp => "unchanged",
    }
}

/// Finishes one journaled copy or replica delete as the plan decided; what it amounted to: a
/// copy completed (a create), a delete, or nothing (an entry dropped).
async fn recover<C>(
    ctx: &Arc<Ctx<C>>,
    recovery: &ReplicaRecovery,
) -> Result<(Done, Action), ApplyError> {
    let region = &recovery.region;
    let target = match copy::client(ctx, region) {
        Ok(target) => target,
        Err(why) => return Ok((Err(why), Action::NoOp)),
    };
    let operation = &recovery.operation;
    let copied = match (&recovery.action, operation) {
        (ReplicaRecoveryAction::Adopt { image_id, .. }, _)
        | (
            ReplicaRecoveryAction::LookUp,
            PendingOperation::Copy {
                image_id: Some(image_id),
                ..
            },
        ) => Copied::Image(image_id.clone()),
        (ReplicaRecoveryAction::LookUp, PendingOperation::Copy { .. }) => {
            copy::lost(ctx, &target, operation).await?
        }
        (ReplicaRecoveryAction::Delete { image_id }, _)
        | (ReplicaRecoveryAction::LookUp, PendingOperation::DeleteReplica { image_id, .. }) => {
            let done = replica_steps::delete_in(ctx, &target, region, image_id).await?;
            return Ok((done.map(|()| None), Action::Delete));
        }
        // Drop: the copy was not taken, or the image to delete is already gone.
        (_, PendingOperation::DeleteReplica { region, image_id }) => {
            replica_steps::drop_delete(ctx, region, image_id).await?;
            return Ok((Ok(None), Action::NoOp));
        }
        (_, PendingOperation::Copy { token, .. }) => {
            copy::drop_copy(ctx, token).await?;
            return Ok((Ok(None), Action::NoOp));
        }
        // Not a replica entry: `Plan::recovery` has it.
        _ => return Ok((Ok(None), Action::NoOp)),
    };
    let action = match copied {
        Copied::Image(_) => Action::Create,
        _ => Action::NoOp,
    };
    let done = copy::settle(ctx, &recovery.image, &target, operation, copied).await?;
    Ok((done, action))
}

/// Accepts the replica drift: a copy deleted outside imsform is forgotten (the plan copies
/// again), a renamed one takes the refreshed name and description.
pub(crate) async fn accept_drift<C>(plan: &Plan, ctx: &Arc<Ctx<C>>) -> Result<(), ApplyError> {
    if plan.replica_drift.is_empty() {
        return Ok(());
    }
    let drift = plan.replica_drift.clone();
    ctx.state
        .edit(move |state| {
            for seen in drift {
                let Some(image) = state.image_mut(&seen.image) else {
                    continue;
                };
                let Some(replica) = image.replicas.get_mut(&seen.region) else {
                    continue;
                };
                if replica.id != seen.image_id {
                    continue;
                }
                match seen.after {
                    None => {
                        image.replicas.remove(&seen.region);
                    }
                    Some(after) => {
                        replica.name = after.name;
                        replica.description = after.description;
                    }
                }
            }
        })
        .await
}
