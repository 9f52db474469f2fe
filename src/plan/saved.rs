//! Saved plans (`plan -out FILE`): the JSON rendering for readers, the [`Plan`] itself for the
//! executor, digests of the manifests and of the cloud identity, and the state (lineage and
//! serial, or "no state") the plan was made from. Written atomically with mode 0600.
//!
//! [`check_fresh`] is the gate of `apply PLANFILE`: a plan is applied exactly as reviewed or not
//! at all. It refuses when the state moved on (lineage or serial differ), when a state appeared
//! since a plan made without one (terraform#24078), and when the configuration points at another
//! cloud or project. It must not look at the manifests: a saved plan is applied without them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::model::{Plan, StateRef};
use crate::state::State;

/// The saved-plan format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What `FILE` announces itself as.
const KIND: &str = "imsform-plan";

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always `imsform-plan`.
    pub kind: String,
    pub format_version: u32,
    pub imsform_version: String,
    /// The state the plan was made from; `null` is the "no state" marker.
    pub prior_state: Option<StateRef>,
    /// [`manifests_digest`] of the manifests the plan was made from.
    pub manifests_sha256: String,
    /// [`config_digest`] of the cloud the plan was made for.
    pub config_sha256: String,
    /// The JSON rendering (`render::json`), for readers and tools.
    pub plan_json: Value,
    /// The plan itself, enough to apply it exactly.
    pub plan: Plan,
    /// The values of the manifests' variables the plan was made with, by name: `apply FILE`
    /// refuses other values (`manifest::check_plan_variables`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

/// A saved plan that cannot be read or written.
#[derive(Debug, Error)]
pub enum SavedPlanError {
    #[error("cannot read the plan file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the plan file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a readable imsform plan ({detail}); it may be truncated or not a plan \
         file: run `imsform plan -out FILE` again"
    )]
    Malformed { path: PathBuf, detail: String },
    #[error(
        "{path} is a plan of format {found}, but this imsform reads format {FORMAT_VERSION}: \
         make the plan again with this version"
    )]
    WrongVersion { path: PathBuf, found: u64 },
}

/// Why a saved plan cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Stale {
    #[error(
        "the plan was made without a state, but a state (lineage {lineage}) exists now: another \
         run has applied since. Run `imsform plan -out FILE` again and review the new plan"
    )]
    StateAppeared { lineage: String },
    #[error(
        "the plan was made from state lineage {planned}, but there is no state now. Run \
         `imsform plan -out FILE` again"
    )]
    StateVanished { planned: String },
    #[error(
        "the plan was made from state lineage {planned}, but the state now has lineage \
         {current}: it is another state. Check the working directory and [state] path, or plan \
         again"
    )]
    Lineage { planned: String, current: String },
    #[error(
        "the plan was made from state serial {planned}, but the state is at serial {current}: it \
         changed since the plan was made. Run `imsform plan -out FILE` again and review it"
    )]
    Serial { planned: u64, current: u64 },
    #[error(
        "the plan was made for another cloud identity (region, project id or endpoint differ \
         from the current configuration): apply it with the configuration it was made with, or \
         plan again"
    )]
    OtherCloud,
}

/// `sha256` over the manifests: each file's path and content, sorted by path.
pub fn manifests_digest<P: AsRef<Path>, C: AsRef<[u8]>>(files: &[(P, C)]) -> String {
    let mut sorted: Vec<(&Path, &[u8])> = files
        .iter()
        .map(|(p, c)| (p.as_ref(), c.as_ref()))
        .collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    for (path, content) in sorted {
        let path = path.to_string_lossy();
        hasher.update((path.len() as u64).to_be_bytes());
        hasher.update(path.as_bytes());
        hasher.update((content.len() as u64).to_be_bytes());
        hasher.update(content);
    }
    hex::encode(hasher.finalize())
}

/// `sha256` over the cloud identity: region, project id and endpoint.
pub fn config_digest(region: &str, project_id: &str, endpoint: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [region, project_id, endpoint] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

impl SavedPlan {
    pub fn new(plan: Plan, manifests_sha256: String, config_sha256: String) -> SavedPlan {
        SavedPlan {
            kind: KIND.to_owned(),
            format_version: FORMAT_VERSION,
            imsform_version: env!("CARGO_PKG_VERSION").to_owned(),
            prior_state: plan.prior_state.clone(),
            manifests_sha256,
            config_sha256,
            plan_json: crate::render::json::to_value(&plan),
            plan,
            variables: BTreeMap::new(),
        }
    }

    /// Records the variables' values the plan was made with.
    pub fn with_variables(mut self, variables: BTreeMap<String, String>) -> SavedPlan {
        self.variables = variables;
        self
    }

    /// Writes the plan atomically, readable by the owner only (mode 0600), through the same
    /// atomic replacement as the state ([`crate::atomic_file::write`]).
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let fail = |source| SavedPlanError::Write {
            path: path.to_owned(),
            source,
        };
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| fail(e.into()))?;
        bytes.push(b'\n');
        crate::atomic_file::write(path, &bytes).map_err(fail)
    }

    /// Reads a plan file.
    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let bytes = std::fs::read(path).map_err(|source| SavedPlanError::Read {
            path: path.to_owned(),
            source,
        })?;
        SavedPlan::from_slice(path, &bytes)
    }

    /// Parses a plan file's bytes; `path` is for messages.
    pub fn from_slice(path: &Path, bytes: &[u8]) -> Result<SavedPlan, SavedPlanError> {
        let malformed = |detail: String| SavedPlanError::Malformed {
            path: path.to_owned(),
            detail,
        };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if value.get("kind").and_then(Value::as_str) != Some(KIND) {
            return Err(malformed(format!("no \"kind\": \"{KIND}\"")));
        }
        match value.get("format_version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(SavedPlanError::WrongVersion {
                    path: path.to_owned(),
                    found,
                });
            }
            None => return Err(malformed("no format_version".into())),
        }
        let saved: SavedPlan =
            serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
        if saved.prior_state != saved.plan.prior_state {
            return Err(malformed("prior_state disagrees with the plan's".into()));
        }
        Ok(saved)
    }
}

/// Whether `saved` may be applied to the current state and configuration.
pub fn check_fresh(
    saved: &SavedPlan,
    current_state: Option<&State>,
    current_config_digest: &str,
) -> Result<(), Stale> {
    if saved.config_sha256 != current_config_digest {
        return Err(Stale::OtherCloud);
    }
    match (&saved.prior_state, current_state) {
        (None, None) => Ok(()),
        (None, Some(state)) => Err(Stale::StateAppeared {
            lineage: state.lineage.clone(),
        }),
        (Some(planned), None) => Err(Stale::StateVanished {
            planned: planned.lineage.clone(),
        }),
        (Some(planned), Some(state)) if planned.lineage != state.lineage => Err(Stale::Lineage {
            planned: planned.lineage.clone(),
            current: state.lineage.clone(),
        }),
        (Some(planned), Some(state)) if planned.serial != state.serial => Err(Stale::Serial {
            planned: planned.serial,
            current: state.serial,
        }),
        (Some(_), Some(_)) => Ok(()),
    }
}

#[cfg(test)]
#[path = "saved_tests.rs"]
mod tests;
