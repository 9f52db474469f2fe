//! The markdown rendering of a plan, for pull-request comments and job summaries: a title with
//! the counts, a warning when anything is destroyed or replaced, the summary of addresses, the
//! details in a `diff` block inside `<details>`, drift in its own `<details>`.
//!
//! The details list destroys and replaces first, then the other changes by address. A size
//! limit is honoured by dropping whole resources from the middle of the details (and of the
//! drift) with a "… N resource(s) omitted (M lines) …" marker, never the summary. Only when the summary alone is over the
//! limit are the create and update groups shortened; destroys and replaces are always listed.

use std::io::{self, Write};

use super::blocks::Line;
use super::human::{self, plain};
use super::instance::recovery_sentence;
use super::{Group, NO_CHANGES, plan_line, summary};
use crate::plan::{Plan, PlanMode};

/// GitHub's comment limit is 65,536 characters; leave room for what CI adds.
pub const DEFAULT_LIMIT: usize = 60_000;

/// Addresses kept per create/update group when the summary has to be shortened.
const SHORT_GROUP: usize = 20;

/// Writes `plan` as markdown of at most about `limit` characters.
pub fn write_plan(out: &mut impl Write, plan: &Plan, limit: usize) -> io::Result<()> {
    out.write_all(render(plan, limit).as_bytes())
}

/// The markdown of `plan`.
pub fn render(plan: &Plan, limit: usize) -> String {
    // Destroys and replaces first, so that a cut middle spares them.
    let mut ordered: Vec<_> = plan.changes.iter().collect();
    ordered.sort_by_cached_key(|c| {
        (
            Group::of(c.action()).is_none_or(|g| !g.destructive()),
            c.address(),
        )
    });
    let details = diff_text(&human::detail_lines(ordered.into_iter()));
    let drift = diff_text(&human::drift_lines(plan));
    let mut head = head(plan, None);
    let full = document(plan, &head, &details, &drift);
    if full.chars().count() <= limit {
        return full;
    }
    // The document without the diff lines, but with their wrappers.
    let (details_frame, drift_frame) = (frame(&details), frame(&drift));
    let skeleton = |head: &str| document(plan, head, &details_frame, &drift_frame);
    let mut fixed = skeleton(&head).chars().count() + 2 * MARKER_ROOM;
    if fixed > limit {
        head = head_short(plan);
        fixed = skeleton(&head).chars().count() + 2 * MARKER_ROOM;
    }
    let available = limit.saturating_sub(fixed);
    let drift_len = text_len(&drift);
    let drift_budget = drift_len.min(available / 3);
    let details_budget = available - drift_budget;
    let details = cut_middle(details, details_budget);
    let drift = cut_middle(drift, drift_budget);
    document(plan, &head, &details, &drift)
}

/// One empty line standing for non-empty `lines`, so that the skeleton keeps their wrapper.
fn frame(lines: &[String]) -> Vec<String> {
    if lines.is_empty() {
        Vec::new()
    } else {
        vec![String::new()]
    }
}

fn head_short(plan: &Plan) -> String {
    head(plan, Some(SHORT_GROUP))
}

/// Room kept for a marker line and the newlines around it.
const MARKER_ROOM: usize = 48;

fn text_len(lines: &[String]) -> usize {
    lines.iter().map(|l| l.chars().count() + 1).sum()
}

/// The title, banner, summary and recovery. `short`: list at most that many addresses of the
/// create and update groups.
fn head(plan: &Plan, short: Option<usize>) -> String {
    let mut text = String::new();
    let counts = plan.counts();
    let title = if plan.mode == PlanMode::RefreshOnly {
        format!(
            "refresh-only, {} object(s) changed outside imsform",
            plan.drift.len()
        )
    } else if plan.changes_images() || !plan.moves.is_empty() || counts.import > 0 {
        let imports = match counts.import {
            0 => String::new(),
            n => format!("{n} to import, "),
        };
        format!(
            "{imports}{} to add, {} to change, {} to destroy",
            counts.add, counts.change, counts.destroy
        )
    } else {
        "no changes".to_owned()
    };
    text.push_str(&format!("### imsform plan: {title}\n\n"));
    for warning in super::warnings::of(plan) {
        text.push_str(&warning_banner(&warning));
    }
    if plan.destroys_anything() {
        text.push_str(&format!(
            "> [!WARNING]\n> This plan destroys {} image(s), replacements included. Review the \
             addresses below before approving.\n\n",
            counts.destroy
        ));
    }
    let groups = summary(plan);
    if !groups.is_empty() {
        for (group, addresses) in groups {
            let keep = match short {
                Some(n) if !group.destructive() => n.min(addresses.len()),
                _ => addresses.len(),
            };
            let listed: Vec<String> = addresses[..keep].iter().map(|a| format!("`{a}`")).collect();
            let more = addresses.len() - keep;
            let rest = if more > 0 {
                format!(" … and {more} more")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "- **{} `{}` ({})**: {}{rest}\n",
                heading(group),
                group.symbol(),
                addresses.len(),
                listed.join(", ")
            ));
        }
        text.push('\n');
    }
    for moved in &plan.moves {
        text.push_str(&format!("- `{}` has moved to `{}`\n", moved.from, moved.to));
    }
    let imports: Vec<&crate::plan::ImageChange> = plan.imports().collect();
    for change in &imports {
        let id = change.importing.as_deref().unwrap_or_default();
        text.push_str(&format!("- `{}` is imported from `{id}`\n", change.address));
    }
    if !imports.is_empty() {
        text.push('\n');
    }
    if !plan.moves.is_empty() {
        text.push('\n');
    }
    if !plan.recovery.is_empty() {
        text.push_str("**Interrupted operations** (resolved before anything else):\n\n");
        for recovery in &plan.recovery {
            text.push_str(&format!("- {}\n", recovery_sentence(recovery)));
        }
        text.push('\n');
    }
    if !plan.untracked.is_empty() {
        text.push_str(&format!(
            "**{}** ({}): {}\n\n",
            super::recovery::UNTRACKED_TITLE,
            plan.untracked.len(),
            super::recovery::UNTRACKED_INTRO
        ));
        for untracked in &plan.untracked {
            let sentence = super::recovery::untracked_sentence(untracked);
            text.push_str(&format!("- {sentence}\n"));
        }
        text.push('\n');
    }
    text
}

/// A warning as a GitHub alert; its indented lines (commands) in one code block.
fn warning_banner(warning: &super::warnings::Warning) -> String {
    let mut text = format!("> [!WARNING]\n> **{}**\n", warning.title);
    let mut in_code = false;
    for line in &warning.lines {
        match (line.strip_prefix("    "), in_code) {
            (Some(command), false) => text.push_str(&format!(">\n> ```\n> {command}\n")),
            (Some(command), true) => text.push_str(&format!("> {command}\n")),
            (None, true) => text.push_str(&format!("> ```\n> {line}\n")),
            (None, false) => text.push_str(&format!("> {line}\n")),
        }
        in_code = line.starts_with("    ");
    }
    if in_code {
        text.push_str("> ```\n");
    }
    text.push('\n');
    text
}

fn heading(group: Group) -> String {
    let mut heading = group.heading().to_owned();
    if let Some(first) = heading.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    heading
}

/// Puts the pieces together.
fn document(plan: &Plan, head: &str, details: &[String], drift: &[String]) -> String {
    let mut text = head.to_owned();
    if !details.is_empty() {
        text.push_str(&collapsible(
            &format!("Details ({})", plan_line(plan.counts())),
            details,
        ));
    }
    if !drift.is_empty() {
        let title = format!("Objects changed outside imsform ({})", plan.drift.len());
        text.push_str(&collapsible(&title, drift));
    }
    let imports = plan.imports().next().is_some();
    if plan.mode != PlanMode::RefreshOnly
        && !plan.changes_images()
        && plan.moves.is_empty()
        && !imports
    {
        text.push_str(NO_CHANGES);
        text.push('\n');
    }
    text
}

fn collapsible(title: &str, lines: &[String]) -> String {
    let longest_run = lines.iter().map(|l| backtick_run(l)).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    format!(
        "<details><summary>{title}</summary>\n\n{fence}diff\n{}\n{fence}\n\n</details>\n\n",
        lines.join("\n")
    )
}

fn backtick_run(line: &str) -> usize {
    line.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Lines in diff form: the mark moves to column 0 (`~` and replacements become `!`), so GitHub
/// colours them.
fn diff_text(lines: &[Line]) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().map(diff_line).collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

fn diff_line(line: &Line) -> String {
    let text = plain(line);
    let column = match line.mark {
        "" => return text,
        "+" | "-" => line.mark,
        _ => "!",
    };
    let blanked = " ".repeat(line.mark.len());
    let start = line.padding();
    let rest = format!(
        "{}{blanked}{}",
        &text[..start],
        &text[start + line.mark.len()..]
    );
    format!("{column}{}", &rest[1..])
}

/// Keeps the first and the last resources of `lines` within `budget` characters, with a marker
/// between. Only whole resources are dropped: a reader never sees attributes without the
/// `# images.x will be …` line that says whose they are.
fn cut_middle(lines: Vec<String>, budget: usize) -> Vec<String> {
    if text_len(&lines) <= budget {
        return lines;
    }
    let blocks = resource_blocks(&lines);
    let half = budget / 2;
    let mut head_end = 0;
    let mut used = 0;
    while head_end < blocks.len() && used + text_len(blocks[head_end]) <= half {
        used += text_len(blocks[head_end]);
        head_end += 1;
    }
    let mut tail_start = blocks.len();
    used = 0;
    while tail_start > head_end && used + text_len(blocks[tail_start - 1]) <= half {
        used += text_len(blocks[tail_start - 1]);
        tail_start -= 1;
    }
    let omitted = &blocks[head_end..tail_start];
    let omitted_lines: usize = omitted.iter().map(|block| block.len()).sum();
    let mut kept: Vec<String> = blocks[..head_end].concat();
    kept.push(format!(
        "… {} resource(s) omitted ({omitted_lines} lines) …",
        omitted.len()
    ));
    kept.push(String::new());
    kept.extend(blocks[tail_start..].concat());
    while kept.last().is_some_and(String::is_empty) {
        kept.pop();
    }
    kept
}

/// `lines` split where each resource starts: a `# address …` line at the outer indentation,
/// first or after an empty line. Each block keeps its trailing empty line.
fn resource_blocks(lines: &[String]) -> Vec<&[String]> {
    let starts = (0..lines.len())
        .filter(|&i| lines[i].starts_with("  # ") && (i == 0 || lines[i - 1].is_empty()));
    let mut bounds: Vec<usize> = starts.collect();
    if bounds.first() != Some(&0) {
        bounds.insert(0, 0);
    }
    bounds.push(lines.len());
    bounds.windows(2).map(|w| &lines[w[0]..w[1]]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(count: usize) -> Vec<String> {
        let mut lines = Vec::new();
        for i in 0..count {
            lines.push(format!("  # images.r{i:03} will be created"));
            lines.push(format!("+   image \"r{i:03}\" {{"));
            lines.push("+       min_disk = 40".to_owned());
            lines.push("    }".to_owned());
            lines.push(String::new());
        }
        lines.pop();
        lines
    }

    #[test]
    fn cut_middle_drops_whole_resources_only_and_counts_them() {
        let lines = resources(100);
        let kept = cut_middle(lines.clone(), 1_000);
        assert_eq!(
            kept.first().map(String::as_str),
            Some("  # images.r000 will be created")
        );
        assert_eq!(kept.last().map(String::as_str), Some("    }"));
        assert!(kept.iter().any(|l| l.contains("images.r099")));
        let at = kept.iter().position(|l| l.contains("omitted")).unwrap();
        assert!(kept[at - 1].is_empty(), "the cut follows a whole resource");
        assert!(kept[at + 1].is_empty());
        assert!(kept[at + 2].starts_with("  # images.r"), "{}", kept[at + 2]);
        let marker: Vec<&str> = kept[at].split(' ').collect();
        let resources: usize = marker[1].parse().unwrap();
        let headers = kept.iter().filter(|l| l.starts_with("  # ")).count();
        assert_eq!(headers + resources, 100);
        assert!(text_len(&kept) <= 1_000 + MARKER_ROOM);
        assert_eq!(cut_middle(lines.clone(), 10_000), lines);
    }

    #[test]
    fn a_resource_larger_than_half_the_budget_is_dropped_whole() {
        let mut lines = resources(3);
        lines.splice(2..2, (0..200).map(|i| format!("+       tag{i} = \"x\"")));
        let kept = cut_middle(lines, 400);
        assert!(!kept.iter().any(|l| l.contains("tag")), "{kept:?}");
        assert!(
            kept.iter()
                .any(|l| l.contains("1 resource(s) omitted (205 lines)"))
        );
    }

    #[test]
    fn the_fence_outgrows_backticks_in_the_content() {
        let text = collapsible("t", &["a ```` b".to_owned()]);
        assert!(text.contains("\n`````diff\n"), "{text}");
        assert!(collapsible("t", &["plain".to_owned()]).contains("\n```diff\n"));
    }

    #[test]
    fn diff_lines_move_the_mark_to_column_zero() {
        let line = |depth, mark: &'static str| Line {
            depth: Some(depth),
            mark,
            text: "x".into(),
        };
        assert_eq!(diff_line(&line(1, "~")), "!       x");
        assert_eq!(diff_line(&line(1, "+")), "+       x");
        assert_eq!(diff_line(&line(0, "-/+")), "!   x");
        assert_eq!(diff_line(&line(0, "-")), "-   x");
        assert_eq!(diff_line(&line(1, "")), "        x");
    }
}
