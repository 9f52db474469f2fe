//! Reading a `marked_yaml` node tree by hand: scalars typed the YAML 1.2 core-schema way
//! (a plain `40` is an integer, a quoted `"40"` a string), mappings checked for unknown keys with
//! a "did you mean" hint, every problem pushed as a [`Diagnostic`] so one run reports them all.
//!
//! This file knows the shapes of YAML, not the meaning of manifest fields.

use std::collections::BTreeSet;

use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};

use super::diagnostic::{Diagnostic, Label};
use super::source::SourceFile;
use super::values::Values;

/// A value with the place it was written.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub label: Label,
}

/// The type of a YAML value, for "expected X, found Y" messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Integer,
    Float,
    String,
    Mapping,
    List,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Null => "nothing (null)",
            Kind::Bool => "a boolean",
            Kind::Integer => "an integer",
            Kind::Float => "a number with a fraction",
            Kind::String => "a string",
            Kind::Mapping => "a mapping",
            Kind::List => "a list",
        }
    }
}

/// The core-schema type of a scalar: quoted scalars are strings; plain ones may be null, a
/// boolean or a number.
pub fn scalar_kind(scalar: &MarkedScalarNode) -> Kind {
    if !scalar.may_coerce() {
        return Kind::String;
    }
    let text = scalar.as_str();
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Kind::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => Kind::Bool,
        ".inf" | "-.inf" | "+.inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN" => Kind::Float,
        _ if is_integer(text) => Kind::Integer,
        _ if text.parse::<f64>().is_ok() && text.chars().any(|c| c.is_ascii_digit()) => Kind::Float,
        _ => Kind::String,
    }
}

fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (digits, radix) = match digits.get(..2) {
        Some("0x") => (&digits[2..], 16),
        Some("0o") => (&digits[2..], 8),
        _ => (digits, 10),
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
}

pub fn kind(node: &Node) -> Kind {
    match node {
        Node::Scalar(scalar) => scalar_kind(scalar),
        Node::Mapping(_) => Kind::Mapping,
        Node::Sequence(_) => Kind::List,
    }
}

/// Walks one file, collecting diagnostics.
pub struct Walker<'a> {
    pub file: &'a SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    /// The variables `${var.NAME}` may name (`interpolate.rs` reads them).
    pub(super) values: &'a Values,
    /// The variables this file referred to.
    pub used: BTreeSet<String>,
}

impl<'a> Walker<'a> {
    pub fn new(file: &'a SourceFile, values: &'a Values) -> Walker<'a> {
        Walker {
            file,
            diagnostics: Vec::new(),
            values,
            used: BTreeSet::new(),
        }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// A label at a node's start, underlining a scalar's text (with its quotes).
    pub fn label(&self, node: &Node) -> Label {
        let width = match node {
            Node::Scalar(scalar) => self.scalar_width(scalar),
            _ => 1,
        };
        let Some(marker) = node.span().start() else {
            return Label::file(&self.file.path);
        };
        let empty = node
            .as_scalar()
            .is_some_and(|s| s.as_str().is_empty() && s.may_coerce());
        if !empty {
            return self.file.label_at(marker, width);
        }
        // An empty value's marker is the next token's; point just after the `:` or `-` before.
        let before = &self.file.text[..self.file.byte_offset(marker)];
        match before.trim_end().char_indices().next_back() {
            Some((at, c)) => self.file.label_at_byte(at + c.len_utf8(), 1),
            None => self.file.label_at(marker, 1),
        }
    }

    /// A label at a mapping key.
    pub fn key_label(&self, key: &MarkedScalarNode) -> Label {
        match key.span().start() {
            Some(marker) => self.file.label_at(marker, self.scalar_width(key)),
            None => Label::file(&self.file.path),
        }
    }

    /// How many characters the scalar takes on its line: its text, or for a quoted scalar the
    /// source from quote to quote (escapes make the two differ).
    fn scalar_width(&self, scalar: &MarkedScalarNode) -> usize {
        let text = scalar.as_str();
        if scalar.may_coerce() {
            return if text.contains('\n') {
                1
            } else {
                text.chars().count()
            };
        }
        let Some(marker) = scalar.span().start() else {
            return 1;
        };
        let line = self.file.line_text(marker.line());
        let source: Vec<char> = line
            .chars()
            .skip(marker.column().saturating_sub(1))
            .collect();
        quoted_width(&source)
    }

    /// Reports the node's type where `expected` was needed.
    pub fn wrong_type(&mut self, node: &Node, what: &str, expected: Kind) {
        let found = kind(node);
        let wanted = match expected {
            Kind::Bool => "`true` or `false`",
            other => other.describe(),
        };
        let mut diagnostic =
            Diagnostic::error(format!("{what} must be {wanted}, not {}", found.describe()))
                .at(self.label(node));
        if expected == Kind::String && matches!(found, Kind::Integer | Kind::Float | Kind::Bool) {
            let text = node.as_scalar().map_or("", |s| s.as_str());
            diagnostic = diagnostic.hint(format!("quote it: \"{text}\""));
        }
        self.push(diagnostic);
    }

    /// The node as a mapping (null counts as an empty one), or a type error.
    pub fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> Option<MappingRef<'n>> {
        match node {
            Node::Mapping(mapping) => Some(MappingRef::Node(mapping)),
            Node::Scalar(scalar) if scalar_kind(scalar) == Kind::Null => Some(MappingRef::Empty),
            _ => {
                self.wrong_type(node, what, Kind::Mapping);
                None
            }
        }
    }

    /// The node as a list (null counts as an empty one), or a type error.
    pub fn list<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match node {
            Node::Sequence(list) => Some(list.as_slice()),
            Node::Scalar(scalar) if scalar_kind(scalar) == Kind::Null => Some(&[]),
            _ => {
                self.wrong_type(node, what, Kind::List);
                None
            }
        }
    }

    /// A string scalar, or a type error.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match node {
            Node::Scalar(scalar) if scalar_kind(scalar) == Kind::String => Some(Spanned {
                value: scalar.as_str().to_owned(),
                label: self.label(node),
            }),
            _ => {
                self.wrong_type(node, what, Kind::String);
                None
            }
        }
    }

    /// Any scalar but null, as written (`2026.11` is the text `2026.11`), or a type error:
    /// variable values are text.
    pub fn scalar_text(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match node.as_scalar() {
            Some(scalar) if scalar_kind(scalar) != Kind::Null => Some(Spanned {
                value: scalar.as_str().to_owned(),
                label: self.label(node),
            }),
            _ => {
                self.wrong_type(node, what, Kind::String);
                None
            }
        }
    }

    /// A boolean scalar, or a type error.
    pub fn bool(&mut self, node: &Node, what: &str) -> Option<Spanned<bool>> {
        match node.as_scalar() {
            Some(scalar) if scalar_kind(scalar) == Kind::Bool => Some(Spanned {
                value: scalar.as_str().eq_ignore_ascii_case("true"),
                label: self.label(node),
            }),
            _ => {
                self.wrong_type(node, what, Kind::Bool);
                None
            }
        }
    }

    /// An integer scalar within `range`, or a diagnostic.
    pub fn integer(
        &mut self,
        node: &Node,
        what: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Option<Spanned<u32>> {
        let Some(scalar) = node.as_scalar().filter(|s| scalar_kind(s) == Kind::Integer) else {
            self.wrong_type(node, what, Kind::Integer);
            return None;
        };
        let value = parse_integer(scalar.as_str())
            .and_then(|value| u32::try_from(value).ok())
            .filter(|value| range.contains(value));
        if value.is_none() {
            let too_big = !scalar.as_str().trim_start().starts_with('-');
            let bound = if *range.end() == u32::MAX && too_big {
                format!("at most {}", range.end())
            } else if *range.end() == u32::MAX {
                format!("at least {}", range.start())
            } else {
                format!("between {} and {}", range.start(), range.end())
            };
            self.push(
                Diagnostic::error(format!("{what} must be {bound}, not {}", scalar.as_str()))
                    .at(self.label(node)),
            );
        }
        value.map(|value| Spanned {
            value,
            label: self.label(node),
        })
    }

    /// Reports every key of `mapping` not in `known`, with the closest known one as a hint.
    pub fn unknown_keys(&mut self, mapping: MappingRef<'_>, known: &[&str], what: &str) {
        for (key, _) in mapping.iter() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let mut diagnostic =
                Diagnostic::error(format!("unknown field `{}` in {what}", key.as_str()))
                    .at(self.key_label(key));
            diagnostic = match closest(key.as_str(), known.iter().copied()) {
                Some(near) => diagnostic.hint(format!("did you mean `{near}`?")),
                None => diagnostic.hint(format!("known fields: {}", known.join(", "))),
            };
            self.push(diagnostic);
        }
    }
}

/// The width of the quoted scalar `source` starts with, up to its closing quote or the end of
/// the line (a multi-line scalar); 1 for anything else (a block scalar's `|` or `>`).
fn quoted_width(source: &[char]) -> usize {
    let Some(&quote) = source.first().filter(|c| matches!(c, '"' | '\'')) else {
        return 1;
    };
    let mut at = 1;
    while at < source.len() {
        match (source[at], source.get(at + 1)) {
            ('\\', _) if quote == '"' => at += 2,
            ('\'', Some('\'')) if quote == '\'' => at += 2,
            (c, _) if c == quote => return at + 1,
            _ => at += 1,
        }
    }
    source.len()
}

fn parse_integer(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = match digits.get(..2) {
        Some("0x") => i128::from_str_radix(&digits[2..], 16).ok()?,
        Some("0o") => i128::from_str_radix(&digits[2..], 8).ok()?,
        _ => digits.parse::<i128>().ok()?,
    };
    Some(if negative { -value } else { value })
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub fn closest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// A mapping, or the empty mapping a YAML null stands for.
#[derive(Clone, Copy)]
pub enum MappingRef<'n> {
    Node(&'n MarkedMappingNode),
    Empty,
}

impl<'n> MappingRef<'n> {
    pub fn iter(self) -> impl Iterator<Item = (&'n MarkedScalarNode, &'n Node)> {
        let entries = match self {
            MappingRef::Node(mapping) => Some(mapping.iter()),
            MappingRef::Empty => None,
        };
        entries.into_iter().flatten()
    }

    pub fn get(self, key: &str) -> Option<&'n Node> {
        match self {
            MappingRef::Node(mapping) => mapping.get_node(key),
            MappingRef::Empty => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Node {
        let options = marked_yaml::LoaderOptions::default().prevent_coercion(true);
        let root = marked_yaml::parse_yaml_with_options(0, format!("v: {text}"), options).unwrap();
        root.as_mapping().unwrap().get_node("v").unwrap().clone()
    }

    #[test]
    fn scalars_are_typed_like_yaml_core_schema() {
        let cases = [
            ("40", Kind::Integer),
            ("-3", Kind::Integer),
            ("0x1F", Kind::Integer),
            ("\"40\"", Kind::String),
            ("4.5", Kind::Float),
            ("1e3", Kind::Float),
            ("true", Kind::Bool),
            ("'true'", Kind::String),
            ("~", Kind::Null),
            ("", Kind::Null),
            ("Ubuntu 22.04 server 64bit", Kind::String),
            ("inf", Kind::String),
            ("[a]", Kind::List),
            ("{a: b}", Kind::Mapping),
        ];
        for (text, expected) in cases {
            assert_eq!(kind(&value(text)), expected, "{text}");
        }
    }

    #[test]
    fn integers_are_range_checked() {
        let file = SourceFile::new("m.yaml".into(), String::new());
        let values = Values::new();
        let mut walker = Walker::new(&file, &values);
        assert_eq!(
            walker
                .integer(&value("0x10"), "x", 1..=1024)
                .map(|s| s.value),
            Some(16)
        );
        assert!(walker.integer(&value("0"), "x", 1..=1024).is_none());
        assert!(walker.integer(&value("-1"), "x", 0..=u32::MAX).is_none());
        assert!(
            walker
                .integer(&value("99999999999999"), "x", 0..=u32::MAX)
                .is_none()
        );
        assert!(walker.integer(&value("\"5\""), "x", 0..=10).is_none());
        assert_eq!(walker.diagnostics.len(), 4);
        assert_eq!(
            walker.diagnostics[1].message,
            "x must be at least 0, not -1"
        );
        // Too big for a u32 is not "less than 0".
        assert_eq!(
            walker.diagnostics[2].message,
            "x must be at most 4294967295, not 99999999999999"
        );
    }

    #[test]
    fn quoted_scalars_are_measured_in_the_source() {
        let width = |text: &str| quoted_width(&text.chars().collect::<Vec<_>>());
        assert_eq!(width(r#""a\r\nb" # c"#), 8);
        assert_eq!(width(r#""say \"hi\"", x"#), 12);
        assert_eq!(width("'it''s' x"), 7);
        assert_eq!(width("\"unterminated"), 13);
        assert_eq!(width("|"), 1);
    }

    #[test]
    fn closest_suggests_only_plausible_typos() {
        let known = ["image_url", "name", "os_version"];
        assert_eq!(closest("imgae_url", known.into_iter()), Some("image_url"));
        assert_eq!(closest("os-version", known.into_iter()), Some("os_version"));
        assert_eq!(closest("zzz", known.into_iter()), None);
    }
}
