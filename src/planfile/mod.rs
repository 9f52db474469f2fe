//! Saved plans (`plan -out FILE`): the JSON plan of `plan --json` at the top level (so
//! `jq .resource_changes FILE` works, as on `terraform show -json`), plus an envelope: what the
//! file is, the digest of the plan, the digests of the manifests and of the cloud identity, the
//! identity itself, and the inputs recorded for the plan. Written atomically with mode 0600.
//!
//! One source of truth: the executor's [`Plan`] is read back from the JSON plan itself
//! ([`read`]); the plan read back must render to exactly the file's JSON plan and to the digest
//! the file carries, so a file edited after it was saved is refused rather than applied. `show PLANFILE --json` prints the
//! plan read back: exactly what apply will do.
//!
//! [`check_fresh`] is the gate of `apply PLANFILE`: it refuses when the state moved on (lineage
//! or serial differ; Terraform's "Saved plan is stale"), when a state appeared since a plan made
//! without one (terraform#24078), when the configuration points at another cloud, and when the
//! state is in another PostgreSQL workspace than the plan's. It does not look at the manifests:
//! a saved plan is applied without them.
//!
//! Below `plan` and `render` in the data flow: it uses both, neither uses it.

mod read;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::plan::Plan;
use crate::render::json::JsonPlan;
use crate::state::{Identity, State};

/// The envelope format this build writes and reads.
pub const PLANFILE_VERSION: u32 = 2;

/// What a plan file announces itself as.
const KIND: &str = "imsform-plan";

/// The recorded input holding the manifests' variables, name to value.
const VARIABLES: &str = "variables";

/// A saved plan: the envelope and the plan read back from the file's JSON plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPlan {
    pub envelope: Envelope,
    pub plan: Plan,
}

/// The plan file's own fields, beside the JSON plan's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always `imsform-plan`.
    pub kind: String,
    pub planfile_version: u32,
    /// `sha256` of the JSON plan (see [`plan_digest`]): an edited file is refused.
    pub plan_sha256: String,
    /// [`manifests_digest`] of the manifests the plan was made from.
    pub manifests_sha256: String,
    /// [`config_digest`] of the cloud the plan was made for.
    pub config_sha256: String,
    /// The cloud the plan was made for, named in refusals.
    pub identity: Identity,
    /// The PostgreSQL workspace (`schema/workspace`) whose state the plan was made from;
    /// absent for a state file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_workspace: Option<String>,
    /// Inputs the plan was made with that apply must reuse, by name: `variables`, the values of
    /// the manifests' variables by name (absent when there are none; see
    /// [`SavedPlan::variables`]).
    #[serde(default)]
    pub recorded_inputs: Map<String, Value>,
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
        "{path} is a plan file of format {found}, but this imsform reads format \
         {PLANFILE_VERSION}: make the plan again with this version"
    )]
    WrongVersion { path: PathBuf, found: u64 },
    #[error(
        "{path} was made by imsform {found}, but this is imsform {}: make the plan again with \
         this version",
        env!("CARGO_PKG_VERSION")
    )]
    OtherImsform { path: PathBuf, found: String },
    #[error(
        "{path} was changed after it was saved: the plan it holds does not match its digest. \
         Apply only a plan file as `imsform plan -out FILE` wrote it; run that again and review \
         the new plan"
    )]
    Tampered { path: PathBuf },
}

/// Why a saved plan cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Stale {
    #[error(
        "Saved plan is stale: the plan was made without a state, but a state (lineage \
         {lineage}) exists now: another run has applied since. Run `imsform plan -out FILE` \
         again and review the new plan"
    )]
    StateAppeared { lineage: String },
    #[error(
        "Saved plan is stale: the plan was made from state lineage {planned}, but there is no \
         state now. Run `imsform plan -out FILE` again"
    )]
    StateVanished { planned: String },
    #[error(
        "Saved plan is stale: the plan was made from state lineage {planned}, but the state now \
         has lineage {current}: it is another state. Check the working directory and [state] \
         path, or plan again"
    )]
    Lineage { planned: String, current: String },
    #[error(
        "Saved plan is stale: the plan was made from state serial {planned}, but the state is at \
         serial {current}: it changed since the plan was made. Run `imsform plan -out FILE` \
         again and review it"
    )]
    Serial { planned: u64, current: u64 },
    #[error(
        "the plan was made for {planned}, but the configuration points at {current} (or at \
         another endpoint): apply it with the configuration it was made with, or plan again"
    )]
    OtherCloud {
        planned: Box<Identity>,
        current: Box<Identity>,
    },
    #[error(
        "Saved plan is stale: the plan was made from {}, but the state now is {}: apply it \
         with the [state] settings (and IMSFORM_WORKSPACE) it was made with, or plan again",
        workspace_name(planned.as_deref()),
        workspace_name(current.as_deref())
    )]
    OtherWorkspace {
        planned: Option<String>,
        current: Option<String>,
    },
}

fn workspace_name(workspace: Option<&str>) -> String {
    match workspace {
        Some(workspace) => format!("PostgreSQL workspace {workspace}"),
        None => "a state file".to_owned(),
    }
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

/// `sha256` of the JSON plan of `plan`, serialized compactly in the document's field order.
pub fn plan_digest(plan: &Plan) -> String {
    // Serializing plain data with string keys cannot fail; an empty digest would never match.
    let bytes = serde_json::to_vec(&JsonPlan::of(plan)).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

/// The file: the envelope's fields first, then the JSON plan's.
#[derive(Serialize)]
struct File<'a> {
    #[serde(flatten)]
    envelope: &'a Envelope,
    #[serde(flatten)]
    plan: JsonPlan<'a>,
}

impl SavedPlan {
    /// A plan to save, with the digests of its inputs, the cloud it was made for and the
    /// PostgreSQL workspace of its state ([`crate::state::Location::workspace_id`]).
    pub fn new(
        plan: Plan,
        manifests_sha256: String,
        config_sha256: String,
        identity: Identity,
        state_workspace: Option<String>,
    ) -> SavedPlan {
        let envelope = Envelope {
            kind: KIND.to_owned(),
            planfile_version: PLANFILE_VERSION,
            plan_sha256: plan_digest(&plan),
            manifests_sha256,
            config_sha256,
            identity,
            state_workspace,
            recorded_inputs: Map::new(),
        };
        SavedPlan { envelope, plan }
    }

    /// Records the values of the manifests' variables the plan was made with: `apply FILE`
    /// refuses other values (`manifest::check_plan_variables`). None recorded when empty.
    pub fn with_variables(mut self, variables: &BTreeMap<String, String>) -> SavedPlan {
        if variables.is_empty() {
            self.envelope.recorded_inputs.remove(VARIABLES);
        } else {
            let values = variables
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect();
            self.envelope
                .recorded_inputs
                .insert(VARIABLES.to_owned(), Value::Object(values));
        }
        self
    }

    /// The values of the manifests' variables the plan was made with, by name; empty when none
    /// were recorded. [`SavedPlan::from_slice`] refuses a file whose recorded variables are not
    /// strings by name.
    pub fn variables(&self) -> BTreeMap<String, String> {
        let Some(Value::Object(values)) = self.envelope.recorded_inputs.get(VARIABLES) else {
            return BTreeMap::new();
        };
        values
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
            .collect()
    }

    /// Writes the plan atomically, readable by the owner only (mode 0600), through the same
    /// atomic replacement as the state ([`crate::atomic_file::write`]).
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let fail = |source| SavedPlanError::Write {
            path: path.to_owned(),
            source,
        };
        let file = File {
            envelope: &self.envelope,
            plan: JsonPlan::of(&self.plan),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| fail(e.into()))?;
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

    /// Parses a plan file's bytes; `path` is for messages. Refuses a file whose plan does not
    /// match its digest.
    pub fn from_slice(path: &Path, bytes: &[u8]) -> Result<SavedPlan, SavedPlanError> {
        let malformed = |detail: String| SavedPlanError::Malformed {
            path: path.to_owned(),
            detail,
        };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if value.get("kind").and_then(Value::as_str) != Some(KIND) {
            return Err(malformed(format!("no \"kind\": \"{KIND}\"")));
        }
        match value.get("planfile_version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(PLANFILE_VERSION) => {}
            Some(found) => {
                return Err(SavedPlanError::WrongVersion {
                    path: path.to_owned(),
                    found,
                });
            }
            None => return Err(malformed("no planfile_version".into())),
        }
        let envelope: Envelope =
            Envelope::deserialize(&value).map_err(|e| malformed(e.to_string()))?;
        check_recorded_variables(&envelope.recorded_inputs).map_err(malformed)?;
        let document = without_envelope(value, &envelope);
        let json: JsonPlan<'static> =
            JsonPlan::deserialize(&document).map_err(|e| malformed(e.to_string()))?;
        if json.imsform_version != env!("CARGO_PKG_VERSION") {
            return Err(SavedPlanError::OtherImsform {
                path: path.to_owned(),
                found: json.imsform_version.into_owned(),
            });
        }
        let plan = read::plan(json).map_err(malformed)?;
        // The document must be exactly what the plan read back renders (derived fields such as
        // the summary included), and that plan must be the one the digest was made of.
        if crate::render::json::to_value(&plan) != document
            || plan_digest(&plan) != envelope.plan_sha256
        {
            return Err(SavedPlanError::Tampered {
                path: path.to_owned(),
            });
        }
        Ok(SavedPlan { envelope, plan })
    }
}

/// Recorded variables, when any, must be an object of strings: anything else would be applied
/// with values nobody chose.
fn check_recorded_variables(inputs: &Map<String, Value>) -> Result<(), String> {
    match inputs.get(VARIABLES) {
        None => Ok(()),
        Some(Value::Object(values)) => match values.iter().find(|(_, v)| !v.is_string()) {
            None => Ok(()),
            Some((name, _)) => Err(format!(
                "the recorded value of variable `{name}` is not a string"
            )),
        },
        Some(_) => Err("recorded_inputs.variables is not an object".into()),
    }
}

/// The file's JSON plan: the file without the envelope's keys.
fn without_envelope(mut value: Value, envelope: &Envelope) -> Value {
    if let (Value::Object(map), Ok(Value::Object(keys))) =
        (&mut value, serde_json::to_value(envelope))
    {
        for key in keys.keys() {
            map.remove(key);
        }
    }
    value
}

/// Whether `saved` may be applied to the current state and configuration.
pub fn check_fresh(
    saved: &SavedPlan,
    current_state: Option<&State>,
    current_config_digest: &str,
    current_identity: &Identity,
    current_workspace: Option<&str>,
) -> Result<(), Stale> {
    if saved.envelope.config_sha256 != current_config_digest {
        return Err(Stale::OtherCloud {
            planned: Box::new(saved.envelope.identity.clone()),
            current: Box::new(current_identity.clone()),
        });
    }
    if saved.envelope.state_workspace.as_deref() != current_workspace {
        return Err(Stale::OtherWorkspace {
            planned: saved.envelope.state_workspace.clone(),
            current: current_workspace.map(str::to_owned),
        });
    }
    match (&saved.plan.prior_state, current_state) {
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
mod tests;
