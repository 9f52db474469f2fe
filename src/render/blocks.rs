//! The attribute blocks of the human and markdown renderings: for one change or drift, the
//! Terraform-style lines (`# images.x will be created`, `~ name = "a" -> "b"`, folded unchanged
//! attributes, tag maps, description line diffs). Produces plain [`Line`]s; colour and markdown
//! conversion happen in the renderers.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::Group;
use crate::manifest::model::{Field, ImageAttrs};
use crate::plan::{Action, Drift, FieldChange, Reason, ResourceChange};
use crate::state::Taint;

/// One output line. `depth: None` prints `text` as is; otherwise the mark is right-aligned in a
/// column of width `4 * depth + 3` (Terraform's layout), then a space and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub depth: Option<usize>,
    pub mark: &'static str,
    pub text: String,
}

impl Line {
    pub(crate) fn raw(text: impl Into<String>) -> Line {
        Line {
            depth: None,
            mark: "",
            text: text.into(),
        }
    }

    pub(crate) fn at(depth: usize, mark: &'static str, text: impl Into<String>) -> Line {
        Line {
            depth: Some(depth),
            mark,
            text: text.into(),
        }
    }

    /// The spaces before the mark.
    pub(crate) fn padding(&self) -> usize {
        self.depth
            .map_or(0, |d| (4 * d + 3).saturating_sub(self.mark.len()))
    }
}

/// Descriptions longer than this (or multi-line) are shown as a line diff.
const LONG_TEXT: usize = 60;

/// A JSON value the way plans print it.
fn show(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The block of one change (nothing for a no-op that was not moved).
pub(crate) fn change(change: &ResourceChange) -> Vec<Line> {
    let mut lines = Vec::new();
    let address = &change.address;
    if let Some(from) = &change.moved_from {
        lines.push(Line::raw(format!("  # {from} has moved to {address}")));
    }
    let Some(group) = Group::of(change.action) else {
        if change.moved_from.is_some() {
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

pub(crate) fn quoted(text: Option<&str>) -> String {
    text.map_or_else(|| "null".into(), |t| Value::from(t).to_string())
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

fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(str::len).max().unwrap_or(0)
}

/// An update or replace: the changed attributes, the rest folded.
fn changed(lines: &mut Vec<Line>, change: &ResourceChange) {
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

fn hidden(lines: &mut Vec<Line>, count: usize, noun: &str) {
    if count > 0 {
        let plural = if count == 1 { "" } else { "s" };
        lines.push(Line::at(
            1,
            "",
            format!("# ({count} unchanged {noun}{plural} hidden)"),
        ));
    }
}

/// The lines of changed fields; `members` gives the status of each member refresh read.
pub(crate) fn field_lines(
    lines: &mut Vec<Line>,
    changes: &[FieldChange],
    width: usize,
    members: &BTreeMap<String, String>,
) {
    for change in changes {
        let name = change.field.as_str();
        let forces = if change.forces_replacement {
            " # forces replacement"
        } else {
            ""
        };
        if change.field == Field::Tags {
            tag_lines(lines, change, width);
        } else if change.field == Field::ShareWith {
            member_lines(lines, change, width, members);
        } else if change.field == Field::Description && is_long(change) {
            text_diff(lines, change, width);
        } else {
            let (before, after) = (show(&change.before), show(&change.after));
            lines.push(Line::at(
                1,
                "~",
                format!("{name:width$} = {before} -> {after}{forces}"),
            ));
        }
    }
}

fn is_long(change: &FieldChange) -> bool {
    [&change.before, &change.after].into_iter().any(|v| {
        v.as_str()
            .is_some_and(|t| t.contains('\n') || t.chars().count() > LONG_TEXT)
    })
}

fn tag_lines(lines: &mut Vec<Line>, change: &FieldChange, width: usize) {
    lines.push(Line::at(1, "~", format!("{:width$} = {{", "tags")));
    let key_width = change
        .tags
        .iter()
        .map(|t| t.key.len() + 2)
        .max()
        .unwrap_or(0);
    for tag in &change.tags {
        let key = Value::from(tag.key.as_str()).to_string();
        let text = |v: &Option<String>| quoted(v.as_deref());
        let (mark, value) = match (&tag.before, &tag.after) {
            (None, after) => ("+", text(after)),
            (before, None) => ("-", format!("{} -> null", text(before))),
            (before, after) => ("~", format!("{} -> {}", text(before), text(after))),
        };
        lines.push(Line::at(2, mark, format!("{key:key_width$} = {value}")));
    }
    let total = change.before.as_object().map_or(0, serde_json::Map::len);
    let touched = change.tags.iter().filter(|t| t.before.is_some()).count();
    if total > touched {
        let count = total - touched;
        let plural = if count == 1 { "" } else { "s" };
        lines.push(Line::at(
            2,
            "",
            format!("# ({count} unchanged element{plural} hidden)"),
        ));
    }
    lines.push(Line::at(1, "", "}"));
}

/// A set of members: the projects added and removed (with the status of those removed), the
/// others counted.
fn member_lines(
    lines: &mut Vec<Line>,
    change: &FieldChange,
    width: usize,
    members: &BTreeMap<String, String>,
) {
    let set = |value: &Value| -> BTreeSet<String> {
        let items = value.as_array().map_or(&[][..], Vec::as_slice);
        items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let (before, after) = (set(&change.before), set(&change.after));
    lines.push(Line::at(1, "~", format!("{:width$} = [", "share_with")));
    for project in after.difference(&before) {
        lines.push(Line::at(2, "+", format!("{},", quoted(Some(project)))));
    }
    for project in before.difference(&after) {
        let status = members
            .get(project)
            .map_or_else(String::new, |s| format!(" # {s}"));
        lines.push(Line::at(
            2,
            "-",
            format!("{},{status}", quoted(Some(project))),
        ));
    }
    let kept: Vec<&String> = before.intersection(&after).collect();
    if !kept.is_empty() {
        let plural = if kept.len() == 1 { "" } else { "s" };
        let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
        for project in &kept {
            if let Some(status) = members.get(*project) {
                *statuses.entry(status.as_str()).or_default() += 1;
            }
        }
        let counted: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let statuses = if counted.is_empty() {
            String::new()
        } else {
            format!(": {}", counted.join(", "))
        };
        let text = format!(
            "# ({} unchanged element{plural} hidden{statuses})",
            kept.len()
        );
        lines.push(Line::at(2, "", text));
    }
    lines.push(Line::at(1, "", "]"));
}

/// A long or multi-line description as a line diff inside a heredoc.
fn text_diff(lines: &mut Vec<Line>, change: &FieldChange, width: usize) {
    let before = change.before.as_str().unwrap_or("");
    let after = change.after.as_str().unwrap_or("");
    lines.push(Line::at(
        1,
        "~",
        format!("{:width$} = <<-EOT", "description"),
    ));
    let diff = TextDiff::from_lines(before, after);
    for op in diff.iter_all_changes() {
        let mark = match op.tag() {
            ChangeTag::Equal => "",
            ChangeTag::Delete => "-",
            ChangeTag::Insert => "+",
        };
        lines.push(Line::at(2, mark, op.value().trim_end_matches('\n')));
    }
    lines.push(Line::at(1, "", "EOT"));
}

/// The block of one object changed outside imsform.
pub(crate) fn drift(drift: &Drift) -> Vec<Line> {
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
