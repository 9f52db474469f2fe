//! The image kind's blocks in plans: a change (`# images.x will be created`, every attribute of
//! a created or destroyed image, the changed ones of an update or replacement with the rest
//! folded) and a drift block, from the shared attribute lines of `blocks.rs`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Group;
use super::blocks::{Line, field_lines, hidden, name_width, quoted, show};
use crate::manifest::model::{Field, ImageAttrs};
use crate::plan::{Action, ImageChange, ImageDrift, Reason};
use crate::state::Taint;

/// The block of one change (nothing for a no-op that was not moved).
pub(crate) fn change(change: &ImageChange) -> Vec<Line> {
    let mut lines = Vec::new();
    let address = &change.address;
    if let Some(from) = &change.moved_from {
        lines.push(Line::raw(format!("  # {from} has moved to {address}")));
    }
    let Some(group) = Group::of(change.action) else {
        if change.importing.is_some() {
            lines.push(Line::raw(format!("  # {address} will be imported")));
        }
        if change.moved_from.is_some() || change.importing.is_some() {
            lines.push(Line::at(0, "", format!("image \"{}\" {{", address.key())));
            let hidden = Field::ALL.len();
            lines.push(Line::at(
                1,
                "",
                format!("id = {}", quoted(change.prior_id.as_deref())),
            ));
            lines.push(Line::at(
                1,
                "",
                format!("# ({hidden} unchanged attributes hidden)"),
            ));
            lines.push(Line::at(0, "", "}"));
        }
        return lines;
    };
    let verb = match change.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Delete => "will be destroyed",
        _ => "must be replaced",
    };
    lines.push(Line::raw(format!("  # {address} {verb}")));
    if let Some(id) = &change.importing {
        lines.push(Line::raw(format!("  # (imported from \"{id}\")")));
        if matches!(change.action, Action::Replace { .. }) {
            lines.push(Line::raw(
                "  # Warning: this will destroy the imported resource",
            ));
        }
    }
    if let Some(reason) = change
        .reason
        .filter(|r| *r != Reason::ReplaceBecauseCannotUpdate)
    {
        let detail = match &change.taint {
            Some(Taint {
                code: Some(code),
                reason,
            }) => format!(": {code}: {reason}"),
            Some(Taint { code: None, reason }) => format!(": {reason}"),
            None => String::new(),
        };
        lines.push(Line::raw(format!(
            "  # (because {}{detail})",
            reason.explain()
        )));
    }
    lines.push(Line::at(
        0,
        group.symbol(),
        format!("image \"{}\" {{", address.key()),
    ));
    match (&change.before, &change.after) {
        (None, Some(after)) => whole(&mut lines, "+", None, after, true),
        (Some(before), None) => whole(&mut lines, "-", change.prior_id.as_deref(), before, false),
        _ => changed(&mut lines, change),
    }
    lines.push(Line::at(0, "", "}"));
    lines
}

/// Every attribute of a created (`+`) or destroyed (`-`) image.
fn whole(
    lines: &mut Vec<Line>,
    mark: &'static str,
    id: Option<&str>,
    attrs: &ImageAttrs,
    new: bool,
) {
    let width = name_width(
        Field::ALL
            .iter()
            .map(|f| f.as_str())
            .chain(["id", "status"]),
    );
    let tail = if new { "" } else { " -> null" };
    let unknown = "(known after apply)";
    let id_value = if new { unknown.to_owned() } else { quoted(id) };
    lines.push(Line::at(
        1,
        mark,
        format!("{:width$} = {id_value}{tail}", "id"),
    ));
    for field in Field::ALL {
        let value = crate::plan::field_value(attrs, field);
        // An image shared with nobody shows no `share_with`, as Terraform leaves out nulls.
        if value.is_null() || value.as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        if let Some(text) = value.as_str().filter(|t| t.contains('\n')) {
            let name = field.as_str();
            lines.push(Line::at(1, mark, format!("{name:width$} = <<-EOT")));
            lines.extend(text.lines().map(|l| Line::at(2, mark, l)));
            lines.push(Line::at(1, "", format!("EOT{tail}")));
            continue;
        }
        // An empty map falls through to one line: `tags = {}`.
        if let Value::Object(tags) = &value
            && !tags.is_empty()
        {
            lines.push(Line::at(1, mark, format!("{:width$} = {{", field.as_str())));
            let key_width = tags.keys().map(|k| k.len() + 2).max().unwrap_or(0);
            for (key, val) in tags {
                let key = Value::from(key.as_str()).to_string();
                lines.push(Line::at(
                    2,
                    mark,
                    format!("{key:key_width$} = {}{tail}", show(val)),
                ));
            }
            lines.push(Line::at(1, "", "}"));
            continue;
        }
        if let Value::Array(items) = &value {
            lines.push(Line::at(1, mark, format!("{:width$} = [", field.as_str())));
            for item in items {
                lines.push(Line::at(2, mark, format!("{},{tail}", show(item))));
            }
            lines.push(Line::at(1, "", "]"));
            continue;
        }
        lines.push(Line::at(
            1,
            mark,
            format!("{:width$} = {}{tail}", field.as_str(), show(&value)),
        ));
    }
    if new {
        lines.push(Line::at(
            1,
            mark,
            format!("{:width$} = {unknown}", "status"),
        ));
    }
}

/// An update or replace: the changed attributes, the rest folded.
fn changed(lines: &mut Vec<Line>, change: &ImageChange) {
    let replace = matches!(change.action, Action::Replace { .. });
    let width = name_width(
        change
            .field_changes
            .iter()
            .map(|c| c.field.as_str())
            .chain(["id"])
            .chain(replace.then_some("status")),
    );
    let id = quoted(change.prior_id.as_deref());
    if replace {
        lines.push(Line::at(
            1,
            "~",
            format!("{:width$} = {id} -> (known after apply)", "id"),
        ));
    } else {
        lines.push(Line::at(1, "", format!("{:width$} = {id}", "id")));
    }
    field_lines(lines, &change.field_changes, width, &change.member_status);
    if replace {
        let status = quoted(change.prior_status.as_deref());
        let status = format!("{status} -> (known after apply)");
        lines.push(Line::at(1, "~", format!("{:width$} = {status}", "status")));
    }
    hidden(
        lines,
        Field::ALL.len() - change.field_changes.len(),
        "attribute",
    );
}

/// The block of one object changed outside imsform.
pub(crate) fn drift(drift: &ImageDrift) -> Vec<Line> {
    let address = &drift.address;
    let key = address.key();
    let id = quoted(Some(&drift.image_id));
    let Some(_) = &drift.after else {
        return vec![
            Line::raw(format!("  # {address} has been deleted")),
            Line::at(0, "-", format!("image \"{key}\" {{")),
            Line::at(1, "-", format!("{:4} = {id}", "id")),
            Line::at(
                1,
                "-",
                format!("name = {}", quoted(Some(&drift.before.name))),
            ),
            Line::at(
                1,
                "",
                format!("# ({} unchanged attributes hidden)", Field::ALL.len() - 1),
            ),
            Line::at(0, "", "}"),
        ];
    };
    let mut lines = vec![
        Line::raw(format!("  # {address} has changed")),
        Line::at(0, "~", format!("image \"{key}\" {{")),
    ];
    let width = name_width(
        drift
            .field_changes
            .iter()
            .map(|c| c.field.as_str())
            .chain(["id"])
            .chain(drift.status.as_ref().map(|_| "status")),
    );
    lines.push(Line::at(1, "", format!("{:width$} = {id}", "id")));
    field_lines(&mut lines, &drift.field_changes, width, &BTreeMap::new());
    if let Some(status) = &drift.status {
        let (b, a) = (quoted(Some(&status.before)), quoted(Some(&status.after)));
        lines.push(Line::at(
            1,
            "~",
            format!("{:width$} = {b} -> {a}", "status"),
        ));
    }
    hidden(
        &mut lines,
        Field::ALL.len() - drift.field_changes.len(),
        "attribute",
    );
    lines.push(Line::at(0, "", "}"));
    lines
}
