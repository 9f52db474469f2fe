//! The pure diff engine: (desired, state, remote view, options) -> a [`Plan`]. No I/O here except
//! in [`refresh`] (which only reads through the [`crate::cloud::CloudApi`] seam).
//!
//! A [`Plan`] is everything the apply executor needs to carry it out exactly, also from a saved
//! plan file: every change holds the prior image id, the attributes before and after, the
//! field-level changes, the replace order and the reason. The executor's contract:
//!
//! 1. carry out [`Plan::recovery`] (the journal of an interrupted run) first;
//! 2. accept [`Plan::drift`] into the state (the refreshed view, as Terraform persists its
//!    refreshed state) and rename the addresses of [`Plan::moves`];
//! 3. in [`PlanMode::RefreshOnly`] stop there; otherwise carry out [`Plan::changes`].
//!
//! Module map: `model` (the types), `error` (why a plan is refused), `engine` (per-address
//! diff), `drift` (what changed outside imsform), `recovery` (pending journal entries), `select` (options: targets, moves),
//! `refresh` (reading the cloud), `preflight` (quota and os_version checks of the creates),
//! `untracked` (images of this lineage the state does not know), `counts` (the plan's counts),
//! `prior` (the state's instances before the plan and the manifests' blocks, for the JSON plan's
//! `prior_state` and `configuration`).
//! Saved plan files are `crate::planfile`: a rendering plus an envelope, below this module.

mod counts;
mod drift;
mod engine;
mod error;
mod graph;
mod image;
mod instance;
mod model;
mod preflight;
mod prior;
mod recovery;
pub mod refresh;
mod replica;
mod replica_refresh;
mod replicas;
mod select;
mod untracked;

pub use drift::observed;
pub(crate) use drift::{field_value, refreshed};
pub use engine::{plan, plan_with_projects};
pub use error::{PlanError, Problem};
pub use graph::{Graph, Node, Step};
pub use image::{
    ImageChange, ImageConfig, ImageDrift, ImageInstance, ImageRecovery, RecoveryAction,
    StatusChange,
};
pub use instance::{Change, Configured, Drift, Instance, Plan, Recovery};
pub use model::*;
pub use preflight::{CloudFacts, preflight, refuse_sharing_with_owner};
pub use prior::state_instances;
pub(crate) use recovery::recover;
pub use refresh::{RemoteView, refresh, refresh_importing};
pub use replica::{
    ReplicaAttrs, ReplicaChange, ReplicaDrift, ReplicaInstance, ReplicaOverrides, ReplicaRecovery,
    ReplicaRecoveryAction, ReplicasConfig,
};
pub use replica_refresh::refresh_replicas;
pub use replicas::{COPY_SKEW, candidates};
pub use untracked::{Untracked, UntrackedAction};

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod options_tests;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod replicas_tests;
#[cfg(test)]
mod sharing_tests;
#[cfg(test)]
mod tests;
