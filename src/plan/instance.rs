//! The one resource model (design.md section 11): every object imsform manages is a resource
//! instance with a typed address ([`InstanceAddress`]), a kind and that kind's attributes. The
//! [`Plan`] holds one list of instance changes (no-ops included), one of drift and one of
//! recovery, across every kind; counts, targeting, renderings, saved plans and the executor
//! iterate those lists.
//!
//! What differs per kind sits in the kind's own types ([`ImageChange`] in `image.rs`,
//! [`ReplicaChange`] in `replica.rs`): the enums below only list the kinds and answer the
//! questions every layer asks of any instance (its address, its action, its reason, the id it
//! starts from). Adding a kind adds one variant to each enum here and one module per layer
//! (plan, render, apply); no list is threaded through the layers.

use serde::{Deserialize, Serialize};

use super::image::{ImageChange, ImageConfig, ImageDrift, ImageInstance, ImageRecovery};
use super::model::Counts;
use super::model::{
    Action, FieldChange, Move, NameCollision, PlanMode, Reason, StateRef, Targeting,
};
use super::replica::{
    ReplicaChange, ReplicaDrift, ReplicaInstance, ReplicaRecovery, ReplicaRecoveryAction,
    ReplicasConfig,
};
use super::untracked::Untracked;
use crate::manifest::model::{Address, InstanceAddress, Kind};
use crate::state::PendingOperation;

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub mode: PlanMode,
    /// The state's lineage and serial the plan was made from; `None` when there was no state.
    pub prior_state: Option<StateRef>,
    /// Whether the cloud was read (`--refresh=false` trusts the state).
    pub refreshed: bool,
    /// One entry per selected instance, no-ops included, sorted by address (every image, then
    /// every replica).
    pub changes: Vec<Change>,
    /// Objects changed outside imsform, each listed once, sorted by address.
    pub drift: Vec<Drift>,
    /// What the recovery of the pending journal will do, in journal order per kind.
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
    /// The configuration's region (`[cloud] region`), where the images are: what `imsform
    /// output` names; set by the command, not by the pure engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The state the plan was diffed against, every instance of it whatever the targeting:
    /// each record after the journal's recovery, the `moved` renames and the adoptions, with
    /// the values refresh read (an object refresh found deleted is left out). Sorted like
    /// [`Plan::changes`]; empty without a state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prior_instances: Vec<Instance>,
    /// What the manifests configure, whatever the targeting: each image, then each image's
    /// `replicas`, by address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configuration: Vec<Configured>,
}

impl Plan {
    /// The image changes: the kind-specific view the image's steps and preflight use.
    pub fn images(&self) -> impl Iterator<Item = &ImageChange> {
        self.changes.iter().filter_map(|change| match change {
            Change::Image(image) => Some(image),
            Change::Replica(_) => None,
        })
    }

    /// The change of the instance at `address`, when the plan has one.
    pub fn change_at(&self, address: &InstanceAddress) -> Option<&Change> {
        self.changes.iter().find(|c| c.address() == *address)
    }

    /// Every region the plan's replicas are in.
    pub fn replica_regions(&self) -> std::collections::BTreeSet<String> {
        let changes = self.changes.iter().map(Change::address);
        let recovery = self.recovery.iter().map(Recovery::address);
        changes
            .chain(recovery)
            .filter_map(|address| address.index().map(str::to_owned))
            .collect()
    }

    /// Every consumer project the plan's images are shared with before or after it.
    pub fn member_projects(&self) -> std::collections::BTreeSet<String> {
        let attrs = self
            .images()
            .flat_map(|c| c.before.iter().chain(c.after.iter()));
        attrs.flat_map(|a| a.share_with.iter().cloned()).collect()
    }
}

/// One instance's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::large_enum_variant,
    reason = "a replica's change is some 200 bytes smaller than an image's; boxing the image \
              would cost an allocation for each of a 10,000-image plan's changes"
)]
pub enum Change {
    Image(ImageChange),
    Replica(ReplicaChange),
}

impl Change {
    pub fn address(&self) -> InstanceAddress {
        match self {
            Change::Image(c) => InstanceAddress::Image(c.address.clone()),
            Change::Replica(c) => c.address(),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Change::Image(_) => Kind::Image,
            Change::Replica(_) => Kind::Replica,
        }
    }

    /// The image the instance belongs to (itself for an image).
    pub fn image(&self) -> &Address {
        match self {
            Change::Image(c) => &c.address,
            Change::Replica(c) => &c.image,
        }
    }

    pub fn action(&self) -> Action {
        match self {
            Change::Image(c) => c.action,
            Change::Replica(c) => c.action,
        }
    }

    pub fn reason(&self) -> Option<Reason> {
        match self {
            Change::Image(c) => c.reason,
            Change::Replica(c) => c.reason,
        }
    }

    /// The id of the cloud object the change starts from (`None` for creates).
    pub fn prior_id(&self) -> Option<&str> {
        match self {
            Change::Image(c) => c.prior_id.as_deref(),
            Change::Replica(c) => c.prior_id.as_deref(),
        }
    }

    /// The fields that differ between before and after.
    pub fn field_changes(&self) -> &[FieldChange] {
        match self {
            Change::Image(c) => &c.field_changes,
            Change::Replica(c) => &c.field_changes,
        }
    }

    /// The address a `moved` entry renamed this instance from.
    pub fn moved_from(&self) -> Option<&Address> {
        match self {
            Change::Image(c) => c.moved_from.as_ref(),
            Change::Replica(_) => None,
        }
    }
}

/// One object changed outside imsform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    Image(ImageDrift),
    Replica(ReplicaDrift),
}

impl Drift {
    pub fn address(&self) -> InstanceAddress {
        match self {
            Drift::Image(d) => InstanceAddress::Image(d.address.clone()),
            Drift::Replica(d) => d.address(),
        }
    }

    /// The id of the cloud object that changed.
    pub fn object_id(&self) -> &str {
        match self {
            Drift::Image(d) => &d.image_id,
            Drift::Replica(d) => &d.image_id,
        }
    }

    /// Whether the object no longer exists.
    pub fn deleted(&self) -> bool {
        match self {
            Drift::Image(d) => d.deleted(),
            Drift::Replica(d) => d.after.is_none(),
        }
    }

    /// The fields that changed (none when the object is gone).
    pub fn field_changes(&self) -> &[FieldChange] {
        match self {
            Drift::Image(d) => &d.field_changes,
            Drift::Replica(d) => &d.field_changes,
        }
    }
}

/// What the recovery of one pending journal entry will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    Image(ImageRecovery),
    Replica(ReplicaRecovery),
}

impl Recovery {
    pub fn address(&self) -> InstanceAddress {
        match self {
            Recovery::Image(r) => InstanceAddress::Image(r.address.clone()),
            Recovery::Replica(r) => r.address(),
        }
    }

    /// The journal entry, as written.
    pub fn operation(&self) -> &PendingOperation {
        match self {
            Recovery::Image(r) => &r.operation,
            Recovery::Replica(r) => &r.operation,
        }
    }

    /// What recovering the entry does to cloud objects, as the `Plan:` line counts it: a
    /// completed create adds one, a finished delete destroys one.
    pub fn counts(&self) -> Counts {
        match self {
            Recovery::Image(r) => r.counts(),
            Recovery::Replica(r) => match r.action {
                ReplicaRecoveryAction::Adopt { .. } => Counts {
                    add: 1,
                    ..Counts::default()
                },
                ReplicaRecoveryAction::Delete { .. } => Counts {
                    destroy: 1,
                    ..Counts::default()
                },
                ReplicaRecoveryAction::Drop | ReplicaRecoveryAction::LookUp => Counts::default(),
            },
        }
    }

    /// Whether recovering the entry may write to the cloud: an image entry when it completes
    /// or deletes something, a replica entry always (its lookup or drop reads the region).
    pub fn touches_cloud(&self) -> bool {
        match self {
            Recovery::Image(r) => r.counts() != Counts::default(),
            Recovery::Replica(_) => true,
        }
    }
}

/// An instance of the state before the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::large_enum_variant,
    reason = "as for `Change`: one allocation per image saved in the common case"
)]
pub enum Instance {
    Image(ImageInstance),
    Replica(ReplicaInstance),
}

impl Instance {
    pub fn address(&self) -> InstanceAddress {
        match self {
            Instance::Image(i) => InstanceAddress::Image(i.address.clone()),
            Instance::Replica(i) => i.address(),
        }
    }

    /// The image the instance belongs to (itself for an image).
    pub fn image(&self) -> &Address {
        match self {
            Instance::Image(i) => &i.address,
            Instance::Replica(i) => &i.image,
        }
    }

    /// The id of the cloud object.
    pub fn id(&self) -> &str {
        match self {
            Instance::Image(i) => &i.id,
            Instance::Replica(i) => &i.id,
        }
    }
}

/// One resource block of the manifests: an image, or an image's `replicas` (one block, one
/// instance per region, as Terraform's `for_each`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::large_enum_variant,
    reason = "as for `Change`: one allocation per image saved in the common case"
)]
pub enum Configured {
    Image(ImageConfig),
    Replicas(ReplicasConfig),
}

impl Configured {
    pub fn kind(&self) -> Kind {
        match self {
            Configured::Image(_) => Kind::Image,
            Configured::Replicas(_) => Kind::Replica,
        }
    }

    /// The image the block belongs to (itself for an image).
    pub fn image(&self) -> &Address {
        match self {
            Configured::Image(c) => &c.address,
            Configured::Replicas(c) => &c.image,
        }
    }
}
