//! Untracked images (design.md section 6): images that carry a token of this state's lineage
//! but that neither the records nor the journal know. The plan reports them in their own
//! section and acts on them only when asked: `--adopt-untracked` records one at the address of
//! the manifests it matches when that address has no image; `--delete-untracked` deletes the
//! rest. Never silently. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::drift::{observed, refreshed};
use super::model::{PlanMode, PlanOptions};
use super::refresh::RemoteView;
use super::select::Selection;
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::{Address, ImageSpec, Manifests, TOKEN_TAG};
use crate::state::ImageRecord;

/// An image carrying a token of this state's lineage that neither the records nor the journal
/// know (design.md section 6): a create whose answer was lost and carried out after the settle
/// wait, or an image forgotten by `state rm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Untracked {
    pub image_id: String,
    pub name: String,
    pub status: String,
    /// The value of its `imsform-token` tag.
    pub token: String,
    pub action: UntrackedAction,
    /// The region of a copy (a replica's image) found in a replica region; `None`: the
    /// configured region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// What the plan does with an untracked image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UntrackedAction {
    /// Only reported: imsform never acts on it unless asked. `matches`: the address of the
    /// manifests `--adopt-untracked` would adopt it at (one without an image).
    Report {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matches: Option<Address>,
    },
    /// `--adopt-untracked`: record it at `address` (the record as the plan diffed it).
    Adopt {
        address: Address,
        record: Box<ImageRecord>,
    },
    /// `--delete-untracked`: delete it and wait until it is gone.
    Delete,
}

/// Decides what happens to each untracked image of `remote`, and records the adopted ones in
/// `records` (so that the diff sees them as the state will be).
pub(super) fn decide(
    desired: &Manifests,
    remote: Option<&RemoteView>,
    records: &mut BTreeMap<Address, ImageRecord>,
    selection: &Selection,
    options: &PlanOptions,
) -> Vec<Untracked> {
    let Some(view) = remote else {
        return Vec::new();
    };
    let mode = options.mode();
    // Worked out in every normal plan: a reported image names the address it matches.
    let mut adoptable = BTreeMap::new();
    if mode == PlanMode::Normal {
        adoptable = adoptions(desired, view, records, selection);
    }
    let delete = options.delete_untracked && mode != PlanMode::RefreshOnly;
    let mut decided: Vec<Untracked> = view
        .untracked
        .values()
        .map(|image| {
            let action = match adoptable.remove(&image.id) {
                Some((address, record)) if options.adopt_untracked => {
                    records.insert(address.clone(), record.clone());
                    UntrackedAction::Adopt {
                        address,
                        record: Box::new(record),
                    }
                }
                _ if delete => UntrackedAction::Delete,
                found => UntrackedAction::Report {
                    matches: found.map(|(address, _)| address),
                },
            };
            untracked(image, action, None)
        })
        .collect();
    // Copies in replica regions are never adopted: a replica is made by a copy, and the plan
    // copies again where one is missing.
    let copies = view.untracked_copies.iter().map(|(region, image)| {
        let action = if delete {
            UntrackedAction::Delete
        } else {
            UntrackedAction::Report { matches: None }
        };
        untracked(image, action, Some(region.clone()))
    });
    decided.extend(copies);
    decided
}

fn untracked(image: &RemoteImage, action: UntrackedAction, region: Option<String>) -> Untracked {
    Untracked {
        image_id: image.id.clone(),
        name: image.name.clone(),
        status: image.status.as_str().to_owned(),
        token: image.tags.get(TOKEN_TAG).cloned().unwrap_or_default(),
        action,
        region,
    }
}

/// The adoptions, by image id: an address of the manifests (selected, without an image) and
/// the one active untracked image that matches it.
fn adoptions(
    desired: &Manifests,
    view: &RemoteView,
    records: &BTreeMap<Address, ImageRecord>,
    selection: &Selection,
) -> BTreeMap<String, (Address, ImageRecord)> {
    let mut adopted = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for (address, spec) in &desired.images {
        if records.contains_key(address) || !selection.includes(address) {
            continue;
        }
        let mut candidates = view.untracked.values().filter(|image| matches(spec, image));
        let (Some(image), None) = (candidates.next(), candidates.next()) else {
            // None, or several: imsform does not guess; they stay reported.
            continue;
        };
        if !taken.insert(image.id.clone()) {
            continue;
        }
        adopted.insert(
            image.id.clone(),
            (address.clone(), adopted_record(spec, image)),
        );
    }
    adopted
}

/// Whether `image` can be the image of `spec`: active, and the name and the create-time fields
/// the cloud reports (the file too, where IMS reports it) are the manifest's.
fn matches(spec: &ImageSpec, image: &RemoteImage) -> bool {
    let attrs = &spec.attrs;
    image.status == ImageStatus::Active
        && image.name == attrs.name
        && image.os_version.as_deref() == Some(attrs.os_version.as_str())
        && image.min_disk == attrs.min_disk
        && image
            .image_url
            .as_ref()
            .is_none_or(|url| *url == attrs.image_url)
}

/// The record of an adopted image: the manifest's create-time fields (the name, OS and disk
/// size matched, and the file where IMS reports it), the cloud's values of the others, so that
/// the diff updates what differs.
fn adopted_record(spec: &ImageSpec, image: &RemoteImage) -> ImageRecord {
    ImageRecord {
        id: image.id.clone(),
        attributes: refreshed(&spec.attrs, image, &BTreeSet::new()),
        observed: Some(observed(image)),
        tainted: None,
        replicas: std::collections::BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::*;
    use crate::plan::{Action, PlanOptions, plan};

    /// A cloud holding the state's images plus these untracked ones.
    fn view_with(state: &crate::state::State, untracked: &[RemoteImage]) -> RemoteView {
        let mut view = view_of(state);
        for image in untracked {
            view.untracked.insert(image.id.clone(), image.clone());
        }
        view
    }

    fn decided(plan: &crate::plan::Plan) -> Vec<(&str, &UntrackedAction)> {
        plan.untracked
            .iter()
            .map(|u| (u.image_id.as_str(), &u.action))
            .collect()
    }

    #[test]
    fn untracked_images_are_reported_and_acted_on_only_when_asked() {
        let state = state([("kept", record("img-k", attrs("kept")))]);
        let orphan = remote("orphan", &attrs("web"), ImageStatus::Active);
        let view = view_with(&state, &[orphan]);
        let desired = manifests([spec("kept", attrs("kept")), spec("web", attrs("web"))]);
        let asked = |adopt, delete| PlanOptions {
            adopt_untracked: adopt,
            delete_untracked: delete,
            ..PlanOptions::default()
        };

        let plain = plan(&desired, Some(&state), Some(&view), &asked(false, false)).unwrap();
        let matches = Some(addr("web"));
        assert_eq!(
            decided(&plain),
            [("orphan", &UntrackedAction::Report { matches })]
        );
        assert_eq!(plain.counts().destroy, 0);
        // Left alone: the address without an image gets a new one, the untracked stays.
        assert!(
            plain
                .image_changes()
                .iter()
                .any(|c| c.action == Action::Create)
        );

        let adopt = plan(&desired, Some(&state), Some(&view), &asked(true, true)).unwrap();
        let [
            (
                id,
                UntrackedAction::Adopt {
                    address,
                    record: kept,
                },
            ),
        ] = decided(&adopt)[..]
        else {
            panic!("{:?}", adopt.untracked)
        };
        assert_eq!((id, address.as_str()), ("orphan", "images.web"));
        assert_eq!(kept.id, "orphan");
        // The adopted image is what the diff starts from: nothing to create.
        assert!(
            adopt
                .image_changes()
                .iter()
                .all(|c| c.action == Action::NoOp)
        );
        assert_eq!(adopt.counts().add, 0);

        let delete = plan(&desired, Some(&state), Some(&view), &asked(false, true)).unwrap();
        assert_eq!(decided(&delete), [("orphan", &UntrackedAction::Delete)]);
        assert_eq!(delete.counts().destroy, 1);
        assert!(delete.destroys_anything() && delete.changes_images());
    }

    #[test]
    fn adoption_never_guesses() {
        let state = state([]);
        let desired = manifests([spec("web", attrs("web"))]);
        let options = PlanOptions {
            adopt_untracked: true,
            ..PlanOptions::default()
        };
        let adopted = |untracked: &[RemoteImage]| {
            let view = view_with(&state, untracked);
            let plan = plan(&desired, Some(&state), Some(&view), &options).unwrap();
            plan.untracked
                .iter()
                .filter(|u| matches!(u.action, UntrackedAction::Adopt { .. }))
                .count()
        };
        let active = remote("a", &attrs("web"), ImageStatus::Active);
        assert_eq!(adopted(std::slice::from_ref(&active)), 1);
        // Two candidates for one address: neither.
        let twin = remote("b", &attrs("web"), ImageStatus::Active);
        assert_eq!(adopted(&[active.clone(), twin]), 0);
        // Not active (a create whose registration never ran): only deletable.
        assert_eq!(
            adopted(&[remote("q", &attrs("web"), ImageStatus::Queued)]),
            0
        );
        // Another OS or disk size than the manifest's: not this address's image.
        let mut other = active.clone();
        other.min_disk += 10;
        assert_eq!(adopted(&[other]), 0);
        // A destroy plan adopts nothing.
        let destroy = PlanOptions {
            destroy: true,
            ..options.clone()
        };
        let view = view_with(&state, &[active]);
        let plan = plan(&desired, Some(&state), Some(&view), &destroy).unwrap();
        let left = UntrackedAction::Report { matches: None };
        assert_eq!(decided(&plan), [("a", &left)]);
    }
}
