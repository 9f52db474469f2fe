//! Records what `imsform --version` reports besides the package version: the git commit the
//! binary was built from (`git rev-parse --short HEAD`, or "unknown" when the source is not a git
//! checkout of this crate, as in a source tarball or a crates.io download) and the target triple.
//! It must never fail the build: a missing git, or no repository, gives "unknown".

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=IMSFORM_BUILD_TARGET={target}");

    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = if is_own_checkout(&manifest_dir) {
        // Rebuild when HEAD moves: a commit, a checkout, a fetch that updates packed refs.
        for name in ["HEAD", "packed-refs"] {
            watch_git_path(&manifest_dir, name);
        }
        if let Some(branch) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
            watch_git_path(&manifest_dir, &branch);
        }
        git(&manifest_dir, &["rev-parse", "--short", "HEAD"])
    } else {
        None
    };
    let commit = commit.unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=IMSFORM_BUILD_COMMIT={commit}");
}

/// The trimmed stdout of a successful `git ARGS` run in `dir`.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Whether `dir` is the top of its git work tree: a source tarball unpacked inside some other
/// repository must not report that repository's commit.
fn is_own_checkout(dir: &Path) -> bool {
    let top = git(dir, &["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    match (top.map(|t| t.canonicalize()), dir.canonicalize()) {
        (Some(Ok(top)), Ok(dir)) => top == dir,
        _ => false,
    }
}

/// Asks cargo to rerun this script when the git file `name` (as `git rev-parse --git-path`
/// resolves it, which works in linked work trees too) changes. Only existing files are watched:
/// cargo reruns a script on every build while a watched path is missing.
fn watch_git_path(dir: &Path, name: &str) {
    if let Some(path) = git(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-path", name],
    ) && Path::new(&path).exists()
    {
        println!("cargo:rerun-if-changed={path}");
    }
}
