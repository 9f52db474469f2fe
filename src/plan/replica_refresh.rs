//! Refresh of the replica regions (design.md section 10): one paged private-image list per
//! region the run reaches (the manifests' replicas, the state's replicas and its replica
//! journal, as the caller gathered them for connecting) or `[cloud.regions]` names, never one
//! request per replica. The regions are read concurrently, each through its own
//! client of one [`ClientFactory`] (one rate limit for all). Of each list, only the images the
//! state names and the copies of this state's source images are kept, and the copies carrying
//! a token of this state's lineage that nothing in the state knows (untracked).

use std::collections::{BTreeMap, BTreeSet};

use tokio::task::JoinSet;

use super::refresh::{RemoteView, untracked};
use crate::cloud::{ClientFactory, CloudApi, CloudError, RemoteImage};
use crate::state::{PendingOperation, State};

/// Reads `reached` (the replica regions of the manifests and of `state`) and the configured
/// regions into `view.regions`.
pub async fn refresh_replicas(
    factory: &ClientFactory,
    state: Option<&State>,
    reached: &BTreeSet<String>,
    view: &mut RemoteView,
) -> Result<(), CloudError> {
    let mut regions = reached.clone();
    // Configured regions too: where copies the state forgot (`state rm`) are found.
    regions.extend(factory.config().regions.keys().cloned());
    let (ids, sources) = state.map(named).unwrap_or_default();
    let tokens = state.map(copy_tokens).unwrap_or_default();
    let mut reads = JoinSet::new();
    for region in regions {
        let client = factory.client(&region)?;
        reads.spawn(async move { (region, client.list_private_images().await) });
    }
    while let Some(read) = reads.join_next().await {
        let (region, listed) = read.map_err(|error| CloudError::Config(error.to_string()))?;
        let mut kept = BTreeMap::new();
        for image in listed? {
            if keep(&image, &ids, &sources) {
                kept.insert(image.id.clone(), image);
            } else if state.is_some_and(|state| untracked(state, &tokens, &image)) {
                view.untracked_copies.push((region.clone(), image));
            }
        }
        view.regions.insert(region, kept);
    }
    view.untracked_copies
        .sort_by(|(r1, a), (r2, b)| (r1, &a.id).cmp(&(r2, &b.id)));
    Ok(())
}

/// The tokens of the journal's copies: a copy being recovered is not untracked.
fn copy_tokens(state: &State) -> Vec<&str> {
    state
        .pending
        .iter()
        .filter_map(|entry| match &entry.operation {
            PendingOperation::Copy { token, .. } => Some(token.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether refresh keeps `image`: the state names it, or it is a copy of a state's image.
fn keep(image: &RemoteImage, ids: &BTreeSet<String>, sources: &BTreeSet<String>) -> bool {
    ids.contains(&image.id)
        || image
            .copied_from
            .as_ref()
            .is_some_and(|(_, source)| sources.contains(source))
}

/// The replica image ids the state names, and the source ids of its pending copies.
fn named(state: &State) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut ids: BTreeSet<String> = state
        .images
        .values()
        .flat_map(|r| r.replicas.values().map(|replica| replica.id.clone()))
        .collect();
    let mut sources = BTreeSet::new();
    for entry in &state.pending {
        match &entry.operation {
            PendingOperation::Copy {
                image_id,
                source_id,
                ..
            } => {
                ids.extend(image_id.clone());
                sources.insert(source_id.clone());
            }
            PendingOperation::DeleteReplica { image_id, .. } => {
                ids.insert(image_id.clone());
            }
            _ => {}
        }
    }
    (ids, sources)
}
