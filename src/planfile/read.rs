//! The JSON plan read back into the [`Plan`] the executor carries out: the inverse of
//! `render::json`, whose kind modules read their own entries back. Every change's action,
//! reason, ids, attributes and field changes come from the document, and so do the state's
//! instances (`prior_state`), the manifests' blocks and the region (`configuration`); what the
//! document derives (summary, `replace_paths`, `after_unknown`, `applyable`, `planned_values`,
//! `relevant_attributes`, `output_changes`) is not read but re-derived, and the caller refuses a file whose document is
//! not exactly what the plan read back renders.

use crate::plan::{Plan, StateRef, Untracked, UntrackedAction};
use crate::render::json::{JsonPlan, JsonUntracked};

/// The plan of `document`, or what is wrong with it.
pub(super) fn plan(document: JsonPlan<'static>) -> Result<Plan, String> {
    let prior_state = match (document.lineage, document.serial) {
        (Some(lineage), Some(serial)) => Some(StateRef {
            lineage: lineage.into_owned(),
            serial,
        }),
        (None, None) => None,
        _ => return Err("lineage and serial must both be set or both be null".into()),
    };
    let changes = document
        .resource_changes
        .into_iter()
        .map(|entry| entry.read())
        .collect::<Result<_, _>>()?;
    let drift = document
        .resource_drift
        .into_iter()
        .map(|entry| entry.read())
        .collect::<Result<_, _>>()?;
    let prior_instances = match document.prior_state {
        Some(prior) => prior.read()?,
        None => Vec::new(),
    };
    let configuration = document
        .configuration
        .root_module
        .resources
        .into_iter()
        .map(|block| block.read())
        .collect::<Result<_, _>>()?;
    let untracked = document
        .untracked
        .into_iter()
        .map(untracked)
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        mode: document.mode,
        prior_state,
        refreshed: document.refreshed,
        changes,
        drift,
        recovery: document.recovery.into_iter().map(|r| r.read()).collect(),
        moves: document.moved.into_owned(),
        targeting: document.targeting.map(std::borrow::Cow::into_owned),
        name_collisions: document.name_collisions.into_owned(),
        timestamp: document.timestamp.map(std::borrow::Cow::into_owned),
        untracked,
        region: document.configuration.provider_config.region(),
        prior_instances,
        configuration,
    })
}

fn untracked(entry: JsonUntracked<'static>) -> Result<Untracked, String> {
    let address = entry.address.map(std::borrow::Cow::into_owned);
    let action = match (&*entry.action, address, entry.record) {
        ("report", matches, None) => UntrackedAction::Report { matches },
        ("adopt", Some(address), Some(record)) => UntrackedAction::Adopt {
            address,
            record: Box::new(record.into_owned()),
        },
        ("delete", None, None) => UntrackedAction::Delete,
        (action, ..) => {
            return Err(format!(
                "untracked image {}: action `{action}` with that address and record is unknown",
                entry.image_id
            ));
        }
    };
    Ok(Untracked {
        image_id: entry.image_id.into_owned(),
        name: entry.name.into_owned(),
        status: entry.status.into_owned(),
        token: entry.token.into_owned(),
        action,
        region: entry.region.map(std::borrow::Cow::into_owned),
    })
}
