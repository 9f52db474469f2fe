//! Manifest files as text: reading each one with a size cap and a UTF-8 check, and parsing it
//! into a `marked_yaml` node tree after the pre-checks the parser does not make (one document
//! only, bounded nesting). Finding the files is `discover.rs`.
//!
//! This file turns every failure into a [`Diagnostic`]; it knows nothing of the manifest format
//! beyond "a YAML mapping".

use std::io::Read;
use std::path::{Path, PathBuf};

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, LoaderOptions, Marker, Node};

use super::diagnostic::{Diagnostic, Label, Snippet};

/// Files larger than this are refused: manifests are small, and a cap keeps a stray disk image
/// or log named `*.yaml` from eating memory.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// The deepest block indentation (columns of spaces and `- `/`? ` indicators) accepted. The
/// parser recurses once per nesting level, so this bounds its stack; a manifest needs about 10.
/// Flow nesting (`[`, `{`) is capped by the scanner itself at 255 levels.
pub const MAX_INDENT: usize = 256;

/// One manifest file's text, with an index of line starts for snippets.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// As shown in diagnostics: relative to the base directory when inside it.
    pub path: PathBuf,
    /// The directory holding the file on disk: paths written in it (`file:`) are relative to it.
    pub dir: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        SourceFile {
            path,
            dir,
            text,
            line_starts,
        }
    }

    /// The same file, found on disk in `dir`.
    pub fn in_dir(mut self, dir: &Path) -> SourceFile {
        self.dir = dir.to_path_buf();
        self
    }

    /// The text of 1-based line `line`, without its line break ("" past the end).
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.line_starts.get(i)) else {
            return "";
        };
        let rest = &self.text[start..];
        let line = rest.split('\n').next().unwrap_or_default();
        line.strip_suffix('\r').unwrap_or(line)
    }

    /// A label at 1-based `line` and `column` (characters) underlining `width` characters.
    pub fn label(&self, line: usize, column: usize, width: usize) -> Label {
        Label {
            file: self.path.clone(),
            snippet: Some(Snippet {
                line,
                column,
                text: self.line_text(line).to_owned(),
                width,
            }),
            note: None,
        }
    }

    /// A label at a parser marker.
    pub fn label_at(&self, marker: &Marker, width: usize) -> Label {
        self.label(marker.line(), marker.column(), width)
    }

    /// The byte offset of a parser marker (markers count characters).
    pub fn byte_offset(&self, marker: &Marker) -> usize {
        self.text
            .char_indices()
            .nth(marker.character())
            .map_or(self.text.len(), |(at, _)| at)
    }

    /// A label at byte offset `at`.
    pub fn label_at_byte(&self, at: usize, width: usize) -> Label {
        let line = self
            .line_starts
            .partition_point(|start| *start <= at)
            .max(1);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..at)
            .map_or(1, |s| s.chars().count() + 1);
        self.label(line, column, width)
    }
}

/// Reads one file: refused above [`MAX_FILE_BYTES`] or when it is not UTF-8.
pub fn read(shown: &Path, path: &Path) -> Result<SourceFile, Diagnostic> {
    let cannot = |error: std::io::Error| {
        Diagnostic::error(format!("cannot read `{}`: {error}", shown.display()))
            .at(Label::file(shown))
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Diagnostic::error(format!(
            "`{}` is larger than {} MB: it is not a manifest",
            shown.display(),
            MAX_FILE_BYTES / (1024 * 1024)
        ))
        .at(Label::file(shown))
        .hint("split the manifests into several files, or pass only the manifest paths"));
    }
    // A byte order mark may start a YAML stream; editors do not show it, so neither do we.
    if bytes.starts_with("\u{feff}".as_bytes()) {
        bytes.drain(..3);
    }
    String::from_utf8(bytes)
        .map(|text| {
            let dir = path.parent().unwrap_or_else(|| Path::new(""));
            SourceFile::new(shown.to_path_buf(), text).in_dir(dir)
        })
        .map_err(|error| not_utf8(shown, error))
}

fn not_utf8(shown: &Path, error: std::string::FromUtf8Error) -> Diagnostic {
    let valid_up_to = error.utf8_error().valid_up_to();
    let bytes = error.into_bytes();
    // The prefix up to valid_up_to is valid UTF-8 by definition of valid_up_to.
    let valid = String::from_utf8_lossy(&bytes[..valid_up_to]);
    let line = valid.matches('\n').count() + 1;
    let line_start = valid.rfind('\n').map_or(0, |at| at + 1);
    let column = valid[line_start..].chars().count() + 1;
    let file = SourceFile::new(shown.to_path_buf(), valid[line_start..].to_owned());
    let mut label = file.label(1, column, 1);
    if let Some(snippet) = label.snippet.as_mut() {
        snippet.line = line;
    }
    Diagnostic::error(format!(
        "`{}` is not valid UTF-8 (byte 0x{:02x} at offset {valid_up_to})",
        shown.display(),
        bytes[valid_up_to]
    ))
    .at(label.with_note("invalid byte here"))
    .hint("save the file as UTF-8")
}

/// Parses a file into its top-level mapping, with the problem that stopped or marred parsing.
/// A duplicate key is reported, then the file is read again with the last value of each key
/// winning, so that the file's other problems are reported in the same run.
pub fn parse(file: &SourceFile) -> (Option<MarkedMappingNode>, Option<Diagnostic>) {
    if let Err(diagnostic) = precheck(file) {
        return (None, Some(diagnostic));
    }
    match parse_with(file, true) {
        Ok(mapping) => (Some(mapping), None),
        Err(error @ LoadError::DuplicateKey(_)) => {
            (parse_with(file, false).ok(), Some(load_error(file, error)))
        }
        Err(error) => (None, Some(load_error(file, error))),
    }
}

fn parse_with(file: &SourceFile, strict: bool) -> Result<MarkedMappingNode, LoadError> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(strict)
        .prevent_coercion(true);
    match marked_yaml::parse_yaml_with_options(0, &file.text, options)? {
        Node::Mapping(mapping) => Ok(mapping),
        // parse_yaml_with_options requires a top-level mapping by default; kept for safety.
        _ => Err(LoadError::TopLevelMustBeMapping(Marker::new(0, 0, 1, 1))),
    }
}

/// What the parser would get wrong or silently accept: an empty file, a second document
/// (only the first would be read), nesting deep enough to exhaust the stack.
fn precheck(file: &SourceFile) -> Result<(), Diagnostic> {
    let content = |line: &str| !line.trim().is_empty() && !line.trim_start().starts_with('#');
    if !file.text.lines().any(content) {
        return Err(Diagnostic::error(format!(
            "`{}` is empty: a manifest has `images`, `defaults` or `moved`",
            file.path.display()
        ))
        .at(Label::file(&file.path))
        .hint("delete the file, or add `images:` with at least one image"));
    }
    let mut seen_content = false;
    for (index, line) in file.text.lines().enumerate() {
        let marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(char::is_whitespace);
        if marker && seen_content {
            return Err(Diagnostic::error("a manifest file holds one YAML document")
                .at(file
                    .label(index + 1, 1, 3)
                    .with_note("a second document starts here"))
                .hint("put each document in its own file"));
        }
        seen_content |= marker || (content(line) && !line.starts_with('%'));
        // The YAML parser stops at a NUL as if the file ended there: what follows would be
        // silently ignored.
        if let Some(at) = line.find('\0') {
            let column = line[..at].chars().count() + 1;
            return Err(Diagnostic::error("the file holds a NUL byte")
                .at(file.label(index + 1, column, 1))
                .hint("a manifest is text: remove the NUL byte (was the file saved as UTF-16?)"));
        }
        if indentation(line) > MAX_INDENT {
            return Err(Diagnostic::error(format!(
                "nesting is too deep (more than {MAX_INDENT} columns of indentation)"
            ))
            .at(file.label(index + 1, 1, 1))
            .hint("manifests need only a few levels: images, key, field, value"));
        }
    }
    Ok(())
}

/// Columns of leading spaces and block indicators (`- `, `? `): an upper bound on how many
/// block levels the line opens. A run of dashes in text (`-----`) does not count.
fn indentation(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match (bytes[at], bytes.get(at + 1)) {
            (b' ', _) => at += 1,
            (b'-' | b'?', Some(b' ')) => at += 2,
            _ => break,
        }
    }
    at
}

fn not_a_mapping(file: &SourceFile, line: usize, column: usize) -> Diagnostic {
    Diagnostic::error("a manifest must be a mapping at the top level")
        .at(file.label(line, column, 1))
        .hint("start with `images:`, `defaults:` or `moved:`")
}

fn load_error(file: &SourceFile, error: LoadError) -> Diagnostic {
    match error {
        LoadError::TopLevelMustBeMapping(mark) | LoadError::TopLevelMustBeSequence(mark) => {
            not_a_mapping(file, mark.line(), mark.column())
        }
        LoadError::UnexpectedAnchor(mark) => {
            Diagnostic::error("YAML anchors and aliases are not supported")
                .at(anchor_label(file, &mark))
                .hint("repeat the value, or put values shared by every image in `defaults`")
        }
        LoadError::MappingKeyMustBeScalar(mark) => {
            Diagnostic::error("mapping keys must be strings").at(file.label_at(&mark, 1))
        }
        LoadError::UnexpectedTag(mark) => {
            Diagnostic::error("YAML tags (`!name`) are not supported")
                .at(file.label_at(&mark, 1))
                .hint("remove the tag; values are typed by the field they belong to")
        }
        LoadError::ScanError(mark, error) => scan_error(file, &mark, error.info()),
        LoadError::DuplicateKey(inner) => {
            let key = inner.key.as_str();
            let width = key.chars().count();
            let at = |node: &MarkedScalarNode| {
                node.span()
                    .start()
                    .map_or_else(|| Label::file(&file.path), |m| file.label_at(m, width))
            };
            Diagnostic::error(format!("duplicate key `{key}`"))
                .at(at(&inner.key).with_note("defined again here"))
                .also(at(&inner.prev_key).with_note("first defined here"))
                .hint("each key may appear once per mapping")
        }
    }
}

/// The parser reports an anchor where the anchored node's content starts; point at the `&name`
/// (or `*name`) written before it instead.
fn anchor_label(file: &SourceFile, mark: &Marker) -> Label {
    let before = &file.text[..file.byte_offset(mark)];
    let token = before.char_indices().rev().find(|&(at, c)| {
        let starts_token = before[..at]
            .chars()
            .next_back()
            .is_none_or(|p| p.is_whitespace() || matches!(p, '[' | '{' | ','));
        matches!(c, '&' | '*') && starts_token
    });
    match token {
        Some((at, _)) => {
            let width = before[at..].find(char::is_whitespace).unwrap_or(1);
            file.label_at_byte(at, width)
        }
        None => file.label_at(mark, 1),
    }
}

/// A scanner error at the end of the file points at an empty line; point after the last
/// written character instead.
fn scan_label(file: &SourceFile, mark: &Marker) -> Label {
    if !file.line_text(mark.line()).trim().is_empty() {
        return file.label_at(mark, 1);
    }
    let end = file.text[..file.byte_offset(mark)].trim_end().len();
    file.label_at_byte(end, 1)
}

fn scan_error(file: &SourceFile, mark: &Marker, info: &str) -> Diagnostic {
    if info.contains("recursion limit exceeded") {
        return Diagnostic::error("nesting is too deep (more than 255 levels of `[` or `{`)")
            .at(file.label_at(mark, 1))
            .hint("manifests need only a few levels: images, key, field, value");
    }
    if info.contains("unknown anchor") {
        return Diagnostic::error("YAML anchors and aliases are not supported")
            .at(file.label_at(mark, 1))
            .hint("repeat the value, or put values shared by every image in `defaults`");
    }
    let tab = (info.contains("tabs") || info.contains("a tab"))
        .then(|| indenting_tab(&file.text, mark.line()))
        .flatten();
    if let Some(at) = tab {
        return Diagnostic::error("a tab in the indentation: YAML indents with spaces only")
            .at(file.label_at_byte(at, 1))
            .hint("replace the tab with spaces (two per level, as in the examples)");
    }
    Diagnostic::error(format!("invalid YAML: {info}")).at(scan_label(file, mark))
}

/// The byte offset of the first tab in the leading whitespace of line `from` (1-based) or a
/// later line. The scanner reports a tab where it noticed it, often the end of the line
/// before; the user needs the tab itself.
fn indenting_tab(text: &str, from: usize) -> Option<usize> {
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if index + 1 >= from {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            if let Some(tab) = line[..indent].find('\t') {
                return Some(offset + tab);
            }
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<MarkedMappingNode, Diagnostic> {
        match parse(&SourceFile::new("m.yaml".into(), text.to_owned())) {
            (Some(root), None) => Ok(root),
            (_, Some(problem)) => Err(problem),
            (None, None) => unreachable!("parse returns a root or a problem"),
        }
    }

    #[test]
    fn tabs_are_found_where_they_indent() {
        assert_eq!(indenting_tab("a:\n  b: 1\n\tc: 2\n", 2), Some(10));
        assert_eq!(indenting_tab("a:\n  b: 1\n \tc: 2\n", 3), Some(11));
        assert_eq!(
            indenting_tab("a: x\ty\n", 1),
            None,
            "a tab inside a value indents nothing"
        );
        assert_eq!(
            indenting_tab("\ta: 1\nb: 2\n", 2),
            None,
            "only from the reported line on"
        );
    }

    #[test]
    fn a_tab_is_reported_at_its_own_line_and_column() {
        let text = "images:\n  web:\n    name: web\n\tmin_disk: 40\n";
        let error = parsed(text).unwrap_err();
        assert!(
            error.message.contains("a tab in the indentation"),
            "{error:?}"
        );
        let snippet = error.primary.as_deref().unwrap().snippet.as_ref().unwrap();
        assert_eq!((snippet.line, snippet.column), (4, 1), "{error:?}");
        assert!(error.hint.as_deref().unwrap().contains("spaces"));
    }

    #[test]
    fn deep_flow_nesting_is_a_clear_error() {
        let error = parsed(&format!("images: {}", "[".repeat(10_000))).unwrap_err();
        assert!(error.message.contains("nesting is too deep"), "{error:?}");
    }

    #[test]
    fn deep_block_nesting_is_a_clear_error() {
        let line = "- ".repeat(10_000);
        let error = parsed(&format!("images:\n  {line}x\n")).unwrap_err();
        assert!(error.message.contains("nesting is too deep"), "{error:?}");
        let mut text = String::from("images:\n");
        for depth in 1..=10_000 {
            text.push_str(&" ".repeat(depth));
            text.push_str("k:\n");
        }
        let error = parsed(&text).unwrap_err();
        assert!(error.message.contains("nesting is too deep"), "{error:?}");
    }

    #[test]
    fn accepted_nesting_parses_without_overflow() {
        // Just under both limits, on a test thread's small stack: a mapping and a sequence per
        // line (two levels for two columns), then 250 levels of flow.
        let mut text = String::from("images:\n");
        for level in 0..(MAX_INDENT / 2) {
            text.push_str(&" ".repeat(2 * level));
            text.push_str("- k:\n");
        }
        text.push_str(&" ".repeat(MAX_INDENT - 2));
        text.push_str("- ");
        text.push_str(&"[".repeat(250));
        text.push_str(&"]".repeat(250));
        text.push('\n');
        if let Err(error) = parsed(&text) {
            panic!("{error:?}");
        }
    }

    #[test]
    fn second_document_empty_and_duplicate_keys_are_refused() {
        assert!(parsed("---\nimages: {}\n").is_ok());
        let error = parsed("images: {}\n---\nmoved: []\n").unwrap_err();
        assert!(error.message.contains("one YAML document"));
        let error = parsed("# nothing\n\n").unwrap_err();
        assert!(error.message.contains("is empty"));
        let error = parsed("images: {}\nimages: {}\n").unwrap_err();
        assert_eq!(error.message, "duplicate key `images`");
        assert_eq!(error.secondary.unwrap().snippet.unwrap().line, 1);
        let file = SourceFile::new("m.yaml".into(), "a: 1\nb: 2\na: 3\n".to_owned());
        let (root, problem) = parse(&file);
        assert!(problem.is_some(), "the duplicate is reported");
        let root = root.expect("and the file is still read, the last value winning");
        assert_eq!(root.get_scalar("a").map(|a| a.as_str()), Some("3"));
    }

    #[test]
    fn a_nul_byte_is_refused_not_taken_as_the_end_of_the_file() {
        let error = parsed("images:\n  web:\n    name: we\0b\n    min_disk: 40\n").unwrap_err();
        assert_eq!(error.message, "the file holds a NUL byte");
        assert_eq!(error.primary.unwrap().position(), "m.yaml:3:13");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("images.yaml");
        std::fs::write(&path, "\u{feff}images: {}\n").unwrap();
        let file = read(Path::new("images.yaml"), &path).unwrap();
        assert_eq!(file.text, "images: {}\n");
    }

    #[test]
    fn indentation_counts_only_spaces_and_indicators() {
        assert_eq!(indentation("    - - ? x"), 10);
        assert_eq!(indentation("  ------------------ x"), 2);
        assert_eq!(indentation("- "), 2);
        let separator = format!("description: |\n  {}\nimages: {{}}\n", "-".repeat(400));
        assert!(parsed(&separator).is_ok());
    }

    #[test]
    fn line_text_handles_crlf_and_bounds() {
        let file = SourceFile::new("m.yaml".into(), "a: 1\r\nb: 2".to_owned());
        assert_eq!(file.line_text(1), "a: 1");
        assert_eq!(file.line_text(2), "b: 2");
        assert_eq!(file.line_text(3), "");
        assert_eq!(file.line_text(0), "");
    }
}
