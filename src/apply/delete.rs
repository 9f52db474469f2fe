//! Deleting an image whose `Delete` journal entry is already saved: the call, the wait until the
//! image leaves the list (through the shared [`crate::cloud::JobWatcher`]), and dropping the
//! entry. Must not decide what happens to the address's record; callers do.

use std::sync::Arc;

use tokio::time::Instant;

use super::progress::Phase;
use super::steps::{self, phase};
use super::{ApplyError, Ctx};
use crate::cloud::CloudApi;
use crate::manifest::model::Address;
use crate::state::{Edit as StateEdit, PendingEntry, PendingOperation};

/// How a journaled delete ended.
#[derive(Debug)]
pub(crate) enum Gone {
    /// Deleted, waited out and the entry dropped.
    Deleted,
    /// IMS refused the delete outright (a 4xx such as IMG.0028, protected); the entry stays.
    Refused(String),
    /// A transient failure or a timeout; the entry stays and the next apply retries.
    Failed(String),
    /// Interrupted at a saved point; the entry stays.
    Stopped(String),
}

/// Journals the delete of `image_id` for `address` (with whatever else `also` changes, in the
/// same save).
pub(crate) async fn journal<C, R: Send + 'static>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    image_id: &str,
    also: impl FnOnce(&mut StateEdit<'_>) -> R + Send + 'static,
) -> Result<R, ApplyError> {
    let entry = PendingEntry {
        address: address.clone(),
        operation: PendingOperation::Delete {
            image_id: image_id.to_owned(),
        },
        started_at: steps::now(),
    };
    ctx.state
        .edit(move |state| {
            let returned = also(state);
            state.pending_mut().push(entry);
            returned
        })
        .await
}

/// Deletes `image_id` (journaled for `address`), waits until it is gone, drops the entry.
pub(crate) async fn delete_journaled<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    image_id: &str,
) -> Result<Gone, ApplyError> {
    let gone = delete_and_wait(ctx, Some(address), image_id).await;
    if matches!(gone, Gone::Deleted) {
        drop_entry(ctx, address, image_id).await?;
    }
    Ok(gone)
}

/// Deletes `image_id` and waits until it leaves the list; progress goes to `address`, when the
/// image has one. Saves nothing.
pub(crate) async fn delete_and_wait<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    address: Option<&Address>,
    image_id: &str,
) -> Gone {
    if ctx.shutdown.is_requested() {
        return Gone::Stopped(format!(
            "interrupted before deleting image {image_id}; the next apply deletes it"
        ));
    }
    if let Some(address) = address {
        phase(ctx, address, Phase::Deleting);
    }
    if let Err(error) = ctx.cloud.delete(image_id).await {
        let message = format!("deleting image {image_id}: {error}");
        return if steps::definitive(&error) {
            Gone::Refused(message)
        } else {
            Gone::Failed(format!("{message}; the next apply retries"))
        };
    }
    if let Some(address) = address {
        phase(ctx, address, Phase::WaitingGone);
    }
    let deadline = Instant::now() + ctx.options.job_timeout;
    let watch = ctx.watcher.watch_gone(image_id, deadline);
    tokio::select! {
        result = watch.wait() => match result {
            Ok(_) => Gone::Deleted,
            Err(error) => Gone::Failed(format!(
                "waiting for image {image_id} to disappear: {error}; the next apply checks again"
            )),
        },
        () = ctx.shutdown.requested() => Gone::Stopped(format!(
            "interrupted while image {image_id} was being deleted; the next apply checks it"
        )),
    }
}

/// Drops the `Delete` entry of `image_id` for `address`.
pub(crate) async fn drop_entry<C>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    image_id: &str,
) -> Result<(), ApplyError> {
    let (address, id) = (address.clone(), image_id.to_owned());
    ctx.state
        .edit(move |state| {
            state
                .pending_mut()
                .retain(|e| !(e.address == address && is_delete(&e.operation, &id)));
        })
        .await
}

fn is_delete(operation: &PendingOperation, id: &str) -> bool {
    matches!(operation, PendingOperation::Delete { image_id } if image_id == id)
}
