//! The plan's types: what the engine produces, the renderers print, the saved-plan file holds and
//! the apply executor carries out. Data only, plus small derived views (counts, the cloud calls
//! an update needs); no diffing here.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::replica::{ReplicaChange, ReplicaDrift, ReplicaRecovery};
use super::untracked::Untracked;
use crate::cloud::AttrUpdate;
use crate::manifest::model::{Address, Field, ImageAttrs, ReplaceOrder};
use crate::state::{PendingOperation, Taint};

/// The options of `plan`/`apply` that shape the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--target`: globs matched against addresses (`web-*` means `images.web-*`); empty means
    /// every address. Targets and excludes narrow the changes and the drift; the recovery of the
    /// journal and `moved` entries always apply in full.
    pub targets: Vec<String>,
    /// `--exclude`: globs matched against addresses.
    pub excludes: Vec<String>,
    /// `--replace ADDR`.
    pub replace: Vec<Address>,
    /// `--destroy`: destroy every managed image (in the selection).
    pub destroy: bool,
    /// `--refresh-only`: accept drift into the state; no cloud changes.
    pub refresh_only: bool,
    /// `--adopt-untracked`: record an untracked image at the address of the manifests it
    /// matches, when that address has no image.
    pub adopt_untracked: bool,
    /// `--delete-untracked`: delete the untracked images not adopted.
    pub delete_untracked: bool,
}

impl PlanOptions {
    /// The kind of plan these options ask for.
    pub fn mode(&self) -> PlanMode {
        if self.refresh_only {
            PlanMode::RefreshOnly
        } else if self.destroy {
            PlanMode::Destroy
        } else {
            PlanMode::Normal
        }
    }
}

impl PlanOptions {
    /// The targeting in effect, `None` without `--target`/`--exclude`.
    pub fn targeting(&self) -> Option<Targeting> {
        (!self.targets.is_empty() || !self.excludes.is_empty()).then(|| Targeting {
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
        })
    }
}

/// What kind of plan this is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    #[default]
    Normal,
    Destroy,
    RefreshOnly,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub mode: PlanMode,
    /// The state's lineage and serial the plan was made from; `None` when there was no state.
    pub prior_state: Option<StateRef>,
    /// Whether the cloud was read (`--refresh=false` trusts the state).
    pub refreshed: bool,
    /// One entry per selected address, no-ops included, sorted by address.
    pub changes: Vec<ResourceChange>,
    /// Objects changed outside imsform, each listed once, sorted by address.
    pub drift: Vec<Drift>,
    /// What the recovery of the pending journal will do, in journal order.
    pub recovery: Vec<Recovery>,
    /// `moved` entries that rename a state address.
    pub moves: Vec<Move>,
    /// `--target`/`--exclude` in effect: the plan may not hold every change the manifests ask
    /// for (Terraform's "Resource targeting is in effect").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targeting: Option<Targeting>,
    /// Planned creates whose name an image that imsform does not manage already has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_collisions: Vec<NameCollision>,
    /// When the plan was made (RFC 3339); set by the command, not by the pure engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Images created by this state's imsform that the state does not track, by image id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untracked: Vec<Untracked>,
    /// The replicas' changes (`images.<key>.replicas["REGION"]`), no-ops included, sorted by
    /// address; carried out after (creates) or before (deletes) their images' changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaChange>,
    /// Replicas changed outside imsform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_drift: Vec<ReplicaDrift>,
    /// What the recovery of the journal's copies and replica deletes will do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_recovery: Vec<ReplicaRecovery>,
}

impl Plan {
    /// Every region the plan's replicas are in.
    pub fn replica_regions(&self) -> std::collections::BTreeSet<String> {
        let changes = self.replicas.iter().map(|c| c.region.clone());
        let recovery = self.replica_recovery.iter().map(|r| r.region.clone());
        changes.chain(recovery).collect()
    }

    /// Every consumer project the plan's images are shared with before or after it.
    pub fn member_projects(&self) -> std::collections::BTreeSet<String> {
        let attrs = self
            .changes
            .iter()
            .flat_map(|c| c.before.iter().chain(c.after.iter()));
        attrs.flat_map(|a| a.share_with.iter().cloned()).collect()
    }
}

/// The `--target`/`--exclude` patterns a plan was narrowed with, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targeting {
    pub targets: Vec<String>,
    pub excludes: Vec<String>,
}

/// A planned create named like an image the project already holds outside the state: IMS
/// allows it, but it is usually an image to adopt (`imsform import`) rather than to duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCollision {
    pub address: Address,
    pub name: String,
    /// The ids of the unmanaged images of that name, sorted.
    pub image_ids: Vec<String>,
}

/// The state a plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    pub lineage: String,
    pub serial: u64,
}

/// A renamed state address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub from: Address,
    pub to: Address,
}

/// One address's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
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
}

/// What happens to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace { order: ReplaceOrder },
    Delete,
}

/// Why an action was chosen (Terraform's `action_reason` where one applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The image was deleted outside imsform; the plan creates it again.
    RecreateBecauseDeletedOutside,
    /// A field that only a new image can take changed.
    ReplaceBecauseCannotUpdate,
    /// The state marks the image tainted (e.g. its registration failed).
    ReplaceBecauseTainted,
    /// The cloud reports the image `killed`.
    ReplaceBecauseKilled,
    /// `--replace ADDR`.
    ReplaceByRequest,
    /// The address is in the state but no longer in the manifests.
    DeleteBecauseNoResourceConfig,
    /// `--destroy`.
    DeleteByRequest,
    /// A replica's source image is replaced (or its recorded source is not the current one).
    ReplaceBecauseSourceReplaced,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::RecreateBecauseDeletedOutside => "recreate_because_deleted_outside",
            Reason::ReplaceBecauseCannotUpdate => "replace_because_cannot_update",
            Reason::ReplaceBecauseTainted => "replace_because_tainted",
            Reason::ReplaceBecauseKilled => "replace_because_killed",
            Reason::ReplaceByRequest => "replace_by_request",
            Reason::DeleteBecauseNoResourceConfig => "delete_because_no_resource_config",
            Reason::DeleteByRequest => "delete_by_request",
            Reason::ReplaceBecauseSourceReplaced => "replace_because_source_replaced",
        }
    }

    /// The reason named `text` by [`Reason::as_str`].
    pub fn parse(text: &str) -> Option<Reason> {
        [
            Reason::RecreateBecauseDeletedOutside,
            Reason::ReplaceBecauseCannotUpdate,
            Reason::ReplaceBecauseTainted,
            Reason::ReplaceBecauseKilled,
            Reason::ReplaceByRequest,
            Reason::DeleteBecauseNoResourceConfig,
            Reason::DeleteByRequest,
            Reason::ReplaceBecauseSourceReplaced,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == text)
    }

    /// A sentence for human readers.
    pub fn explain(self) -> &'static str {
        match self {
            Reason::RecreateBecauseDeletedOutside => "the image was deleted outside imsform",
            Reason::ReplaceBecauseCannotUpdate => "a field that forces replacement changed",
            Reason::ReplaceBecauseTainted => "the image is tainted",
            Reason::ReplaceBecauseKilled => "the cloud reports the image as killed",
            Reason::ReplaceByRequest => "of the --replace option",
            Reason::DeleteBecauseNoResourceConfig => "the image is no longer in the manifests",
            Reason::DeleteByRequest => "of the --destroy option",
            Reason::ReplaceBecauseSourceReplaced => "its source image is replaced",
        }
    }
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: Field,
    pub before: Value,
    pub after: Value,
    /// The field is one only a new image can take.
    pub forces_replacement: bool,
    /// For `tags`: the keys added, removed or changed, by key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagChange>,
}

/// One tag key that differs. `before: None` means added, `after: None` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An object changed outside imsform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
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

impl Drift {
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
pub struct Recovery {
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

impl ResourceChange {
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
