//! The image kind's apply protocol: carrying out one [`ImageChange`] (create, update, replace
//! in both orders, destroy), and accepting an image's drift into the state. Each function works on one address only;
//! the scheduling is in [`super`].

use std::collections::BTreeSet;
use std::sync::Arc;

use super::create;
use super::delete::{self, Gone};
use super::members::{self, Shared};
use super::progress::{Event, Phase};
use super::register::Step;
use super::steps::{NewImage, phase};
use super::{ApplyError, Ctx, Outcome};
use crate::cloud::CloudApi;
use crate::manifest::model::{Address, Field, ReplaceOrder};
use crate::plan::{Action, ImageChange, ImageDrift};
use crate::state::{Edit, Observed};

/// Carries out `change` and reports its end to the progress sink.
pub(crate) async fn run<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ImageChange,
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

/// The image to create for `change`: its members are added once it is active
/// ([`share_new`]), so the journal and the record start without them.
fn new_image(change: &ImageChange, replaces: Option<&str>) -> Option<NewImage> {
    let mut attributes = change.after.clone()?;
    attributes.share_with.clear();
    Some(NewImage {
        address: change.address.clone(),
        attributes,
        replaces: replaces.map(str::to_owned),
    })
}

/// Shares the image `id` just created for `change` with the members the plan asks for, and
/// records them in the save that clears the journal entry.
async fn share_new<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ImageChange,
    id: &str,
) -> Result<Shared, ApplyError> {
    let wanted = change
        .after
        .as_ref()
        .map(|after| after.share_with.clone())
        .unwrap_or_default();
    let address = &change.address;
    let shared = members::converge(ctx, address, id, &BTreeSet::new(), &wanted).await?;
    if shared == Shared::Done && !wanted.is_empty() {
        let (address, id) = (address.clone(), id.to_owned());
        ctx.state
            .edit(move |state| members::settle(state, &address, &id, Some(wanted)))
            .await?;
    }
    Ok(shared)
}

/// A create's step, then the sharing of its new image.
async fn created_and_shared<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ImageChange,
    step: Step,
    (added, destroyed): (usize, usize),
) -> Result<Outcome, ApplyError> {
    let Step::Done(id) = &step else {
        return Ok(from_step(step, added, destroyed));
    };
    let shared = share_new(ctx, change, id).await?;
    Ok(with_sharing(from_step(step, added, destroyed), shared))
}

/// `outcome` of an image's work, unless its sharing did not end.
fn with_sharing(outcome: Outcome, shared: Shared) -> Outcome {
    match (outcome, shared) {
        (Outcome::Done { id: Some(id), .. }, Shared::Failed(why)) => {
            Outcome::Failed(format!("image {id} is in place, but {why}"))
        }
        (Outcome::Done { .. }, Shared::Stopped(why)) => Outcome::Stopped(why),
        (outcome, _) => outcome,
    }
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
    change: &ImageChange,
) -> Result<Outcome, ApplyError> {
    let Some(image) = new_image(change, None) else {
        return Ok(no_after());
    };
    let step = create::create(ctx, &image).await?;
    created_and_shared(ctx, change, step, (1, 0)).await
}

/// `PATCH` for name/min_ram/description, the batch tag API for the tags that differ (the
/// token tag is never among them), the member jobs for `share_with`, then the record.
async fn update<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ImageChange,
    id: &str,
) -> Result<Outcome, ApplyError> {
    let (Some(mut after), Some(before)) = (change.after.clone(), change.before.as_ref()) else {
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
    let shared = if change
        .field_changes
        .iter()
        .any(|c| c.field == Field::ShareWith)
    {
        let (old, new) = (&before.share_with, &after.share_with);
        members::converge(ctx, &change.address, id, old, new).await?
    } else {
        Shared::Done
    };
    if shared != Shared::Done {
        // The journal entry (if any) stays: the next plan reads the members again.
        after.share_with.clone_from(&before.share_with);
    }
    let (address, recorded) = (change.address.clone(), id.to_owned());
    let settled = shared == Shared::Done;
    ctx.state
        .edit(move |state| {
            if settled {
                members::settle(state, &address, &recorded, None);
            }
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
    let done = Outcome::Done {
        added: 0,
        changed: 1,
        destroyed: 0,
        id: Some(id.to_owned()),
    };
    Ok(with_sharing(done, shared))
}

/// create_before_destroy: the new image fully, then (journaled in the same save that points
/// the address at it) the delete of the old one.
async fn replace_create_first<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ImageChange,
    old: &str,
) -> Result<Outcome, ApplyError> {
    let Some(image) = new_image(change, Some(old)) else {
        return Ok(no_after());
    };
    match create::create(ctx, &image).await? {
        Step::Done(new) => {
            // Consumers get the new image before the old one goes.
            let shared = share_new(ctx, change, &new).await?;
            let outcome = match delete::delete_journaled(ctx, &change.address, old).await? {
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
            };
            Ok(with_sharing(outcome, shared))
        }
        step => Ok(from_step(step, 1, 1)),
    }
}

/// destroy_before_create: one save forgets the record and journals the delete; then the delete,
/// then the create.
async fn replace_destroy_first<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    change: &ImageChange,
    old: &str,
) -> Result<Outcome, ApplyError> {
    let Some(image) = new_image(change, None) else {
        return Ok(no_after());
    };
    match destroy(ctx, &change.address, old).await? {
        Outcome::Done { .. } => {
            let step = create::create(ctx, &image).await?;
            created_and_shared(ctx, change, step, (1, 1)).await
        }
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

/// Accepts one image's drift into `state`: a deleted image is forgotten, a changed one takes
/// the refreshed attributes and status.
pub(crate) fn accept_drift(state: &mut Edit<'_>, seen: ImageDrift) {
    let Some(record) = state.image_mut(&seen.address) else {
        return;
    };
    if record.id != seen.image_id {
        return;
    }
    let Some(after) = seen.after else {
        state.remove_image(&seen.address);
        return;
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
