//! What adoption reads of the cloud, in few requests (issue 21, "Cost"): the project's private
//! images (one paged list), the ones it shares (one paged list, `__imagetype=shared&owner=`,
//! ims-distribution.md section 3.1), each replica region's private images (one paged list per
//! region), all concurrently; then one member list per image that is really shared, at most
//! [`MEMBER_READS`] at once. Never a request per image, except behind `--no-shared-filter`
//! (the owner's meaning of that filter is UNCONFIRMED): then every image asked about has its
//! members read. Also the read by id of import ids that are not the project's private images
//! ([`read_foreign`]), for the planner's refusals.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::task::JoinSet;

use super::checks::Foreign;
use crate::cloud::{Client, ClientFactory, CloudApi, CloudError, RemoteImage};

/// How many member lists are read at once.
pub const MEMBER_READS: usize = 16;

/// What the lists gave.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// The project's private images of the configured region.
    pub images: Vec<RemoteImage>,
    /// The ids of those it shares (`None`: not asked, `--no-shared-filter`).
    pub shared: Option<BTreeSet<String>>,
    /// The project's private images of each replica region read.
    pub regions: BTreeMap<String, Vec<RemoteImage>>,
}

/// Lists the configured region, what it shares (when `shared_filter`), and each of `regions`,
/// concurrently.
pub async fn list(
    client: &Client,
    factory: &ClientFactory,
    regions: &BTreeSet<String>,
    shared_filter: bool,
) -> Result<Listed, CloudError> {
    let mut copies = JoinSet::new();
    for region in regions {
        let client = factory.client(region)?;
        let region = region.clone();
        copies.spawn(async move { (region, client.list_private_images().await) });
    }
    let shared = async {
        if !shared_filter {
            return Ok(None);
        }
        let shared = client.list_shared_by_project().await?;
        Ok(Some(shared.into_iter().map(|image| image.id).collect()))
    };
    let (images, shared) = tokio::try_join!(client.list_private_images(), shared)?;
    let mut listed = Listed {
        images,
        shared,
        regions: BTreeMap::new(),
    };
    while let Some(read) = copies.join_next().await {
        let (region, images) = read.map_err(|error| CloudError::Config(error.to_string()))?;
        listed.regions.insert(region, images?);
    }
    Ok(listed)
}

/// Reads the members of each of `images` that `wanted` picks, into its `members`; returns how
/// many lists were read.
pub async fn read_members(
    client: &Client,
    images: &mut [RemoteImage],
    wanted: impl Fn(&RemoteImage) -> bool,
) -> Result<usize, CloudError> {
    let ids: Vec<String> = images
        .iter()
        .filter(|image| wanted(image))
        .map(|image| image.id.clone())
        .collect();
    let read: BTreeMap<String, _> = stream::iter(ids)
        .map(|id| async move {
            let members = CloudApi::members(client, &id).await?;
            Ok::<_, CloudError>((id, members))
        })
        .buffer_unordered(MEMBER_READS)
        .try_collect()
        .await?;
    for image in images.iter_mut() {
        if let Some(members) = read.get(&image.id) {
            image.members = Some(members.clone());
        }
    }
    Ok(read.len())
}

/// What a read by id finds of each of `ids` (those the private lists did not show), for
/// [`super::ImportFacts::foreign`]; ids IMS does not show are left out.
pub async fn read_foreign(
    client: &Client,
    ids: &[String],
) -> Result<BTreeMap<String, Foreign>, CloudError> {
    let found: Vec<Option<(String, Foreign)>> = stream::iter(ids)
        .map(|id| async move {
            let ownership = client.ownership(id).await?;
            Ok::<_, CloudError>(ownership.map(|o| {
                let foreign = Foreign {
                    owner: o.owner,
                    image_type: o.image_type,
                };
                (id.clone(), foreign)
            }))
        })
        .buffer_unordered(MEMBER_READS)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}
