//! The plan's replica types (design.md section 10): a replica is the child address
//! `images.<key>.replicas["REGION"]`, a copy of the image in another region. Its changes, its
//! drift and the recovery of its journal entries are instances of the one model
//! (`instance.rs`); data only, the decisions are in `replicas.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{Action, FieldChange, Reason};
use crate::manifest::model::{Address, InstanceAddress};

/// What a replica is made of, as planned or as last applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaAttrs {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The destination project's name.
    pub project: String,
    /// The source image copied; `None`: known after apply (its source is created first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

/// A replica of the state before the plan, with the name and description refresh read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaInstance {
    pub image: Address,
    pub region: String,
    pub id: String,
    pub attrs: ReplicaAttrs,
}

impl ReplicaInstance {
    pub fn address(&self) -> InstanceAddress {
        InstanceAddress::Replica {
            image: self.image.clone(),
            region: self.region.clone(),
        }
    }
}

/// An image's `replicas` as the manifests configure them: one entry per region, with the name
/// and description written there (`None`: the source image's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicasConfig {
    pub image: Address,
    pub regions: BTreeMap<String, ReplicaOverrides>,
}

/// What one `replicas` entry writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One replica's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaChange {
    /// The source image's address.
    pub image: Address,
    pub region: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The copy's image id in `region` the change starts from (`None` for creates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<ReplicaAttrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ReplicaAttrs>,
    /// `name` and `description` when they differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_changes: Vec<FieldChange>,
}

impl ReplicaChange {
    /// `images.<key>.replicas["REGION"]`.
    pub fn address(&self) -> InstanceAddress {
        InstanceAddress::Replica {
            image: self.image.clone(),
            region: self.region.clone(),
        }
    }
}

/// A replica changed outside imsform: deleted, renamed or re-described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaDrift {
    pub image: Address,
    pub region: String,
    pub image_id: String,
    /// The state's record.
    pub before: ReplicaAttrs,
    /// As refreshed; `None` when the copy is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ReplicaAttrs>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_changes: Vec<FieldChange>,
}

impl ReplicaDrift {
    pub fn address(&self) -> InstanceAddress {
        InstanceAddress::Replica {
            image: self.image.clone(),
            region: self.region.clone(),
        }
    }
}

/// What the recovery of one journaled replica operation will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaRecovery {
    pub image: Address,
    pub region: String,
    /// The journal entry, as written (a `copy` or a `delete_replica`).
    pub operation: crate::state::PendingOperation,
    pub action: ReplicaRecoveryAction,
}

impl ReplicaRecovery {
    pub fn address(&self) -> InstanceAddress {
        InstanceAddress::Replica {
            image: self.image.clone(),
            region: self.region.clone(),
        }
    }
}

/// The outcome of recovering a journaled copy or replica delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplicaRecoveryAction {
    /// The copy was found (by its id, or by origin, name and time): wait until it is active,
    /// tag it with the entry's token and record it. `others`: more copies matched, the oldest
    /// is adopted and these are reported, not tracked.
    Adopt {
        image_id: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        others: Vec<String>,
    },
    /// No copy was found: the request was not taken; drop the entry (the plan copies again).
    Drop,
    /// Finish deleting a replica's image.
    Delete { image_id: String },
    /// No refresh: looked up when applying.
    LookUp,
}
