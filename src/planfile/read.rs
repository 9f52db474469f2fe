//! The JSON plan read back into the [`Plan`] the executor carries out: the inverse of
//! `render::json`. Every change's action, reason, ids, attributes and field changes come from
//! the document; what the document derives (summary, `replace_paths`, `after_unknown`,
//! `applyable`) is not read but re-derived, and the caller refuses a file whose document is
//! not exactly what the plan read back renders.

use crate::manifest::model::Address;
use crate::plan::{Drift, Plan, Reason, ResourceChange, StateRef, Untracked, UntrackedAction};
use crate::render::json::{
    self, JsonChange, JsonDrift, JsonPlan, JsonResource, JsonUntracked, RESOURCE_TYPE,
};

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
    let (mut changes, mut replicas) = (Vec::new(), Vec::new());
    for entry in document.resource_changes {
        match entry {
            JsonResource::Image(entry) => changes.push(change(*entry)?),
            JsonResource::Replica(entry) => replicas.push(entry.read()?),
        }
    }
    let drift = document
        .resource_drift
        .into_iter()
        .map(drift)
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
        recovery: document.recovery.into_owned(),
        moves: document.moved.into_owned(),
        targeting: document.targeting.map(std::borrow::Cow::into_owned),
        name_collisions: document.name_collisions.into_owned(),
        timestamp: document.timestamp.map(std::borrow::Cow::into_owned),
        untracked,
        replicas,
        replica_drift: document.replica_drift.into_owned(),
        replica_recovery: document.replica_recovery.into_owned(),
    })
}

/// Checks Terraform's `type`, `name` and `mode` against the address.
fn check_resource(address: &Address, kind: &str, name: &str, mode: &str) -> Result<(), String> {
    if kind != RESOURCE_TYPE || mode != "managed" || name != address.key() {
        return Err(format!(
            "{address}: type, name and mode must be {RESOURCE_TYPE}, {}, managed",
            address.key()
        ));
    }
    Ok(())
}

fn change(entry: JsonChange<'static>) -> Result<ResourceChange, String> {
    let address = entry.address.into_owned();
    check_resource(&address, &entry.kind, &entry.name, &entry.mode)?;
    let action = json::action_of(&entry.change.actions)
        .ok_or_else(|| format!("{address}: unknown actions {:?}", entry.change.actions))?;
    let reason = match entry.action_reason {
        None => None,
        Some(text) => Some(
            Reason::parse(&text)
                .ok_or_else(|| format!("{address}: unknown action_reason `{text}`"))?,
        ),
    };
    let body = entry.change;
    Ok(ResourceChange {
        action,
        reason,
        prior_id: entry.image_id.map(std::borrow::Cow::into_owned),
        prior_status: body
            .before
            .as_ref()
            .and_then(|b| b.status.as_deref().map(str::to_owned)),
        before: body.before.as_ref().map(json::Object::attrs),
        after: body.after.as_ref().map(json::Object::attrs),
        field_changes: body.field_changes.into_owned(),
        moved_from: entry.previous_address.map(std::borrow::Cow::into_owned),
        taint: entry.taint.map(std::borrow::Cow::into_owned),
        member_status: entry
            .member_status
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default(),
        address,
    })
}

fn drift(entry: JsonDrift<'static>) -> Result<Drift, String> {
    let address = entry.address.into_owned();
    check_resource(&address, &entry.kind, &entry.name, &entry.mode)?;
    let body = entry.change;
    Ok(Drift {
        image_id: entry.image_id.into_owned(),
        before: body.before.attrs(),
        after: body.after.as_ref().map(json::Object::attrs),
        field_changes: body.field_changes.into_owned(),
        status: body.status_change.map(std::borrow::Cow::into_owned),
        address,
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
