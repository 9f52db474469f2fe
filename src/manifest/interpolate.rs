//! `${var.NAME}` in a string: splitting a value into literal text, escapes (`$${` writes a
//! literal `${`) and references ([`split`], pure), and [`Walker::text`], which substitutes the
//! values and reports each failed reference where it is written.
//!
//! Each reference carries its occurrence: how many `${` came before it in the value (those of
//! escapes included), so the walker can find the same `${` in the source text for a precise
//! line and column even in quoted scalars.

use marked_yaml::Node;

use super::diagnostic::{Diagnostic, Label, quoted};
use super::variables::how_to_set;
use super::walk::{Spanned, Walker, closest};

/// One piece of a string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<'s> {
    /// Text taken as written (an escape already reduced to `${`).
    Text(&'s str),
    /// `${var.NAME}`.
    Var {
        name: &'s str,
        occurrence: usize,
        /// The reference as written, e.g. `${var.build}`.
        written: &'s str,
    },
    /// A `${` that is not a valid reference.
    Bad {
        occurrence: usize,
        written: &'s str,
        why: &'static str,
    },
}

/// Splits `text`; `None` when it holds no `$` at all (the common case, no allocation).
pub fn split(text: &str) -> Option<Vec<Part<'_>>> {
    if !text.contains('$') {
        return None;
    }
    let mut parts = Vec::new();
    let mut occurrence = 0;
    let mut literal_from = 0;
    let mut at = 0;
    while let Some(found) = text[at..].find('$').map(|i| at + i) {
        let rest = &text[found..];
        if rest.starts_with("$${") {
            parts.push(Part::Text(&text[literal_from..found]));
            parts.push(Part::Text("${"));
            occurrence += 1;
            at = found + 3;
            literal_from = at;
        } else if rest.starts_with("${") {
            parts.push(Part::Text(&text[literal_from..found]));
            parts.push(reference(rest, occurrence));
            occurrence += 1;
            at = rest.find('}').map_or(text.len(), |end| found + end + 1);
            literal_from = at;
        } else {
            at = found + 1;
        }
    }
    parts.push(Part::Text(&text[literal_from..]));
    parts.retain(|part| *part != Part::Text(""));
    Some(parts)
}

/// The reference `rest` starts with (`rest` begins with `${`).
fn reference(rest: &str, occurrence: usize) -> Part<'_> {
    let Some(end) = rest.find('}') else {
        return Part::Bad {
            occurrence,
            written: rest,
            why: "has no closing `}`",
        };
    };
    let written = &rest[..=end];
    match rest[2..end].strip_prefix("var.") {
        Some(name) if super::variables::is_valid_name(name) => Part::Var {
            name,
            occurrence,
            written,
        },
        Some(_) => Part::Bad {
            occurrence,
            written,
            why: "does not name a valid variable",
        },
        None => Part::Bad {
            occurrence,
            written,
            why: "is not a variable reference",
        },
    }
}

impl Walker<'_> {
    /// A string scalar with its `${var.NAME}` references replaced by their values (and `$${`
    /// by `${`), or a diagnostic at the reference that failed. A substituted value's label notes
    /// the result, so later diagnostics about the value show what it became.
    pub fn text(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        let mut spanned = self.string(node, what)?;
        let Some(parts) = split(&spanned.value) else {
            return Some(spanned);
        };
        let mut out = String::new();
        let (mut ok, mut substituted) = (true, false);
        for part in parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var {
                    name,
                    occurrence,
                    written,
                } => match self.values.get(name).and_then(|v| v.value.as_ref()) {
                    Some((value, _)) => {
                        self.used.insert(name.to_owned());
                        out.push_str(value);
                        substituted = true;
                    }
                    None => {
                        ok = false;
                        // Only now: finding the place in the source costs a scan of the file.
                        let label = self.reference_label(node, occurrence, written);
                        self.missing(name, label);
                    }
                },
                Part::Bad {
                    occurrence,
                    written,
                    why,
                } => {
                    ok = false;
                    let label = self.reference_label(node, occurrence, written);
                    self.push(
                        Diagnostic::error(format!("`{written}` in {what} {why}"))
                            .at(label)
                            .hint("write `${var.NAME}`; `$${` writes a literal `${`"),
                    );
                }
            }
        }
        if !ok {
            return None;
        }
        if substituted {
            spanned.label.note = Some(format!("is {} with the variables", quoted(&out)));
        }
        spanned.value = out;
        Some(spanned)
    }

    /// Reports a reference to an undeclared variable, or to one without a value, at `label`.
    fn missing(&mut self, name: &str, label: Label) {
        let Some(resolved) = self.values.get(name) else {
            let hint = match closest(name, self.values.keys().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("declare it: `variables: {{ {name}: {{ default: … }} }}`"),
            };
            self.push(
                Diagnostic::error(format!("variable `{name}` is not declared"))
                    .at(label)
                    .hint(hint),
            );
            return;
        };
        self.used.insert(name.to_owned());
        if resolved.broken {
            return;
        }
        let declared = resolved.declared.clone();
        self.push(
            Diagnostic::error(format!("variable `{name}` has no value"))
                .at(label)
                .also(declared.with_note("declared here without a default"))
                .hint(how_to_set(name)),
        );
    }

    /// Where the `occurrence`-th `${` of a scalar is written, underlining `written`.
    fn reference_label(&self, node: &Node, occurrence: usize, written: &str) -> Label {
        let Some(marker) = node.span().start() else {
            return self.label(node);
        };
        let from = self.file.byte_offset(marker);
        match self.file.text[from..].match_indices("${").nth(occurrence) {
            Some((at, _)) => self.file.label_at_byte(from + at, written.chars().count()),
            None => self.label(node),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &'static str, occurrence: usize, written: &'static str) -> Part<'static> {
        Part::Var {
            name,
            occurrence,
            written,
        }
    }

    #[test]
    fn text_without_a_dollar_is_not_split() {
        assert_eq!(split("images:web.qcow2"), None);
    }

    #[test]
    fn references_escapes_and_lone_dollars() {
        assert_eq!(
            split("bucket:web-${var.build}.qcow2").unwrap(),
            [
                Part::Text("bucket:web-"),
                var("build", 0, "${var.build}"),
                Part::Text(".qcow2")
            ]
        );
        assert_eq!(
            split("$${var.x} costs $5 ${var.y}${var.z}").unwrap(),
            [
                Part::Text("${"),
                Part::Text("var.x} costs $5 "),
                var("y", 1, "${var.y}"),
                var("z", 2, "${var.z}"),
            ]
        );
    }

    #[test]
    fn bad_references_are_named() {
        let bad = |text| match split(text).unwrap().as_slice() {
            [.., Part::Bad { why, written, .. }] => (*why, written.to_string()),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            bad("a ${env.HOME}"),
            ("is not a variable reference", "${env.HOME}".into())
        );
        assert_eq!(
            bad("${var.9lives}"),
            ("does not name a valid variable", "${var.9lives}".into())
        );
        assert_eq!(
            bad("x ${var.open"),
            ("has no closing `}`", "${var.open".into())
        );
    }
}
