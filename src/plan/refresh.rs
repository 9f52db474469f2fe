//! Refresh: read what the cloud holds for the state's images in a handful of requests. One
//! `list_private_images` (the client walks every page), plus one `find_by_tag` per pending create
//! that has no image id yet. Never one request per image. Reads only; the plan stays pure.

use std::collections::{BTreeMap, BTreeSet};

use crate::cloud::{CloudApi, CloudError, RemoteImage};
use crate::manifest::model::TOKEN_TAG;
use crate::state::{PendingOperation, State};

/// What refresh saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteView {
    /// The listed images the state refers to (records and journal entries), by id. An id of the
    /// state missing here was not found in the cloud.
    pub images: BTreeMap<String, RemoteImage>,
    /// For pending creates without an image id: the images carrying the create's token, by
    /// token (an empty list: none).
    pub by_token: BTreeMap<String, Vec<RemoteImage>>,
}

/// Reads the cloud for `state`. Without a state, nothing is read.
pub async fn refresh(
    cloud: &impl CloudApi,
    state: Option<&State>,
) -> Result<RemoteView, CloudError> {
    let Some(state) = state else {
        return Ok(RemoteView::default());
    };
    let mut wanted: BTreeSet<&str> = state.images.values().map(|r| r.id.as_str()).collect();
    let mut tokens = Vec::new();
    for entry in &state.pending {
        match &entry.operation {
            PendingOperation::Create {
                image_id: Some(id),
                replaces,
                ..
            } => {
                wanted.insert(id);
                wanted.extend(replaces.as_deref());
            }
            PendingOperation::Create {
                token, replaces, ..
            } => {
                tokens.push(token.as_str());
                wanted.extend(replaces.as_deref());
            }
            PendingOperation::Delete { image_id } => {
                wanted.insert(image_id);
            }
        }
    }
    let mut view = RemoteView::default();
    if !wanted.is_empty() {
        for image in cloud.list_private_images().await? {
            if wanted.contains(image.id.as_str()) {
                view.images.insert(image.id.clone(), image);
            }
        }
    }
    for token in tokens {
        let found = cloud.find_by_tag(TOKEN_TAG, token).await?;
        view.by_token.insert(token.to_owned(), found);
    }
    Ok(view)
}
