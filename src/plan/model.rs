//! The vocabulary every kind's plan types share: the options that shape a plan, what happens to
//! an instance ([`Action`]) and why ([`Reason`]), field-level changes, moves. The bottom of
//! `plan/`: it imports no sibling. Data only; no diffing here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::model::{Address, Field, ReplaceOrder};

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

/// Counts for `Plan: X to add, Y to change, Z to destroy.` (with `N to import, ` first when
/// the plan imports any).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub import: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
