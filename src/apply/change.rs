//! Carrying out one [`ResourceChange`] (create, update, replace in both orders, destroy), and
//! writing the plan's moves and drift into the state. Each function works on one address only;
//! the scheduling is in [`super`].

use std::sync::Arc;

use super::create::{self, NewImage, phase};
use super::delete::{self, Gone};
use super::progress::{Event, Phase};
use super::register::Step;
use super::{ApplyError, Ctx, Outcome};
use crate::cloud::CloudApi;
use crate::manifest::model::{Address, ReplaceOrder};
use crate::plan::{Action, Plan, ResourceChange};
use crate::state::Observed;

/// Carries out `change` and reports its end to the progress sink.
pub(crate) async fn run<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ResourceChange,
) -> Result<Outcome, ApplyError> {
    let outcome = match (change.action, &change.prior_id) {
        (Action::NoOp, _) => Outcome::none(),
        (Action::Create, _) => create_new(ctx, change).await?,
        (Action::Update, Some(id)) => update(ctx, change, id).await?,
        (Action::Replace { order }, Some(id)) => match order {
            ReplaceOrder::CreateBeforeDestroy => replace_create_first(ctx, change, id).await?,
            ReplaceOrder::DestroyBeforeCreate => replace_destroy_first(ctx, change, id).await?,
        },
        (Action::Delete, Some(id)) => destroy(ctx, &change.address, id).await?,
        (_, None) => Outcome::Failed("the plan names no image id for this change".into()),
    };
    let (ok, summary) = match &outcome {
        Outcome::Done { id: Some(id), .. } => {
            (true, format!("{} [id={id}]", done_summary(change.action)))
        }
        Outcome::Done { id: None, .. } => (true, done_summary(change.action).to_owned()),
        Outcome::Failed(why) => (false, format!("failed: {why}")),
        Outcome::Stopped(why) => (false, format!("stopped: {why}")),
    };
    let address = change.address.clone();
    ctx.progress.event(Event::Finish {
        address,
        ok,
        summary,
    });
    Ok(outcome)
}

fn done_summary(action: Action) -> &'static str {
    match action {
        Action::NoOp => "unchanged",
        Action::Create => "created",
        Action::Update => "updated in place",
        Action::Replace { .. } => "replaced",
        Action::Delete => "destroyed",
    }
}

fn new_image(change: &ResourceChange, replaces: Option<&str>) -> Option<NewImage> {
    Some(NewImage {
        address: change.address.clone(),
        attributes: change.after.clone()?,
        replaces: replaces.map(str::to_owned),
    })
}

fn from_step(step: Step, added: usize, destroyed: usize) -> Outcome {
    match step {
        Step::Done(id) => Outcome::Done {
            added,
            changed: 0,
            destroyed,
            id: Some(id),
        },
        Step::Tainted(why) | Step::Failed(why) => Outcome::Failed(why),
        Step::Stopped(why) => Outcome::Stopped(why),
    }
}

fn no_after() -> Outcome {
    Outcome::Failed("the plan has no attributes to create".into())
}

async fn create_new<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ResourceChange,
) -> Result<Outcome, ApplyError> {
    let Some(image) = new_image(change, None) else {
        return Ok(no_after());
    };
    Ok(from_step(create::create(ctx, &image).await?, 1, 0))
}

/// `PATCH` for name/min_ram/description, the batch tag API for the tags that differ (the
/// token tag is never among them), then the record.
async fn update<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ResourceChange,
    id: &str,
) -> Result<Outcome, ApplyError> {
    let Some(after) = change.after.clone() else {
        return Ok(no_after());
    };
    if ctx.shutdown.is_requested() {
        return Ok(Outcome::Stopped(
            "interrupted before the update started".into(),
        ));
    }
    phase(ctx, &change.address, Phase::Updating);
    let attrs = change.attr_updates();
    let mut seen = None;
    if !attrs.is_empty() {
        match ctx.cloud.update(id, &attrs).await {
            Ok(image) => seen = Some(image),
            Err(error) => return Ok(Outcome::Failed(format!("updating image {id}: {error}"))),
        }
    }
    let (set, remove) = change.tag_updates();
    if (!set.is_empty() || !remove.is_empty())
        && let Err(error) = ctx.cloud.update_tags(id, &set, &remove).await
    {
        return Ok(Outcome::Failed(format!(
            "updating the tags of image {id}: {error}"
        )));
    }
    let (address, recorded) = (change.address.clone(), id.to_owned());
    ctx.state
        .edit(move |state| {
            if let Some(record) = state.image_mut(&address).filter(|r| r.id == recorded) {
                record.attributes = after;
                if let Some(image) = seen {
                    record.observed = Some(Observed {
                        status: image.status.as_str().to_owned(),
                        checksum: image.checksum,
                        size: image.size,
                        updated_at: image.updated_at,
                    });
                }
            }
        })
        .await?;
    Ok(Outcome::Done {
        added: 0,
        changed: 1,
        destroyed: 0,
        id: Some(id.to_owned()),
    })
}

/// create_before_destroy: the new image fully, then (journaled in the same save that points
/// the address at it) the delete of the old one.
async fn replace_create_first<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ResourceChange,
    old: &str,
) -> Result<Outcome, ApplyError> {
    let Some(image) = new_image(change, Some(old)) else {
        return Ok(no_after());
    };
    match create::create(ctx, &image).await? {
        Step::Done(new) => Ok(
            match delete::delete_journaled(ctx, &change.address, old).await? {
                Gone::Deleted => Outcome::Done {
                    added: 1,
                    changed: 0,
                    destroyed: 1,
                    id: Some(new),
                },
                Gone::Refused(why) | Gone::Failed(why) => Outcome::Failed(format!(
                    "new image {new} is in place, but the old one is not deleted yet: {why}"
                )),
                Gone::Stopped(why) => Outcome::Stopped(why),
            },
        ),
        step => Ok(from_step(step, 1, 1)),
    }
}

/// destroy_before_create: one save forgets the record and journals the delete; then the delete,
/// then the create.
async fn replace_destroy_first<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ResourceChange,
    old: &str,
) -> Result<Outcome, ApplyError> {
    let Some(image) = new_image(change, None) else {
        return Ok(no_after());
    };
    match destroy(ctx, &change.address, old).await? {
        Outcome::Done { .. } => Ok(from_step(create::create(ctx, &image).await?, 1, 1)),
        other => Ok(other),
    }
}

/// One save forgets the record and journals the delete; then the delete and the wait. A delete
/// IMS refuses outright puts the record back.
async fn destroy<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    id: &str,
) -> Result<Outcome, ApplyError> {
    if ctx.shutdown.is_requested() {
        return Ok(Outcome::Stopped(
            "interrupted before the delete started".into(),
        ));
    }
    let key = address.clone();
    let removed = delete::journal(ctx, address, id, move |state| state.remove_image(&key)).await?;
    Ok(match delete::delete_journaled(ctx, address, id).await? {
        Gone::Deleted => Outcome::Done {
            added: 0,
            changed: 0,
            destroyed: 1,
            id: None,
        },
        Gone::Refused(why) => {
            let (key, image_id) = (address.clone(), id.to_owned());
            ctx.state
                .edit(move |state| {
                    if let Some(record) = removed {
                        state.insert_image(key.clone(), record);
                    }
                    state.pending_mut().retain(|e| {
                        !(e.address == key
                            && matches!(&e.operation,
                                crate::state::PendingOperation::Delete { image_id: i } if *i == image_id))
                    });
                })
                .await?;
            Outcome::Failed(format!("{why}; the image stays in the state"))
        }
        Gone::Failed(why) => Outcome::Failed(why),
        Gone::Stopped(why) => Outcome::Stopped(why),
    })
}

/// Renames the moved addresses and accepts the drift, in one save.
pub(crate) async fn accept_moves_and_drift<C>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
) -> Result<(), ApplyError> {
    if plan.moves.is_empty() && plan.drift.is_empty() {
        return Ok(());
    }
    let (moves, drift) = (plan.moves.clone(), plan.drift.clone());
    ctx.state
        .edit(move |state| {
            for moved in moves {
                if let Some(record) = state.remove_image(&moved.from) {
                    state.insert_image(moved.to.clone(), record);
                }
                for entry in state
                    .pending_mut()
                    .iter_mut()
                    .filter(|e| e.address == moved.from)
                {
                    entry.address = moved.to.clone();
                }
            }
            for seen in drift {
                let Some(record) = state.image_mut(&seen.address) else {
                    continue;
                };
                if record.id != seen.image_id {
                    continue;
                }
                let Some(after) = seen.after else {
                    state.remove_image(&seen.address);
                    continue;
                };
                record.attributes = after;
                if let Some(status) = seen.status {
                    let observed = record.observed.get_or_insert_with(|| Observed {
                        status: String::new(),
                        checksum: None,
                        size: None,
                        updated_at: None,
                    });
                    observed.status = status.after;
                }
            }
        })
        .await
}
