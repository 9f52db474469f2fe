//! Terraform's state representation: a plan's `prior_state`, and `imsform show --json` of the
//! state (documented by `schema/show.schema.json`). Each instance is an entry of
//! `values.root_module.resources[]` in the shape of `planned_values`; imsform's own keys (the
//! lineage and serial, and for `show` the cloud identity and the journal) stand beside
//! Terraform's.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::terraform::{Module, STATE_FORMAT_VERSION, Values};
use super::views::JsonEntry;
use crate::plan::{Instance, Plan, StateRef};
use crate::state::{Identity, PendingEntry, State};

/// The state representation.
#[derive(Serialize, Deserialize)]
pub struct JsonState<'a> {
    pub format_version: Cow<'a, str>,
    /// Terraform's key, which readers look for: the imsform that rendered the document.
    pub terraform_version: Cow<'a, str>,
    pub lineage: Option<Cow<'a, str>>,
    pub serial: Option<u64>,
    /// Absent without a state (as Terraform's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Values<JsonEntry<'a>>>,
    /// `show` only: the cloud the state belongs to, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Cow<'a, Identity>>,
    /// `show` only: the journal of operations in flight, as the state file holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Cow<'a, [PendingEntry]>>,
}

impl<'a> JsonState<'a> {
    fn new(state: Option<&'a StateRef>, instances: Option<&'a [Instance]>) -> JsonState<'a> {
        JsonState {
            format_version: Cow::Borrowed(STATE_FORMAT_VERSION),
            terraform_version: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
            lineage: state.map(|s| Cow::Borrowed(s.lineage.as_str())),
            serial: state.map(|s| s.serial),
            values: instances.map(|instances| Values {
                root_module: Module {
                    resources: instances.iter().map(JsonEntry::prior).collect(),
                },
            }),
            identity: None,
            pending: None,
        }
    }

    /// A plan's `prior_state`: `None` when the plan was made without a state.
    pub fn prior(plan: &'a Plan) -> Option<JsonState<'a>> {
        let state = plan.prior_state.as_ref()?;
        Some(JsonState::new(Some(state), Some(&plan.prior_instances)))
    }

    /// The instances this `prior_state` holds, or what is wrong with one of them.
    pub fn read(self) -> Result<Vec<Instance>, String>
    where
        'a: 'static,
    {
        let resources = self.values.map(|v| v.root_module.resources);
        resources
            .unwrap_or_default()
            .into_iter()
            .map(JsonEntry::read)
            .collect()
    }
}

/// Writes `imsform show --json` of `state` (`instances` are its instances, from
/// [`crate::plan::state_instances`]), pretty, with a final newline; without a state, the
/// document without values.
pub fn write_state(out: &mut impl Write, state: Option<(&State, &[Instance])>) -> io::Result<()> {
    let reference = state.map(|(state, _)| StateRef {
        lineage: state.lineage.clone(),
        serial: state.serial,
    });
    let mut document = JsonState::new(reference.as_ref(), state.map(|(_, i)| i));
    if let Some((state, _)) = state {
        document.identity = state.identity.as_ref().map(Cow::Borrowed);
        document.pending = Some(Cow::Borrowed(&state.pending));
    }
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, &document)?;
    writeln!(out)?;
    out.flush()
}
