//! A replica's update (name and description, in its region) and its journaled delete; part of
//! the replica steps with `copy.rs`.

use std::sync::Arc;

use tokio::time::Instant;

use super::steps::now;
use super::steps::{Done, client};
use super::{ApplyError, Ctx};
use crate::cloud::{AttrUpdate, Client, CloudApi};
use crate::manifest::model::Address;
use crate::plan::ReplicaAttrs;
use crate::state::{PendingEntry, PendingOperation};

/// Deletes a replica image whose `DeleteReplica` entry is saved, waits until it is gone and
/// drops the entry.
pub(crate) async fn delete_in<C>(
    ctx: &Arc<Ctx<C>>,
    target: &Client,
    region: &str,
    image_id: &str,
) -> Result<Result<(), String>, ApplyError> {
    if let Err(why) = delete_and_wait(ctx, target, region, image_id).await {
        return Ok(Err(why));
    }
    drop_delete(ctx, region, image_id).await?;
    Ok(Ok(()))
}

async fn delete_and_wait<C>(
    ctx: &Ctx<C>,
    target: &Client,
    region: &str,
    image_id: &str,
) -> Result<(), String> {
    target
        .delete(image_id)
        .await
        .map_err(|error| format!("deleting {image_id} in {region}: {error}"))?;
    let deadline = Instant::now() + ctx.options.job_timeout;
    target
        .wait_gone(&[image_id.to_owned()], deadline)
        .await
        .map_err(|error| format!("waiting for {image_id} in {region} to go: {error}"))
}

/// Drops the `DeleteReplica` entry of `image_id` in `region`.
pub(crate) async fn drop_delete<C>(
    ctx: &Arc<Ctx<C>>,
    region: &str,
    image_id: &str,
) -> Result<(), ApplyError> {
    let (at, id) = (region.to_owned(), image_id.to_owned());
    ctx.state
        .edit(move |state| {
            state.pending_mut().retain(|e| {
                !matches!(&e.operation, PendingOperation::DeleteReplica { region, image_id }
                    if *region == at && *image_id == id)
            });
        })
        .await
}

/// Deletes a copy no replica owns (an untracked one) in `region` and waits until it is gone;
/// no journal entry: it carries this lineage's token, so the next refresh finds it again.
pub(crate) async fn delete_copy<C>(
    ctx: &Arc<Ctx<C>>,
    region: &str,
    image_id: &str,
) -> Result<(), String> {
    let target = client(ctx, region)?;
    delete_and_wait(ctx, &target, region, image_id).await
}

/// One save forgets the replica and journals its delete; then the delete.
pub(crate) async fn delete<C>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    region: &str,
    image_id: &str,
) -> Result<Done, ApplyError> {
    let target = match client(ctx, region) {
        Ok(target) => target,
        Err(why) => return Ok(Err(why)),
    };
    let (key, at, id) = (address.clone(), region.to_owned(), image_id.to_owned());
    ctx.state
        .edit(move |state| {
            if let Some(image) = state.image_mut(&key) {
                image.replicas.remove(&at);
            }
            state.pending_mut().push(PendingEntry {
                address: key,
                operation: PendingOperation::DeleteReplica {
                    region: at,
                    image_id: id,
                },
                started_at: now(),
            });
        })
        .await?;
    Ok(delete_in(ctx, &target, region, image_id)
        .await?
        .map(|()| None))
}

/// `PATCH` of the name and description in the replica's region, then the record.
pub(crate) async fn update<C>(
    ctx: &Arc<Ctx<C>>,
    address: &Address,
    region: &str,
    image_id: &str,
    after: &ReplicaAttrs,
) -> Result<Done, ApplyError> {
    let target = match client(ctx, region) {
        Ok(target) => target,
        Err(why) => return Ok(Err(why)),
    };
    let changes = [
        AttrUpdate::Name(after.name.clone()),
        AttrUpdate::Description(after.description.clone()),
    ];
    if let Err(error) = target.update(image_id, &changes).await {
        return Ok(Err(format!("updating {image_id} in {region}: {error}")));
    }
    let (key, at, after) = (address.clone(), region.to_owned(), after.clone());
    ctx.state
        .edit(move |state| {
            let replica = state
                .image_mut(&key)
                .and_then(|image| image.replicas.get_mut(&at));
            if let Some(replica) = replica {
                replica.name = after.name;
                replica.description = after.description;
            }
        })
        .await?;
    Ok(Ok(Some(image_id.to_owned())))
}
