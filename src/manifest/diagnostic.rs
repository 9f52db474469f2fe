//! Diagnostics: one problem found in the manifests, with where it is (`file:line:col`, the source
//! line and a caret), an optional hint and an optional second place ("first defined here"), and
//! their rendering to any writer in the style of rustc and `just`.
//!
//! This file knows nothing about manifests' meaning; it must not read files (the source line is
//! captured when the diagnostic is made) and never decides on colour (the caller does).

use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;

/// How bad a problem is: errors make the manifests unusable, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A position in a file with the text of its line, for the snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The whole source line, without its line break.
    pub text: String,
    /// How many characters the caret underlines (at least one is drawn).
    pub width: usize,
}

/// A place in a file, optionally with a position and a short note printed under the caret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub file: PathBuf,
    pub snippet: Option<Snippet>,
    pub note: Option<String>,
}

impl Label {
    /// A label for a whole file (no position).
    pub fn file(file: impl Into<PathBuf>) -> Label {
        Label {
            file: file.into(),
            snippet: None,
            note: None,
        }
    }

    /// Adds the note printed next to the caret.
    /// Where the label points, for the validated model's messages.
    pub fn location(&self) -> super::model::Location {
        let (line, column) = self
            .snippet
            .as_ref()
            .map_or((0, 0), |snippet| (snippet.line, snippet.column));
        super::model::Location {
            file: self.file.clone(),
            line,
            column,
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Label {
        self.note = Some(note.into());
        self
    }

    /// `file:line:col`, or just the file.
    pub fn position(&self) -> String {
        match &self.snippet {
            Some(snippet) => format!(
                "{}:{}:{}",
                self.file.display(),
                snippet.line,
                snippet.column
            ),
            None => self.file.display().to_string(),
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where the problem is (boxed: diagnostics travel in `Result`s and should stay small).
    pub primary: Option<Box<Label>>,
    /// A related place, e.g. where a duplicate was first defined.
    pub secondary: Option<Box<Label>>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, message.into())
    }

    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, message.into())
    }

    fn new(severity: Severity, message: String) -> Diagnostic {
        Diagnostic {
            severity,
            message,
            primary: None,
            secondary: None,
            hint: None,
        }
    }

    pub fn at(mut self, label: Label) -> Diagnostic {
        self.primary = Some(Box::new(label));
        self
    }

    pub fn also(mut self, label: Label) -> Diagnostic {
        self.secondary = Some(Box::new(label));
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Writes the diagnostic, ending with a blank line; ANSI colours only when `color` is true.
    pub fn render(&self, out: &mut dyn Write, color: bool) -> io::Result<()> {
        let paint = Paint(color);
        let tone = match self.severity {
            Severity::Error => RED,
            Severity::Warning => YELLOW,
        };
        writeln!(
            out,
            "{}{}",
            paint.wrap(tone, &self.severity.to_string()),
            paint.wrap(BOLD, &format!(": {}", self.message))
        )?;
        let gutter = [&self.primary, &self.secondary]
            .iter()
            .filter_map(|label| label.as_deref()?.snippet.as_ref())
            .map(|snippet| snippet.line.to_string().len())
            .max()
            .unwrap_or(1);
        if let Some(label) = &self.primary {
            render_label(out, label, "-->", gutter, (tone, '^'), paint)?;
        }
        if let Some(label) = &self.secondary {
            render_label(out, label, ":::", gutter, (BLUE, '-'), paint)?;
        }
        if let Some(hint) = &self.hint {
            let pad = " ".repeat(gutter + 1);
            writeln!(out, "{pad}{} hint: {hint}", paint.wrap(BLUE, "="))?;
        }
        writeln!(out)
    }
}

fn render_label(
    out: &mut dyn Write,
    label: &Label,
    arrow: &str,
    gutter: usize,
    (tone, caret): (&str, char),
    paint: Paint,
) -> io::Result<()> {
    let pad = " ".repeat(gutter);
    writeln!(out, "{pad}{} {}", paint.wrap(BLUE, arrow), label.position())?;
    let Some(snippet) = &label.snippet else {
        if let Some(note) = &label.note {
            writeln!(out, "{pad} {} {note}", paint.wrap(BLUE, "="))?;
        }
        return Ok(());
    };
    let bar = paint.wrap(BLUE, "|");
    // Tabs would shift the caret; show them as single spaces so columns stay aligned.
    let text: String = snippet
        .text
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let (text, start, width) = window(&text, snippet.column.saturating_sub(1), snippet.width);
    let number = format!("{:>gutter$}", snippet.line);
    writeln!(out, "{pad} {bar}")?;
    writeln!(
        out,
        "{} {bar} {}",
        paint.wrap(BLUE, &number),
        text.trim_end()
    )?;
    let marks: String = std::iter::repeat_n(caret, width).collect();
    let note = label
        .note
        .as_deref()
        .map(|note| format!(" {note}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{pad} {bar} {}{}",
        " ".repeat(start),
        paint.wrap(tone, &format!("{marks}{note}"))
    )
}

/// Longest source line shown whole; longer ones are cut around the caret.
const MAX_SHOWN: usize = 100;

/// The part of `text` to show, the caret's offset in it and the caret's width (at least one;
/// a caret past the end of the line sits just after it).
fn window(text: &str, start: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = text.chars().collect();
    let start = start.min(chars.len());
    let (from, to) = if chars.len() <= MAX_SHOWN {
        (0, chars.len())
    } else {
        let from = start.saturating_sub(MAX_SHOWN / 3);
        (from, (from + MAX_SHOWN).min(chars.len()))
    };
    let mut shown: String = chars[from..to].iter().collect();
    let mut offset = start - from;
    if from > 0 {
        shown.insert_str(0, "...");
        offset += 3;
    }
    if to < chars.len() {
        shown.push_str("...");
    }
    let width = width.clamp(1, to.saturating_sub(start).max(1));
    (shown, offset, width)
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";

/// Wraps text in an ANSI style when colour is on.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn wrap(self, style: &str, text: &str) -> String {
        if self.0 {
            format!("{style}{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// `text` in JSON string syntax, for messages: quotes and control characters shown unambiguously.
pub fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Renders many diagnostics, in order.
pub fn render_all(diagnostics: &[Diagnostic], out: &mut dyn Write, color: bool) -> io::Result<()> {
    diagnostics
        .iter()
        .try_for_each(|diagnostic| diagnostic.render(out, color))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snippet(line: usize, column: usize, text: &str, width: usize) -> Option<Snippet> {
        Some(Snippet {
            line,
            column,
            text: text.to_owned(),
            width,
        })
    }

    fn rendered(diagnostic: &Diagnostic, color: bool) -> String {
        let mut out = Vec::new();
        diagnostic.render(&mut out, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn duplicate() -> Diagnostic {
        Diagnostic::error("two images are named `web`")
            .at(Label {
                file: "b.yaml".into(),
                snippet: snippet(12, 11, "    name: web", 3),
                note: Some("second use".into()),
            })
            .also(Label {
                file: "a.yaml".into(),
                snippet: snippet(3, 11, "    name: web", 3),
                note: Some("first used here".into()),
            })
            .hint("names need not be unique in IMS, but reviewers never want two")
    }

    #[test]
    fn renders_primary_secondary_and_hint() {
        insta::assert_snapshot!(rendered(&duplicate(), false));
    }

    #[test]
    fn renders_colour_only_when_asked() {
        assert!(!rendered(&duplicate(), false).contains('\x1b'));
        insta::assert_snapshot!(rendered(&duplicate(), true));
    }

    #[test]
    fn renders_a_warning_without_position_and_a_caret_past_the_end() {
        let whole_file = Diagnostic::warning("no images").at(Label::file("empty.yaml"));
        insta::assert_snapshot!(rendered(&whole_file, false));
        let at_end = Diagnostic::error("unexpected end of file").at(Label {
            file: "x.yaml".into(),
            snippet: snippet(1, 40, "images: [\tweb", 0),
            note: None,
        });
        insta::assert_snapshot!(rendered(&at_end, false));
    }

    #[test]
    fn long_lines_are_cut_around_the_caret() {
        let text = format!("{}{}{}", "a".repeat(150), "TARGET", "b".repeat(150));
        let long = Diagnostic::error("long").at(Label {
            file: "l.yaml".into(),
            snippet: snippet(1, 151, &text, 6),
            note: None,
        });
        let shown = rendered(&long, false);
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines[3].len() < 120, "{}", lines[3]);
        let caret = lines[4].find('^').unwrap();
        assert_eq!(&lines[3][caret..caret + 6], "TARGET");
        assert!(lines[3].contains("...a") && lines[3].ends_with("b..."));
    }
}
