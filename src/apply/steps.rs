//! The vocabulary every kind's steps share, below them all: timestamps and progress phases,
//! the create entries of the journal and the image a create makes, whether a refusal is final,
//! a replica step's end and the clients of other regions. No step's logic lives here.

use std::sync::Arc;

use chrono::SecondsFormat;

use super::progress::{Event, Phase};
use super::{ApplyError, Ctx};
use crate::cloud::{Client, CloudError};
use crate::manifest::model::{Address, ImageAttrs};
use crate::state::{PendingEntry, PendingOperation};

/// One image to create for an address.
#[derive(Debug, Clone)]
pub(crate) struct NewImage {
    pub address: Address,
    pub attributes: ImageAttrs,
    /// create_before_destroy: the image this one replaces.
    pub replaces: Option<String>,
}

/// Whether the cloud refused the create outright (nothing was created).
pub(crate) fn definitive(error: &CloudError) -> bool {
    match error {
        CloudError::Api { status, .. } => (400..500).contains(status),
        CloudError::Auth { .. } | CloudError::Config(_) => true,
        _ => false,
    }
}

/// Drops the create entry of `token`.
pub(crate) async fn drop_entry<C>(ctx: &Arc<Ctx<C>>, token: &str) -> Result<(), ApplyError> {
    let token = token.to_owned();
    ctx.state
        .edit(move |state| state.pending_mut().retain(|e| !is_create(e, &token)))
        .await
}

pub(crate) fn is_create(entry: &PendingEntry, key: &str) -> bool {
    matches!(&entry.operation, PendingOperation::Create { token, .. } if token == key)
}

pub(crate) fn entry_mut<'a>(
    pending: &'a mut [PendingEntry],
    key: &str,
) -> Option<&'a mut PendingOperation> {
    pending
        .iter_mut()
        .find(|e| is_create(e, key))
        .map(|e| &mut e.operation)
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn phase<C>(ctx: &Ctx<C>, address: &Address, phase: Phase) {
    let address = address.clone();
    ctx.progress.event(Event::Phase { address, phase });
}

/// How one replica step ended: `Ok(id)` or why it failed.
pub(crate) type Done = Result<Option<String>, String>;

/// A client for `region` from the run's factory.
pub(crate) fn client<C>(ctx: &Ctx<C>, region: &str) -> Result<Client, String> {
    let factory = ctx
        .options
        .regions
        .as_ref()
        .ok_or("this run has no clients for other regions")?;
    factory.client(region).map_err(|e| e.to_string())
}
