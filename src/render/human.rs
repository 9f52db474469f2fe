//! The human rendering of a plan, in Terraform's words and layout: drift, recovery, a legend of
//! the symbols used, a summary by action (destroys and replaces first), the details, and the
//! `Plan:` line. ANSI colour only when the caller asks for it.

use std::io::{self, Write};

use super::blocks::Line;
use super::instance::{change_block, drift_block, recovery_sentence};
use super::{NO_CHANGES, plan_line, recovery, summary};
use crate::plan::{Change, Plan, PlanMode};

/// Writes `plan` for a terminal or a log.
pub fn write_plan(out: &mut impl Write, plan: &Plan, color: bool) -> io::Result<()> {
    let paint = Painter { color };
    for line in plan_lines(plan) {
        paint.write(out, &line)?;
    }
    Ok(())
}

/// The whole rendering as lines, without colour: the plan, then its warnings.
pub(crate) fn plan_lines(plan: &Plan) -> Vec<Line> {
    let mut lines = body_lines(plan);
    for warning in super::warnings::of(plan) {
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!("Warning: {}", warning.title)));
        lines.push(Line::raw(""));
        lines.extend(warning.lines.into_iter().map(Line::raw));
    }
    lines
}

/// The plan without its warnings (markdown reuses the sections).
fn body_lines(plan: &Plan) -> Vec<Line> {
    let mut lines = Vec::new();
    lines.extend(drift_section(plan));
    lines.extend(recovery_section(plan));
    lines.extend(untracked_section(plan));
    if plan.mode == PlanMode::RefreshOnly {
        lines.push(Line::raw(if plan.drift.is_empty() {
            NO_CHANGES
        } else {
            "This is a refresh-only plan: imsform will not change any image. Apply it to record \
             the changes above in the state."
        }));
        return lines;
    }
    let imports = plan.imports().next().is_some();
    if !plan.changes_images() && plan.moves.is_empty() && !imports {
        lines.push(Line::raw(NO_CHANGES));
        return lines;
    }
    if summary(plan).is_empty() && plan.moves.is_empty() && !imports {
        // Only the recovery above changes images: its counts close the plan.
        lines.push(Line::raw(plan_line(plan.counts())));
        return lines;
    }
    lines.extend(legend(plan));
    if !summary(plan).is_empty() || !plan.moves.is_empty() {
        lines.extend(summary_lines(plan));
    }
    lines.push(Line::raw("imsform will perform the following actions:"));
    lines.push(Line::raw(""));
    lines.extend(detail_lines(plan.changes.iter()));
    lines.push(Line::raw(plan_line(plan.counts())));
    lines
}

/// "Objects changed outside imsform", empty when nothing drifted.
pub(crate) fn drift_section(plan: &Plan) -> Vec<Line> {
    if plan.drift.is_empty() {
        return Vec::new();
    }
    let mut lines = section(
        "Objects changed outside imsform",
        "imsform detected the following changes made outside imsform since the last apply:",
    );
    lines.extend(drift_lines(plan));
    if plan.mode != PlanMode::RefreshOnly {
        lines.push(Line::raw(
            "Unless the manifests were changed to match, applying this plan undoes these changes.",
        ));
        lines.push(Line::raw(""));
    }
    lines
}

/// A section's title and introduction.
fn section(title: &str, intro: &str) -> Vec<Line> {
    vec![
        Line::raw(title),
        Line::raw(""),
        Line::raw(intro),
        Line::raw(""),
    ]
}

/// The drift blocks alone.
pub(crate) fn drift_lines(plan: &Plan) -> Vec<Line> {
    let mut lines = Vec::new();
    for drift in &plan.drift {
        lines.extend(drift_block(drift));
        lines.push(Line::raw(""));
    }
    lines
}

/// What recovery of the journal will do, empty when nothing is pending.
pub(crate) fn recovery_section(plan: &Plan) -> Vec<Line> {
    if plan.recovery.is_empty() {
        return Vec::new();
    }
    let mut lines = section(
        "Interrupted operations",
        "Before anything else, imsform will resolve the journal of an interrupted run:",
    );
    for entry in &plan.recovery {
        lines.push(Line::raw(format!("  - {}", recovery_sentence(entry))));
    }
    lines.push(Line::raw(""));
    lines
}

/// The images of this lineage the state does not know, empty when there are none.
pub(crate) fn untracked_section(plan: &Plan) -> Vec<Line> {
    if plan.untracked.is_empty() {
        return Vec::new();
    }
    let mut lines = section(recovery::UNTRACKED_TITLE, recovery::UNTRACKED_INTRO);
    for untracked in &plan.untracked {
        lines.push(Line::raw(format!(
            "  - {}",
            recovery::untracked_sentence(untracked)
        )));
    }
    lines.push(Line::raw(""));
    lines
}

/// The legend of the symbols this plan uses.
fn legend(plan: &Plan) -> Vec<Line> {
    let groups = summary(plan);
    if groups.is_empty() {
        return Vec::new();
    }
    let sources = if plan.refreshed {
        "the manifests, the state and the cloud"
    } else {
        "the manifests and the state, without reading the cloud (--refresh=false),"
    };
    let mut lines = vec![Line::raw(format!(
        "imsform used {sources} to make this plan. Actions are shown with these symbols:"
    ))];
    for (group, _) in groups {
        lines.push(Line {
            depth: Some(0),
            mark: group.symbol(),
            text: group.legend().to_owned(),
        });
    }
    lines.push(Line::raw(""));
    lines
}

/// The addresses by action, destroys and replaces first.
pub(crate) fn summary_lines(plan: &Plan) -> Vec<Line> {
    let mut lines = vec![Line::raw("Summary:")];
    for (group, addresses) in summary(plan) {
        for address in addresses {
            lines.push(Line {
                depth: Some(0),
                mark: group.symbol(),
                text: address.to_string(),
            });
        }
    }
    for moved in &plan.moves {
        lines.push(Line::raw(format!(
            "    {} has moved to {}",
            moved.from, moved.to
        )));
    }
    lines.push(Line::raw(""));
    lines
}

/// The blocks of `changes`, in the order given.
pub(crate) fn detail_lines<'a>(changes: impl Iterator<Item = &'a Change>) -> Vec<Line> {
    let mut lines = Vec::new();
    for change in changes {
        let block = change_block(change);
        if !block.is_empty() {
            lines.extend(block);
            lines.push(Line::raw(""));
        }
    }
    lines
}

/// Writes lines, colouring the marks when asked.
struct Painter {
    color: bool,
}

impl Painter {
    fn write(&self, out: &mut impl Write, line: &Line) -> io::Result<()> {
        let Some(_) = line.depth else {
            if self.color && line.text.starts_with("  # ") {
                return writeln!(out, "\x1b[1m{}\x1b[0m", line.text);
            }
            return writeln!(out, "{}", line.text);
        };
        let pad = " ".repeat(line.padding());
        writeln!(out, "{pad}{} {}", self.mark(line.mark), line.text)
    }

    fn mark(&self, mark: &str) -> String {
        if !self.color {
            return mark.to_owned();
        }
        let green = |s: &str| format!("\x1b[32m{s}\x1b[0m");
        let red = |s: &str| format!("\x1b[31m{s}\x1b[0m");
        match mark {
            "+" => green(mark),
            "-" => red(mark),
            "~" => format!("\x1b[33m{mark}\x1b[0m"),
            "+/-" => format!("{}/{}", green("+"), red("-")),
            "-/+" => format!("{}/{}", red("-"), green("+")),
            other => other.to_owned(),
        }
    }
}

/// A line without colour, as plain text (for markdown and tests).
pub(crate) fn plain(line: &Line) -> String {
    let Some(_) = line.depth else {
        return line.text.clone();
    };
    let pad = " ".repeat(line.padding());
    format!("{pad}{} {}", line.mark, line.text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::*;
    use crate::plan::{PlanOptions, RemoteView};

    fn rendered(color: bool) -> String {
        let mut wanted = attrs("web");
        wanted.min_disk = 80;
        let state = state([("web", record("img-1", attrs("web")))]);
        let desired = manifests([spec("web", wanted), spec("new", attrs("new"))]);
        let view: RemoteView = view_of(&state);
        let plan = crate::plan::plan(&desired, Some(&state), Some(&view), &PlanOptions::default());
        let mut out = Vec::new();
        write_plan(&mut out, &plan.unwrap(), color).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn colour_marks_symbols_and_headers_only_when_asked() {
        let plain = rendered(false);
        let colored = rendered(true);
        assert!(!plain.contains('\x1b'));
        assert!(
            colored.contains("  \x1b[32m+\x1b[0m image \"new\" {"),
            "{colored}"
        );
        assert!(colored.contains("\x1b[32m+\x1b[0m/\x1b[31m-\x1b[0m image \"web\" {"));
        assert!(colored.contains("\x1b[1m  # images.web must be replaced\x1b[0m"));
        // Without the escapes, the coloured text is the plain text.
        let stripped = colored
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }
}
