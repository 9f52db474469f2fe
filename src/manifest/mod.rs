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
mod image_source;
mod import_checks;
pub mod imports;
mod interpolate;
pub mod model;
mod naming;
mod replicas;
mod source;
pub mod unknown_source;
pub mod upload;
mod values;
mod var_file;
pub mod variables;
mod walk;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use assemble::{USER_TAGS_MAX, derived_disk_format};
pub use diagnostic::{Diagnostic, Label, Severity};
pub use document::{MOVED_KEYS, TOP_KEYS};
pub use fields::{DISK_FORMATS, IMAGE_KEYS, LIFECYCLE_KEYS, REPLACE_ORDERS};
pub use imports::{IMPORT_KEYS, Import, ImportTarget};
pub use replicas::REPLICA_KEYS;
pub use source::{MAX_FILE_BYTES, MAX_INDENT};
pub use unknown_source::UNKNOWN_IMAGE_URL;
pub use variables::{VARIABLE_KEYS, VarArg, VarInput};

/// Manifests that cannot be used.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// At least one error diagnostic (all diagnostics, warnings included, in report order).
    #[error("{}", summary(.diagnostics))]
    Invalid { diagnostics: Vec<Diagnostic> },
    /// Values given to `apply PLANFILE` that differ from those the plan was made with, or that
    /// cannot be read.
    #[error(
        "{} with the variables; the saved plan was not applied",
        plural(.diagnostics.len(), "problem")
    )]
    PlanVariables { diagnostics: Vec<Diagnostic> },
}

impl ManifestError {
    /// Every diagnostic to show before the summary.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ManifestError::Invalid { diagnostics, .. }
            | ManifestError::PlanVariables { diagnostics } => diagnostics,
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
    /// The `import` entries, in file order, each with its place: their addresses have blocks
    /// in `manifests` and no two share an id or an address. The planner checks them against
    /// the state and the cloud (`crate::adopt::check_imports`).
    pub imports: Vec<Import>,
    /// Warnings only: any error makes [`load`] fail.
    pub warnings: Vec<Diagnostic>,
    /// Each file's path (relative to the base directory when inside it) and content, in load
    /// order, for digests.
    pub files: Vec<(PathBuf, String)>,
    /// The value of every declared variable, by name.
    pub variables: BTreeMap<String, String>,
    /// The images built from a local file (`file:`), by address: their `attrs.image_url` is
    /// empty until [`upload::resolve_image_urls`] names the object at plan time.
    pub uploads: BTreeMap<model::Address, upload::UploadSpec>,
}

/// Loads and validates every manifest under `paths` (relative ones resolved against
/// `base_dir`; none means `base_dir`), with the variables' values from `vars`.
pub fn load(paths: &[PathBuf], base_dir: &Path, vars: &VarInput) -> Result<Loaded, ManifestError> {
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
    let parsed = par_map(&found, |(shown, path)| parse_one(shown, path));
    let declared = parsed.iter().flat_map(|one| one.declared.iter().cloned());
    let mut problems = Vec::new();
    let declared = variables::unique(declared.collect(), &mut problems);
    let given = var_file::given(&vars.args, base_dir, &mut problems);
    let (values, unknown) = variables::resolve(&declared, &given, &vars.env);
    problems.extend(
        unknown
            .into_iter()
            .map(|one| variables::undeclared(one, &declared)),
    );
    let walked = par_map(&parsed, |one| walk_one(one, &values));
    let mut documents = Vec::new();
    let mut used = BTreeSet::new();
    for (one, walk) in parsed.iter().zip(walked) {
        diagnostics.extend(one.diagnostics.iter().cloned());
        diagnostics.extend(walk.diagnostics);
        documents.extend(walk.document);
        used.extend(walk.used);
    }
    diagnostics.extend(problems);
    diagnostics.extend(variables::unset_unused(&values, &used));
    let (manifests, imports, uploads) = assemble::assemble(documents, &mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(ManifestError::Invalid { diagnostics });
    }
    let files = parsed.into_iter().filter_map(|one| one.file);
    Ok(Loaded {
        manifests,
        imports,
        warnings: diagnostics,
        files: files.map(|file| (file.path, file.text)).collect(),
        variables: variables::chosen(&values),
        uploads,
    })
}

/// Checks the variable values of the command line and the environment against those a saved
/// plan (`plan_file`) recorded: each one given must be the recorded value
/// ([`variables::compare_with_recorded`]). Relative var files are read from `base_dir`.
pub fn check_plan_variables(
    recorded: &BTreeMap<String, String>,
    plan_file: &Path,
    vars: &VarInput,
    base_dir: &Path,
) -> Result<(), ManifestError> {
    let mut diagnostics = Vec::new();
    let given = var_file::given(&vars.args, base_dir, &mut diagnostics);
    let plan = Label::file(plan_file);
    diagnostics.extend(variables::compare_with_recorded(
        recorded, &plan, &given, &vars.env,
    ));
    if diagnostics.is_empty() {
        return Ok(());
    }
    Err(ManifestError::PlanVariables { diagnostics })
}

/// One file read and parsed, with its variable declarations.
struct Parsed {
    file: Option<source::SourceFile>,
    root: Option<marked_yaml::types::MarkedMappingNode>,
    declared: Vec<variables::Declared>,
    diagnostics: Vec<Diagnostic>,
}

fn parse_one(shown: &Path, path: &Path) -> Parsed {
    let file = match source::read(shown, path) {
        Ok(file) => file,
        Err(diagnostic) => {
            return Parsed {
                file: None,
                root: None,
                declared: Vec::new(),
                diagnostics: vec![diagnostic],
            };
        }
    };
    let (root, problem) = source::parse(&file);
    let mut diagnostics: Vec<Diagnostic> = problem.into_iter().collect();
    let declared = root.as_ref().map_or_else(Vec::new, |root| {
        let no_values = values::Values::new();
        let mut walker = walk::Walker::new(&file, &no_values);
        let declared = document::read_variables(&mut walker, root);
        diagnostics.append(&mut walker.diagnostics);
        declared
    });
    Parsed {
        file: Some(file),
        root,
        declared,
        diagnostics,
    }
}

/// What walking one file gives: its document, its diagnostics, the variables it used.
struct Walked {
    document: Option<document::Document>,
    diagnostics: Vec<Diagnostic>,
    used: BTreeSet<String>,
}

fn walk_one(parsed: &Parsed, values: &values::Values) -> Walked {
    let (Some(file), Some(root)) = (&parsed.file, &parsed.root) else {
        return Walked {
            document: None,
            diagnostics: Vec::new(),
            used: BTreeSet::new(),
        };
    };
    let mut walker = walk::Walker::new(file, values);
    let document = document::read_document(&mut walker, root);
    Walked {
        document: Some(document),
        diagnostics: walker.diagnostics,
        used: walker.used,
    }
}

/// `work` on every item, spread over the available cores in contiguous chunks; the results
/// come back in `items`' order, so reports stay deterministic.
fn par_map<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || items.len() < 2 {
        return items.iter().map(work).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(work).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(results) => results,
                // A panic in a worker is a bug; carry it to the caller unchanged.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Whether `base_dir` holds any manifest file (what a run without paths would read).
pub fn has_manifests(base_dir: &Path) -> bool {
    !discover::discover(&[], base_dir).0.is_empty()
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

#[cfg(test)]
mod load_variables_tests;
