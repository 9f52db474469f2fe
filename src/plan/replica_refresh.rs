//! Refresh of the replica regions (design.md section 10): one paged private-image list per
//! region that the manifests' replicas, the state's replicas or its replica journal name,
//! never one request per replica. The regions are read concurrently, each through its own
//! client of one [`ClientFactory`] (one rate limit for all). Of each list, only the images the
//! state names and the copies of this state's source images are kept.

use std::collections::BTreeSet;

use tokio::task::JoinSet;

use super::refresh::RemoteView;
use crate::cloud::{ClientFactory, CloudApi, CloudError, RemoteImage};
use crate::manifest::model::Manifests;
use crate::state::{PendingOperation, State};

/// Reads every replica region into `view.regions`.
pub async fn refresh_replicas(
    factory: &ClientFactory,
    state: Option<&State>,
    desired: &Manifests,
    view: &mut RemoteView,
) -> Result<(), CloudError> {
    let mut regions = desired.replica_regions();
    regions.extend(state.map(State::replica_regions).unwrap_or_default());
    let (ids, sources) = state.map(named).unwrap_or_default();
    let mut reads = JoinSet::new();
    for region in regions {
        let client = factory.client(&region)?;
        reads.spawn(async move { (region, client.list_private_images().await) });
    }
    while let Some(read) = reads.join_next().await {
        let (region, listed) = read.map_err(|error| CloudError::Config(error.to_string()))?;
        let kept = listed?
            .into_iter()
            .filter(|image| keep(image, &ids, &sources))
            .map(|image| (image.id.clone(), image))
            .collect();
        view.regions.insert(region, kept);
    }
    Ok(())
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
