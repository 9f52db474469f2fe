//! The lines of the human and markdown renderings, and the attribute lines every kind's blocks
//! are made of (`~ name = "a" -> "b"`, folded unchanged attributes, tag maps, member sets,
//! description line diffs). Produces plain [`Line`]s; colour and markdown conversion happen in
//! the renderers; each kind's block (`image.rs`, `replica.rs`) is assembled from these.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::manifest::model::Field;
use crate::plan::FieldChange;

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
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

pub(crate) fn quoted(text: Option<&str>) -> String {
    text.map_or_else(|| "null".into(), |t| Value::from(t).to_string())
}

pub(crate) fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(str::len).max().unwrap_or(0)
}

pub(crate) fn hidden(lines: &mut Vec<Line>, count: usize, noun: &str) {
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
