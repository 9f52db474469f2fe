//! Steps 1 and 2 of the create protocol (see the module docs of [`super`]): journal the entry,
//! create the metadata with the token tag, and resolve a lost answer by the token. Steps 3 and 4
//! are in `register.rs`. Must not save anything but this address's journal entry and record.

use std::sync::Arc;

use super::progress::Phase;
use super::register::{self, Step};
use super::steps::{NewImage, definitive, drop_entry, entry_mut, now, phase};
use super::{ApplyError, Ctx};
use crate::cloud::{CloudApi, CloudError, CreateImage, RemoteImage};
use crate::manifest::model::TOKEN_TAG;
use crate::state::{PendingEntry, PendingOperation};

/// What a lookup by token found.
enum Lookup {
    Found(Box<RemoteImage>),
    Absent,
    Several(Vec<String>),
}

/// Creates `image` from scratch through every step of the protocol.
pub(crate) async fn create<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    image: &NewImage,
) -> Result<Step, ApplyError> {
    let mut retried = false;
    loop {
        if ctx.shutdown.is_requested() {
            return Ok(Step::Stopped(
                "interrupted before the create started".into(),
            ));
        }
        let token = crate::state::new_token(&ctx.lineage);
        journal(ctx, image, &token).await?;
        phase(ctx, &image.address, Phase::Creating);
        let error = match ctx.cloud.create_metadata(&request(image, &token)).await {
            Ok(created) => return adopt(ctx, image, &token, created).await,
            Err(error) if definitive(&error) => {
                drop_entry(ctx, &token).await?;
                return Ok(Step::Failed(format!("the create was refused: {error}")));
            }
            Err(error) => error,
        };
        match lookup(ctx, &token).await {
            Ok(Lookup::Found(created)) => return adopt(ctx, image, &token, *created).await,
            Ok(Lookup::Absent) => drop_entry(ctx, &token).await?,
            Ok(Lookup::Several(ids)) => {
                return Ok(Step::Failed(format!(
                    "the create's answer was lost ({error}) and several images carry its \
                     token ({}); the next plan refuses until the extra images are deleted",
                    ids.join(", ")
                )));
            }
            Err(lookup_error) => {
                return Ok(Step::Failed(format!(
                    "the create's answer was lost ({error}) and the lookup by its token failed \
                     ({lookup_error}); the next plan resolves it by the token"
                )));
            }
        }
        if retried {
            return Ok(Step::Failed(format!(
                "the create's answer was lost twice and no image carries either token ({error}); \
                 the next apply creates it again"
            )));
        }
        retried = true;
    }
}

/// Saves the id of the created image and continues with the registration.
async fn adopt<C: CloudApi>(
    ctx: &Arc<Ctx<C>>,
    image: &NewImage,
    token: &str,
    created: RemoteImage,
) -> Result<Step, ApplyError> {
    let (id, key) = (created.id.clone(), token.to_owned());
    ctx.state
        .edit(move |state| {
            if let Some(PendingOperation::Create { image_id, .. }) =
                entry_mut(state.pending_mut(), &key)
            {
                *image_id = Some(id);
            }
        })
        .await?;
    register::resume(ctx, image, token, &created).await
}

/// Looks the token up; when absent, once more after the settle delay.
async fn lookup<C: CloudApi>(ctx: &Arc<Ctx<C>>, token: &str) -> Result<Lookup, CloudError> {
    for pass in 0..2 {
        let mut found = ctx.cloud.find_by_tag(TOKEN_TAG, token).await?;
        match found.len() {
            0 if pass == 0 => tokio::time::sleep(ctx.options.create_settle).await,
            0 => return Ok(Lookup::Absent),
            1 => {
                return Ok(found
                    .pop()
                    .map_or(Lookup::Absent, |i| Lookup::Found(Box::new(i))));
            }
            _ => return Ok(Lookup::Several(found.into_iter().map(|i| i.id).collect())),
        }
    }
    Ok(Lookup::Absent)
}

fn request(image: &NewImage, token: &str) -> CreateImage {
    let attrs = &image.attributes;
    let mut tags = attrs.tags.clone();
    tags.insert(TOKEN_TAG.to_owned(), token.to_owned());
    CreateImage {
        name: attrs.name.clone(),
        os_version: attrs.os_version.clone(),
        disk_format: attrs.disk_format,
        min_disk: attrs.min_disk,
        min_ram: attrs.min_ram,
        protected: attrs.protected,
        tags,
    }
}

/// Step 1: the pending entry, saved before any call.
async fn journal<C>(ctx: &Arc<Ctx<C>>, image: &NewImage, token: &str) -> Result<(), ApplyError> {
    let entry = PendingEntry {
        address: image.address.clone(),
        operation: PendingOperation::Create {
            token: token.to_owned(),
            attributes: Box::new(image.attributes.clone()),
            image_id: None,
            job_id: None,
            replaces: image.replaces.clone(),
        },
        started_at: now(),
    };
    ctx.state
        .edit(move |state| state.pending_mut().push(entry))
        .await
}
