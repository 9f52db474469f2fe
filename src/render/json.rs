//! The JSON rendering of a plan, shaped like Terraform's `show -json` where it applies and
//! documented by `schema/plan.schema.json` (a test validates rendered plans against it). Keys
//! come out sorted (serde_json's map is ordered), so the output is stable.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::manifest::model::{Field, ImageAttrs, ReplaceOrder};
use crate::plan::{Action, Drift, Plan, ResourceChange, field_value};

/// The version of this JSON format.
pub const FORMAT_VERSION: &str = "1.0";

/// Writes `plan` as one JSON document and a newline.
pub fn write_plan(out: &mut impl Write, plan: &Plan) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(plan))?;
    writeln!(out)
}

/// The JSON document of `plan`.
pub fn to_value(plan: &Plan) -> Value {
    let counts = plan.counts();
    json!({
        "format_version": FORMAT_VERSION,
        "imsform_version": env!("CARGO_PKG_VERSION"),
        "mode": plan.mode,
        "lineage": plan.prior_state.as_ref().map(|s| s.lineage.clone()),
        "serial": plan.prior_state.as_ref().map(|s| s.serial),
        "refreshed": plan.refreshed,
        "resource_changes": plan.changes.iter().map(resource_change).collect::<Vec<_>>(),
        "resource_drift": plan.drift.iter().map(resource_drift).collect::<Vec<_>>(),
        "recovery": plan.recovery,
        "summary": {
            "add": counts.add,
            "change": counts.change,
            "destroy": counts.destroy,
            "has_changes": plan.has_changes(),
        },
    })
}

/// Terraform's `change.actions`.
fn actions(action: Action) -> Vec<&'static str> {
    match action {
        Action::NoOp => vec!["no-op"],
        Action::Create => vec!["create"],
        Action::Update => vec!["update"],
        Action::Replace {
            order: ReplaceOrder::CreateBeforeDestroy,
        } => vec!["create", "delete"],
        Action::Replace {
            order: ReplaceOrder::DestroyBeforeCreate,
        } => vec!["delete", "create"],
        Action::Delete => vec!["delete"],
    }
}

/// An image's attributes as an object, with its id and status when known.
fn object(attrs: &ImageAttrs, id: Option<&str>, status: Option<&str>) -> Value {
    let mut map = Map::new();
    for field in Field::ALL {
        map.insert(field.as_str().to_owned(), field_value(attrs, field));
    }
    if let Some(id) = id {
        map.insert("id".into(), Value::from(id));
    }
    if let Some(status) = status {
        map.insert("status".into(), Value::from(status));
    }
    Value::Object(map)
}

fn resource_change(change: &ResourceChange) -> Value {
    let creates = matches!(change.action, Action::Create | Action::Replace { .. });
    let id = change.prior_id.as_deref();
    let before = change
        .before
        .as_ref()
        .map(|b| object(b, id, change.prior_status.as_deref()));
    let after = change.after.as_ref().map(|a| {
        if creates {
            object(a, None, None)
        } else {
            object(a, id, None)
        }
    });
    let after_unknown = if creates {
        json!({"id": true, "status": true})
    } else {
        json!({})
    };
    let replace_paths: Vec<Value> = change
        .field_changes
        .iter()
        .filter(|c| c.forces_replacement)
        .map(|c| json!([c.field.as_str()]))
        .collect();
    json!({
        "address": change.address,
        "previous_address": change.moved_from,
        "image_id": change.prior_id,
        "action_reason": change.reason.map(|r| r.as_str()),
        "change": {
            "actions": actions(change.action),
            "before": before,
            "after": after,
            "after_unknown": after_unknown,
            "replace_paths": replace_paths,
            "field_changes": change.field_changes,
        },
    })
}

fn resource_drift(drift: &Drift) -> Value {
    let id = Some(drift.image_id.as_str());
    let before_status = drift.status.as_ref().map(|s| s.before.as_str());
    let after_status = drift.status.as_ref().map(|s| s.after.as_str());
    let actions = if drift.deleted() {
        ["delete"]
    } else {
        ["update"]
    };
    json!({
        "address": drift.address,
        "image_id": drift.image_id,
        "change": {
            "actions": actions,
            "before": object(&drift.before, id, before_status),
            "after": drift.after.as_ref().map(|a| object(a, id, after_status)),
            "field_changes": drift.field_changes,
        },
    })
}
