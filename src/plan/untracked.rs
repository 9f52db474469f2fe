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
}

/// What the plan does with an untracked image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UntrackedAction {
    /// Only reported: imsform never acts on it unless asked.
    Report,
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
    let mut adopted = BTreeMap::new();
    if options.adopt_untracked && mode == PlanMode::Normal {
        adopted = adoptions(desired, view, records, selection);
    }
    let delete = options.delete_untracked && mode != PlanMode::RefreshOnly;
    view.untracked
        .values()
        .map(|image| {
            let action = match adopted.remove(&image.id) {
                Some((address, record)) => {
                    records.insert(address.clone(), record.clone());
                    UntrackedAction::Adopt {
                        address,
                        record: Box::new(record),
                    }
                }
                None if delete => UntrackedAction::Delete,
                None => UntrackedAction::Report,
            };
            Untracked {
                image_id: image.id.clone(),
                name: image.name.clone(),
                status: image.status.as_str().to_owned(),
                token: image.tags.get(TOKEN_TAG).cloned().unwrap_or_default(),
                action,
            }
        })
        .collect()
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
        adopted.insert(image.id.clone(), (address.clone(), record(spec, image)));
    }
    adopted
}

/// Whether `image` can be the image of `spec`: active, and the name and the create-time fields
/// the cloud reports are the manifest's.
fn matches(spec: &ImageSpec, image: &RemoteImage) -> bool {
    let attrs = &spec.attrs;
    image.status == ImageStatus::Active
        && image.name == attrs.name
        && image.os_version.as_deref() == Some(attrs.os_version.as_str())
        && image.min_disk == attrs.min_disk
}

/// The record of an adopted image: the manifest's create-time fields (the cloud does not report
/// `image_url`; the name, OS and disk size matched), the cloud's values of the others, so that
/// the diff updates what differs.
fn record(spec: &ImageSpec, image: &RemoteImage) -> ImageRecord {
    ImageRecord {
        id: image.id.clone(),
        attributes: refreshed(&spec.attrs, image, &BTreeSet::new()),
        observed: Some(observed(image)),
        tainted: None,
    }
}
