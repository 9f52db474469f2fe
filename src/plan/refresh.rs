//! Refresh: read what the cloud holds for the state's images in a handful of requests. One
//! `list_private_images` (the client walks every page), plus one `find_by_tag` per pending create
//! that has no image id yet, plus one member list per image that shares (its manifest or its
//! record names members, or a member change of it is in the journal), read concurrently under
//! the client's rate limit. Never one request per image. Reads only; the plan stays pure.
//!
//! The list is read even without a state (a first plan): so that wrong credentials, region,
//! project or endpoint fail the plan rather than the apply, and so that planned creates can be
//! checked against the names of images that imsform does not manage. Of those, only the ones
//! named like an image of the manifests are kept: memory follows the images handled, not the
//! project's total.
//! The same list finds the untracked images: those carrying a token of this state's lineage
//! (design.md section 6) that neither the records nor the journal know.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;

use crate::cloud::{CloudApi, CloudError, ImageStatus, RemoteImage};
use crate::manifest::model::{Manifests, TOKEN_TAG};
use crate::state::{PendingOperation, State, is_token_of};

/// What refresh saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteView {
    /// The listed images the state refers to (records and journal entries), by id. An id of the
    /// state missing here was not found in the cloud.
    pub images: BTreeMap<String, RemoteImage>,
    /// For pending creates without an image id: the images carrying the create's token, by
    /// token (an empty list: none).
    pub by_token: BTreeMap<String, Vec<RemoteImage>>,
    /// The listed images the state does not refer to (deleted ones left out) whose name is one
    /// the manifests ask for: their ids by name.
    pub unmanaged_names: BTreeMap<String, Vec<String>>,
    /// Images carrying a token of this state's lineage that neither the state's records nor
    /// its journal know, by id.
    pub untracked: BTreeMap<String, RemoteImage>,
    /// Per replica region read (`replica_refresh.rs`): the images the state's replicas and
    /// replica journal name, and the copies of this region's images a lost copy may be, by id.
    pub regions: BTreeMap<String, BTreeMap<String, RemoteImage>>,
    /// Copies in replica regions carrying a token of this state's lineage that neither the
    /// replica records nor the journal know, with their region, by region and id.
    pub untracked_copies: Vec<(String, RemoteImage)>,
}

impl RemoteView {
    /// The image with `id` as refresh saw it, listed, found by its token, or untracked.
    pub fn image(&self, id: &str) -> Option<&RemoteImage> {
        self.images
            .get(id)
            .or_else(|| self.by_token.values().flatten().find(|i| i.id == id))
            .or_else(|| self.untracked.get(id))
    }

    /// The image `id` of replica region `region` as refresh saw it; `None` when the region
    /// was read and the image is not there (a region not read counts as read and empty).
    pub fn replica(&self, region: &str, id: &str) -> Option<&RemoteImage> {
        self.regions.get(region).and_then(|images| images.get(id))
    }
}

/// Reads the cloud for `state` (`None`: no state yet; the list is read all the same), keeping
/// the unmanaged images named like an image of `desired`.
pub async fn refresh(
    cloud: &impl CloudApi,
    state: Option<&State>,
    desired: &Manifests,
) -> Result<RemoteView, CloudError> {
    refresh_importing(cloud, state, desired, &BTreeSet::new()).await
}

/// [`refresh`], also keeping the images of `imports` (ids `import` entries still have to bring
/// under an address, issue 21) in `images`, with their members.
pub async fn refresh_importing(
    cloud: &impl CloudApi,
    state: Option<&State>,
    desired: &Manifests,
    imports: &BTreeSet<&str>,
) -> Result<RemoteView, CloudError> {
    let names: BTreeSet<&str> = desired
        .images
        .values()
        .map(|s| s.attrs.name.as_str())
        .collect();
    let (wanted, tokens) = state.map(wanted).unwrap_or_default();
    let mut view = RemoteView::default();
    for image in cloud.list_private_images().await? {
        if wanted.contains(image.id.as_str()) || imports.contains(image.id.as_str()) {
            view.images.insert(image.id.clone(), image);
        } else if state.is_some_and(|state| untracked(state, &tokens, &image)) {
            // Reported in its own section, not as a name to collide with.
            view.untracked.insert(image.id.clone(), image);
        } else if image.status != ImageStatus::Deleted && names.contains(image.name.as_str()) {
            view.unmanaged_names
                .entry(image.name)
                .or_default()
                .push(image.id);
        }
    }
    for ids in view.unmanaged_names.values_mut() {
        ids.sort();
    }
    for token in tokens {
        let found = cloud.find_by_tag(TOKEN_TAG, token).await?;
        view.by_token.insert(token.to_owned(), found);
    }
    let mut shared = state.map(|s| sharing(s, desired)).unwrap_or_default();
    shared.extend(imports);
    if !shared.is_empty() {
        read_members(cloud, &shared, &mut view).await?;
    }
    Ok(view)
}

/// The ids of the state's images whose members the plan needs: those whose record or manifest
/// names members, and those with a member change in the journal.
fn sharing<'s>(state: &'s State, desired: &Manifests) -> BTreeSet<&'s str> {
    let shares = |address| {
        desired
            .images
            .get(address)
            .is_some_and(|spec| !spec.attrs.share_with.is_empty())
    };
    let recorded = state
        .images
        .iter()
        .filter(|(address, record)| !record.attributes.share_with.is_empty() || shares(*address))
        .map(|(_, record)| record.id.as_str());
    let pending = state
        .pending
        .iter()
        .filter_map(|entry| match &entry.operation {
            PendingOperation::Members { image_id, .. } => Some(image_id.as_str()),
            _ => None,
        });
    recorded.chain(pending).collect()
}

/// Reads the members of each of `ids` that refresh found, concurrently, into the view.
async fn read_members(
    cloud: &impl CloudApi,
    ids: &BTreeSet<&str>,
    view: &mut RemoteView,
) -> Result<(), CloudError> {
    let listed = ids.iter().filter(|id| {
        view.images
            .get(**id)
            .is_some_and(|image| image.status != ImageStatus::Deleted)
    });
    let reads =
        listed.map(|id| async move { Ok::<_, CloudError>((*id, cloud.members(id).await?)) });
    for (id, members) in try_join_all(reads).await? {
        if let Some(image) = view.images.get_mut(id) {
            image.members = Some(members);
        }
    }
    Ok(())
}

/// The image ids the state refers to, and the tokens of pending creates without an id.
fn wanted(state: &State) -> (BTreeSet<&str>, Vec<&str>) {
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
            PendingOperation::Delete { image_id } | PendingOperation::Members { image_id, .. } => {
                wanted.insert(image_id);
            }
            // Read in their own regions (`replicas.rs`).
            PendingOperation::Copy { .. } | PendingOperation::DeleteReplica { .. } => {}
        }
    }
    (wanted, tokens)
}

/// Whether `image` (not named by the state) carries a token of the state's lineage that no
/// pending create holds.
pub(super) fn untracked(state: &State, pending_tokens: &[&str], image: &RemoteImage) -> bool {
    image.status != ImageStatus::Deleted
        && image.tags.get(TOKEN_TAG).is_some_and(|token| {
            is_token_of(&state.lineage, token) && !pending_tokens.contains(&token.as_str())
        })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::cloud::{AttrUpdate, CreateImage, ImageStatus, Job, JobReport, MemberStatus};
    use crate::plan::fixtures::*;
    use crate::state::PendingOperation;

    /// A cloud holding `images`, counting the requests refresh makes.
    #[derive(Default)]
    struct CountingCloud {
        images: Vec<RemoteImage>,
        lists: AtomicUsize,
        tag_lookups: AtomicUsize,
        /// Members by image id.
        members: BTreeMap<String, Vec<String>>,
        member_lists: AtomicUsize,
    }

    fn unused<T>() -> Result<T, CloudError> {
        Err(CloudError::Config("refresh must not call this".into()))
    }

    impl CloudApi for CountingCloud {
        async fn list_private_images(&self) -> Result<Vec<RemoteImage>, CloudError> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            Ok(self.images.clone())
        }
        async fn find_by_tag(
            &self,
            key: &str,
            value: &str,
        ) -> Result<Vec<RemoteImage>, CloudError> {
            self.tag_lookups.fetch_add(1, Ordering::SeqCst);
            let hit = |i: &&RemoteImage| i.tags.get(key).map(String::as_str) == Some(value);
            Ok(self.images.iter().filter(hit).cloned().collect())
        }
        async fn get_image(&self, _: &str) -> Result<Option<RemoteImage>, CloudError> {
            unused()
        }
        async fn create_metadata(&self, _: &CreateImage) -> Result<RemoteImage, CloudError> {
            unused()
        }
        async fn register(&self, _: &str, _: &str) -> Result<String, CloudError> {
            unused()
        }
        async fn job(&self, _: &str) -> Result<Job, CloudError> {
            unused()
        }
        async fn update(&self, _: &str, _: &[AttrUpdate]) -> Result<RemoteImage, CloudError> {
            unused()
        }
        async fn update_tags(
            &self,
            _: &str,
            _: &BTreeMap<String, String>,
            _: &[String],
        ) -> Result<(), CloudError> {
            unused()
        }
        async fn delete(&self, _: &str) -> Result<(), CloudError> {
            unused()
        }
        async fn members(
            &self,
            image_id: &str,
        ) -> Result<BTreeMap<String, MemberStatus>, CloudError> {
            self.member_lists.fetch_add(1, Ordering::SeqCst);
            let shared = self.members.get(image_id).cloned().unwrap_or_default();
            Ok(shared
                .into_iter()
                .map(|member_id| (member_id, MemberStatus::Accepted))
                .collect())
        }
        async fn add_members(&self, _: &str, _: &[String]) -> Result<String, CloudError> {
            unused()
        }
        async fn remove_members(&self, _: &str, _: &[String]) -> Result<String, CloudError> {
            unused()
        }
        async fn job_report(&self, _: &str) -> Result<JobReport, CloudError> {
            unused()
        }
    }

    fn cloud_with(count: usize) -> CountingCloud {
        let images = (0..count)
            .map(|i| {
                remote(
                    &format!("img-{i}"),
                    &attrs(&format!("k{i}")),
                    ImageStatus::Active,
                )
            })
            .collect();
        CountingCloud {
            images,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn one_list_for_any_number_of_images_and_only_what_the_state_names() {
        let cloud = cloud_with(500);
        let state = state((0..300).map(|i| {
            let key: &'static str = Box::leak(format!("k{i}").into_boxed_str());
            (key, record(&format!("img-{i}"), attrs(key)))
        }));
        let desired = manifests((0..500).map(|i| spec(&format!("k{i}"), attrs(&format!("k{i}")))));
        let view = refresh(&cloud, Some(&state), &desired).await.unwrap();
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 1);
        assert_eq!(cloud.tag_lookups.load(Ordering::SeqCst), 0);
        assert_eq!(view.images.len(), 300);
        assert_eq!(view.unmanaged_names.len(), 200);
        assert!(view.images.contains_key("img-299") && !view.images.contains_key("img-300"));
    }

    #[tokio::test]
    async fn members_are_read_once_per_sharing_image_and_never_for_the_others() {
        let mut cloud = cloud_with(4);
        cloud.members = BTreeMap::from([("img-1".to_owned(), vec!["p-outside".to_owned()])]);
        let mut shared = attrs("k0");
        shared.share_with = BTreeSet::from(["p0".to_owned()]);
        let mut state = state([
            ("k0", record("img-0", shared)),
            ("k1", record("img-1", attrs("k1"))),
            ("k2", record("img-2", attrs("k2"))),
            ("k3", record("img-3", attrs("k3"))),
        ]);
        state.pending = vec![pending(
            "k3",
            PendingOperation::Members {
                image_id: "img-3".into(),
                add: vec!["p3".into()],
                remove: Vec::new(),
            },
        )];
        let mut wanted = attrs("k1");
        wanted.share_with = BTreeSet::from(["p1".to_owned()]);
        let desired = manifests([spec("k1", wanted), spec("k2", attrs("k2"))]);
        let view = refresh(&cloud, Some(&state), &desired).await.unwrap();
        // k0 (its record shares), k1 (its manifest shares), k3 (a change in flight); not k2.
        assert_eq!(cloud.member_lists.load(Ordering::SeqCst), 3);
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 1);
        let members = |id: &str| view.images[id].members.clone();
        assert_eq!(members("img-0"), Some(BTreeMap::new()));
        let outside = BTreeMap::from([("p-outside".to_owned(), MemberStatus::Accepted)]);
        assert_eq!(members("img-1"), Some(outside));
        assert_eq!(members("img-2"), None);
        assert_eq!(members("img-3"), Some(BTreeMap::new()));
    }

    #[tokio::test]
    async fn token_lookups_only_for_pending_creates_without_an_id() {
        let cloud = cloud_with(3);
        let mut state = state([("k0", record("img-0", attrs("k0")))]);
        state.pending = vec![
            pending_create("a", "tok-img-1", None),
            pending_create("b", "tok-none", None),
            pending_create("c", "tok-c", Some("img-2")),
            pending(
                "d",
                PendingOperation::Delete {
                    image_id: "img-gone".into(),
                },
            ),
        ];
        let view = refresh(&cloud, Some(&state), &manifests([])).await.unwrap();
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 1);
        assert_eq!(cloud.tag_lookups.load(Ordering::SeqCst), 2);
        assert_eq!(view.by_token["tok-img-1"].len(), 1);
        assert!(view.by_token["tok-none"].is_empty());
        let ids: Vec<_> = view.images.keys().map(String::as_str).collect();
        assert_eq!(ids, ["img-0", "img-2"]);
    }

    #[tokio::test]
    async fn without_state_the_list_is_read_once_and_names_the_manifests_use_are_kept() {
        let mut cloud = cloud_with(4);
        cloud.images[1].name = cloud.images[0].name.clone();
        cloud.images[2].status = ImageStatus::Deleted;
        let desired = manifests(["k0", "k2"].map(|k| spec(k, attrs(k))));
        let view = refresh(&cloud, None, &desired).await.unwrap();
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 1);
        assert!(view.images.is_empty());
        let names: Vec<_> = view.unmanaged_names.iter().collect();
        let name = &cloud.images[0].name;
        assert_eq!(
            names,
            [(name, &vec!["img-0".to_owned(), "img-1".to_owned()])],
            "deleted images, and names no manifest uses, are not kept"
        );
    }

    #[tokio::test]
    async fn untracked_images_are_those_of_this_lineage_that_nothing_in_the_state_knows() {
        let mine = |n: u32| format!("3f1c2a9e-01JDQ2W5R8C9A7Z3KXG4M6N{n:03}");
        let tagged = |id: &str, token: String, status: ImageStatus| {
            let mut image = remote(id, &attrs(id), status);
            image.tags.insert(TOKEN_TAG.into(), token);
            image
        };
        let mut state = state([("k0", record("img-0", attrs("k0")))]);
        state.pending = vec![pending_create("a", &mine(2), None)];
        let cloud = CountingCloud {
            images: vec![
                tagged("img-0", mine(0), ImageStatus::Active),
                tagged("orphan", mine(1), ImageStatus::Queued),
                // The pending create's image: the journal knows it.
                tagged("in-flight", mine(2), ImageStatus::Active),
                tagged("gone", mine(3), ImageStatus::Deleted),
                // Another state's token, the old 26-character shape, a hand-made value.
                tagged(
                    "other",
                    "aaaaaaaa-01JDQ2W5R8C9A7Z3KXG4M6N004".into(),
                    ImageStatus::Active,
                ),
                tagged(
                    "old",
                    "01JDQ2W5R8C9A7Z3KXG4M6N005".into(),
                    ImageStatus::Active,
                ),
                tagged("hand", "3f1c2a9e-mine".into(), ImageStatus::Active),
            ],
            ..Default::default()
        };
        let view = refresh(&cloud, Some(&state), &manifests([])).await.unwrap();
        let untracked: Vec<_> = view.untracked.keys().map(String::as_str).collect();
        assert_eq!(untracked, ["orphan"]);
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 1);
        // Listed even when the state names no image, to find them.
        let empty = CountingCloud::default();
        refresh(
            &empty,
            Some(&crate::plan::fixtures::state([])),
            &manifests([]),
        )
        .await
        .unwrap();
        assert_eq!(empty.lists.load(Ordering::SeqCst), 1);
    }
}
