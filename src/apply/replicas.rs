//! The replica kind's apply protocol (design.md section 10): one step of a replica's change,
//! the recovery of its journal entries, and its drift accepted into the state. The order
//! between a replica and its image is the plan's graph (`walk.rs`):
//!
//! - the deletes, and the delete halves of destroy-before-create replacements, go before their
//!   image is destroyed or replaced (so a source never leaves copies the state forgot);
//! - the creates, updates and the other halves go after their image's change (a new source is
//!   active by then; a create-before-destroy copies first, then deletes the old copy).
//!
//! The journaled copies and replica deletes are recovered one at a time before the walk; every
//! request goes through the one rate limiter of the run's clients. A replica's end is reported
//! at its image's address and a failed one does not stop the others.

use std::sync::Arc;

use super::copy::{self, Copied};
use super::progress::Event;
use super::replica_steps;
use super::steps::{self, Done};
use super::{ApplyError, Ctx, Outcome, Report, add};
use crate::manifest::model::{Address, ReplaceOrder};
use crate::plan::{
    Action, Plan, Recovery, ReplicaChange, ReplicaDrift, ReplicaRecovery, ReplicaRecoveryAction,
    Step,
};
use crate::state::{Edit, PendingOperation};

/// Recovers the journal's copies and replica deletes, one at a time.
pub(crate) async fn recover_all<C>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
    report: &mut Report,
) -> Result<(), ApplyError> {
    for recovery in &plan.recovery {
        let Recovery::Replica(recovery) = recovery else {
            continue;
        };
        let (done, action) = recover(ctx, recovery).await?;
        let outcome = record(ctx, &recovery.image, &recovery.region, done, action);
        add(report, recovery.image.clone(), outcome);
    }
    Ok(())
}

/// One step of a replica's change: its delete (or the delete half of a destroy-first
/// replacement), or its create, update or create half.
pub(crate) async fn run<C>(
    ctx: &Arc<Ctx<C>>,
    change: &ReplicaChange,
    step: Step,
) -> Result<Outcome, ApplyError> {
    let (image, region) = (&change.image, &change.region);
    let deletes = step == Step::DestroyFirst || change.action == Action::Delete;
    if let (true, Some(id)) = (deletes, &change.prior_id) {
        let done = replica_steps::delete(ctx, image, region, id).await?;
        // A destroy-first replacement reports once, at its create half, unless this half failed.
        if change.action != Action::Delete && done.is_ok() {
            return Ok(Outcome::none());
        }
        return Ok(record(ctx, image, region, done, Action::Delete));
    }
    let done = step_of(ctx, change).await?;
    Ok(record(ctx, image, region, done, change.action))
}

/// One replica's create, update or create-first replacement.
async fn step_of<C>(ctx: &Arc<Ctx<C>>, change: &ReplicaChange) -> Result<Done, ApplyError> {
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

/// One replica's end, as a progress line at its image's address and an outcome for the report.
fn record<C>(ctx: &Ctx<C>, image: &Address, region: &str, done: Done, action: Action) -> Outcome {
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
    match done {
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
    }
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
    let target = match steps::client(ctx, region) {
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

/// Accepts one replica's drift into `state`: a copy deleted outside imsform is forgotten (the
/// plan copies again), a renamed one takes the refreshed name and description.
pub(crate) fn accept_drift(state: &mut Edit<'_>, seen: ReplicaDrift) {
    let Some(image) = state.image_mut(&seen.image) else {
        return;
    };
    let Some(replica) = image.replicas.get_mut(&seen.region) else {
        return;
    };
    if replica.id != seen.image_id {
        return;
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
