//! Finding manifest files: every `*.yaml`/`*.yml` under the given paths, skipping dot-entries,
//! deduplicated and in a stable order. Problems (a path that does not exist, a directory that
//! cannot be listed) become diagnostics; nothing here reads a file's content.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Label};

/// Every manifest file under `paths` (relative ones resolved against `base_dir`; none means
/// `base_dir` itself), sorted by displayed path and without duplicates. Directories are walked
/// recursively, skipping entries whose name starts with `.`; a file named explicitly is taken
/// whatever its extension.
pub fn discover(paths: &[PathBuf], base_dir: &Path) -> (Vec<(PathBuf, PathBuf)>, Vec<Diagnostic>) {
    let roots = if paths.is_empty() {
        vec![base_dir.to_path_buf()]
    } else {
        paths.iter().map(|path| base_dir.join(path)).collect()
    };
    let mut found = BTreeSet::new();
    let mut problems = Vec::new();
    for root in roots {
        let shown = display_path(&root, base_dir);
        match std::fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => walk_dir(&root, base_dir, &mut found, &mut problems),
            Ok(_) => {
                found.insert((shown, root));
            }
            Err(error) => problems.push(
                Diagnostic::error(format!("cannot read `{}`: {error}", shown.display()))
                    .at(Label::file(&shown)),
            ),
        }
    }
    (deduplicate(found), problems)
}

/// Drops a file reached twice under different names (`a.yaml` and `/abs/a.yaml`, or through a
/// symlink): the first name in sorted order is kept.
fn deduplicate(found: BTreeSet<(PathBuf, PathBuf)>) -> Vec<(PathBuf, PathBuf)> {
    let mut seen = BTreeSet::new();
    found
        .into_iter()
        .filter(|(_, path)| {
            seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
        })
        .collect()
}

fn walk_dir(
    dir: &Path,
    base_dir: &Path,
    found: &mut BTreeSet<(PathBuf, PathBuf)>,
    problems: &mut Vec<Diagnostic>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            let shown = display_path(dir, base_dir);
            problems.push(
                Diagnostic::error(format!("cannot list `{}`: {error}", shown.display()))
                    .at(Label::file(shown)),
            );
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // file_type() does not follow symlinks, so a symlinked directory cannot make a loop.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk_dir(&path, base_dir, found, problems);
        } else if (name.ends_with(".yaml") || name.ends_with(".yml")) && path.is_file() {
            found.insert((display_path(&path, base_dir), path));
        }
    }
}

/// `path` relative to `base_dir` when it lies inside it, else as is.
fn display_path(path: &Path, base_dir: &Path) -> PathBuf {
    match path.strip_prefix(base_dir) {
        Ok(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Ok(relative) => relative.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}
