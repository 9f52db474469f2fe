//! The image kind's plan types (design.md section 11): an image's change, its drift and the
//! recovery of its journal entries. Data only, plus the cloud calls an update needs; the
//! decisions are in `engine.rs`, `drift.rs` and `recovery.rs`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::model::{Action, FieldChange, Reason};
use crate::cloud::AttrUpdate;
use crate::manifest::model::{Address, Field, ImageAttrs};
use crate::state::{PendingOperation, Taint};

/// One image's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageChange {
    pub address: Address,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The image id the change starts from (`None` for creates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_id: Option<String>,
    /// The image's attributes now: the state's record, with the refreshed values of the fields
    /// that can drift. `None` for creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<ImageAttrs>,
    /// The image's status as refresh saw it (or the state last observed), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_status: Option<String>,
    /// The attributes after apply. `None` for destroys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ImageAttrs>,
    /// The fields that differ between `before` and `after` (empty for create, destroy, no-op).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_changes: Vec<FieldChange>,
    /// The address this one was moved from, when a `moved` entry renamed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<Address>,
    /// For [`Reason::ReplaceBecauseTainted`]: the taint as recorded (e.g. the registration
    /// job's error code and message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taint: Option<Taint>,
    /// Each member's answer to the share (consumer project id to `pending`, `accepted` or
    /// `rejected`) as refresh read it; empty when the image shares with nobody or the members
    /// were not read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub member_status: BTreeMap<String, String>,
    /// The image an `import` entry brings under this address (issue 21): the change's
    /// `before` is the image as read from the cloud, and applying records it in the state
    /// before any update of the manifest's own runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importing: Option<String>,
}

/// An image of the state before the plan: its record at its address (after the journal's
/// recovery and the `moved` renames), with the values refresh read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInstance {
    pub address: Address,
    pub id: String,
    pub attrs: ImageAttrs,
    /// As refreshed, else as last observed; `None` when never observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The state marks the image tainted (the plan replaces it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
}

/// An image as the manifests configure it: every attribute's value, defaults and variables
/// applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub address: Address,
    pub attrs: ImageAttrs,
}

/// An object changed outside imsform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDrift {
    pub address: Address,
    pub image_id: String,
    /// The state's record.
    pub before: ImageAttrs,
    /// The record with the refreshed values; `None` when the image is gone.
    pub after: Option<ImageAttrs>,
    /// The fields that differ (empty when the image is gone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_changes: Vec<FieldChange>,
    /// The status before and after, when it changed to one that matters (`killed`, `deleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusChange>,
}

impl ImageDrift {
    /// Whether the image no longer exists.
    pub fn deleted(&self) -> bool {
        self.after.is_none()
    }
}

/// A status change seen by refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub before: String,
    pub after: String,
}

/// What the recovery of one pending journal entry will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecovery {
    pub address: Address,
    /// The journal entry, as written.
    pub operation: PendingOperation,
    pub action: RecoveryAction,
}

/// The outcome of recovering one pending entry (design.md section 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecoveryAction {
    /// No refresh: the token or the image is looked up when applying.
    LookUp,
    /// One image carries the create's token: adopt it, then continue with `then`.
    Adopt {
        image_id: String,
        then: Box<RecoveryAction>,
    },
    /// No image carries the token: the create never reached IMS; drop the entry.
    Drop,
    /// The image is `queued`: register the image file again.
    ResumeRegister { image_id: String },
    /// The image is `saving`: wait for the registration to finish.
    Wait { image_id: String },
    /// The image is `active`: record it at the address.
    Done { image_id: String },
    /// The image is `killed`: record it tainted (the plan replaces it).
    Taint { image_id: String },
    /// The new half of a replace was killed: delete it, keep the old image at the address.
    DiscardFailedReplacement { image_id: String },
    /// The create's image is gone: drop the entry.
    Vanished { image_id: String },
    /// Delete the image (e.g. the old half of a replace).
    Delete { image_id: String },
    /// The image to delete is already gone: drop the entry.
    AlreadyDeleted { image_id: String },
    /// Several images carry the token (should never happen): refuse to guess.
    Ambiguous { image_ids: Vec<String> },
    /// A sharing change was interrupted: record the members refresh read (`None` without a
    /// refresh: the record stands) and drop the entry; what is still missing is the plan's
    /// own update, diffed from those members.
    Replan {
        image_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members: Option<BTreeSet<String>>,
    },
}

impl ImageChange {
    /// The `PATCH` operations an update needs (name, min_ram, description), in field order.
    pub fn attr_updates(&self) -> Vec<AttrUpdate> {
        let Some(after) = &self.after else {
            return Vec::new();
        };
        let changed = |field| self.field_changes.iter().any(|c| c.field == field);
        let mut updates = Vec::new();
        if changed(Field::Name) {
            updates.push(AttrUpdate::Name(after.name.clone()));
        }
        if changed(Field::MinRam) {
            updates.push(AttrUpdate::MinRam(after.min_ram));
        }
        if changed(Field::Description) {
            updates.push(AttrUpdate::Description(after.description.clone()));
        }
        updates
    }

    /// The tags to add or overwrite and the keys to remove: only those that differ.
    pub fn tag_updates(&self) -> (BTreeMap<String, String>, Vec<String>) {
        let mut set = BTreeMap::new();
        let mut remove = Vec::new();
        for change in self.field_changes.iter().filter(|c| c.field == Field::Tags) {
            for tag in &change.tags {
                match &tag.after {
                    Some(value) => {
                        set.insert(tag.key.clone(), value.clone());
                    }
                    None => remove.push(tag.key.clone()),
                }
            }
        }
        (set, remove)
    }

    /// Whether the change forces replacement because of `field`.
    pub fn forces(&self, field: Field) -> bool {
        self.field_changes
            .iter()
            .any(|c| c.field == field && c.forces_replacement)
    }
}
