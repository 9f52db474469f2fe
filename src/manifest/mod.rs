//! Manifests: loading every `*.yaml`/`*.yml` under the given paths, validating them with
//! file:line:col diagnostics, and producing the validated [`model::Manifests`].
//!
//! The flow: `discover` finds the files, `source` reads and parses them (size cap, UTF-8, one document, bounded
//! nesting); `document` and `fields` read each file's node tree and check single values;
//! `assemble` merges `defaults` and checks across files. Every problem in every file is
//! collected; [`load`] fails if any of them is an error.
//!
//! Loading never touches the network or the state. Rendering diagnostics is the caller's job
//! ([`diagnostic::render_all`]): [`ManifestError::Invalid`] carries them, its `Display` is only a
//! one-line summary.

mod assemble;
pub mod diagnostic;
mod discover;
mod document;
mod fields;
pub mod model;
mod source;
mod walk;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use assemble::{USER_TAGS_MAX, derived_disk_format};
pub use diagnostic::{Diagnostic, Severity};
pub use document::{MOVED_KEYS, TOP_KEYS};
pub use fields::{DISK_FORMATS, IMAGE_KEYS, LIFECYCLE_KEYS, REPLACE_ORDERS};
pub use source::{MAX_FILE_BYTES, MAX_INDENT};

/// Manifests that cannot be used.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// At least one error diagnostic (all diagnostics, warnings included, in report order).
    #[error("{}", summary(.diagnostics))]
    Invalid { diagnostics: Vec<Diagnostic> },
}

impl ManifestError {
    /// Every diagnostic to show before the summary.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ManifestError::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

/// "2 errors and 1 warning in 3 files; the manifests are not valid": the files are those the
/// diagnostics point into (a duplicate points into two), not those read (a problem with no file, such as "no manifests
/// found", names none).
fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let mut text = plural(errors, "error");
    if warnings > 0 {
        text.push_str(&format!(" and {}", plural(warnings, "warning")));
    }
    let files: std::collections::BTreeSet<&Path> = diagnostics
        .iter()
        .flat_map(|d| [d.primary.as_deref(), d.secondary.as_deref()])
        .flatten()
        .map(|label| label.file.as_path())
        .collect();
    if !files.is_empty() {
        text.push_str(&format!(" in {}", plural(files.len(), "file")));
    }
    format!("{text}; the manifests are not valid")
}

/// "1 file", "2 files".
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Valid manifests and what they were made from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub manifests: model::Manifests,
    /// Warnings only: any error makes [`load`] fail.
    pub warnings: Vec<Diagnostic>,
    /// Each file's path (relative to the base directory when inside it) and content, in load
    /// order, for digests.
    pub files: Vec<(PathBuf, String)>,
}

/// Loads and validates every manifest under `paths` (relative ones resolved against
/// `base_dir`; none means `base_dir`).
pub fn load(paths: &[PathBuf], base_dir: &Path) -> Result<Loaded, ManifestError> {
    let (found, mut diagnostics) = discover::discover(paths, base_dir);
    if found.is_empty() && diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::error(format!(
                "no manifests (`*.yaml`, `*.yml`) found in {}",
                shown_paths(paths)
            ))
            .hint("pass the files or directories that hold the manifests"),
        );
    }
    let mut documents = Vec::new();
    let mut files = Vec::new();
    for one in read_all(&found) {
        diagnostics.extend(one.diagnostics);
        documents.extend(one.document);
        files.extend(one.file);
    }
    let manifests = assemble::assemble(documents, &mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(ManifestError::Invalid { diagnostics });
    }
    Ok(Loaded {
        manifests,
        warnings: diagnostics,
        files,
    })
}

/// What one file contributes: its document (when it parsed), its diagnostics, and its path and
/// text (when it could be read).
struct FileOutcome {
    document: Option<document::Document>,
    diagnostics: Vec<Diagnostic>,
    file: Option<(PathBuf, String)>,
}

fn read_one(shown: &Path, path: &Path) -> FileOutcome {
    let file = match source::read(shown, path) {
        Ok(file) => file,
        Err(diagnostic) => {
            return FileOutcome {
                document: None,
                diagnostics: vec![diagnostic],
                file: None,
            };
        }
    };
    let (root, problem) = source::parse(&file);
    let mut diagnostics: Vec<Diagnostic> = problem.into_iter().collect();
    let document = root.map(|root| {
        let mut walker = walk::Walker::new(&file);
        let document = document::read_document(&mut walker, &root);
        diagnostics.append(&mut walker.diagnostics);
        document
    });
    FileOutcome {
        document,
        diagnostics,
        file: Some((file.path, file.text)),
    }
}

/// Reads, parses and checks every file, spread over the available cores in contiguous chunks;
/// the outcomes come back in `found`'s order, so reports stay deterministic.
fn read_all(found: &[(PathBuf, PathBuf)]) -> Vec<FileOutcome> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || found.len() < 2 {
        return found
            .iter()
            .map(|(shown, path)| read_one(shown, path))
            .collect();
    }
    let chunk = found.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = found
            .chunks(chunk)
            .map(|files| {
                scope.spawn(move || {
                    let outcomes = files.iter().map(|(shown, path)| read_one(shown, path));
                    outcomes.collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(outcomes) => outcomes,
                // A panic in a worker is a bug; carry it to the caller unchanged.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// The manifest files of `base_dir` (what a run without paths would read) that `paths` leave
/// out, as shown relative to `base_dir`. Empty when `paths` is empty or covers them all.
pub fn left_out(paths: &[PathBuf], base_dir: &Path) -> Vec<PathBuf> {
    if paths.is_empty() {
        return Vec::new();
    }
    let real = |path: &PathBuf| std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
    let given: std::collections::BTreeSet<PathBuf> = discover::discover(paths, base_dir)
        .0
        .iter()
        .map(|(_, path)| real(path))
        .collect();
    let (all, _) = discover::discover(&[], base_dir);
    all.into_iter()
        .filter(|(_, path)| !given.contains(&real(path)))
        .map(|(shown, _)| shown)
        .collect()
}

fn shown_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "the working directory".to_owned();
    }
    let shown: Vec<String> = paths
        .iter()
        .map(|path| format!("`{}`", path.display()))
        .collect();
    shown.join(", ")
}

/// The candidate closest to `word`, if close enough to be a plausible typo ("did you mean").
pub fn closest_name<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    walk::closest(word, candidates)
}

#[cfg(test)]
mod tests;
