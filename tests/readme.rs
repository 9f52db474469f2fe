//! The README's first command, run as a newcomer would on a fresh clone: every `cargo run
//! --release -- ARGS` step of it, with the same ARGS, on the binary under test, in a fresh
//! temporary copy of the repository's `examples/` (no `.imsform/`, no state). It must apply the
//! quickstart on the local cloud and then report no changes; a second run reports no changes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The first command of the README's first ```sh block (comment lines skipped).
fn first_command() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md is readable");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .expect("the README has a ```sh block");
    let line = block
        .lines()
        .find(|line| !line.starts_with('#'))
        .expect("the block has a command");
    line.trim().to_owned()
}

/// The imsform arguments of each `cargo run --release -- ARGS` step joined by `&&`.
fn steps(command: &str) -> Vec<Vec<String>> {
    command
        .split("&&")
        .map(|step| {
            let args = step
                .trim()
                .strip_prefix("cargo run --release -- ")
                .unwrap_or_else(|| panic!("`{step}` is not `cargo run --release -- ARGS`"));
            assert!(
                !args.contains(['\'', '"', '$', '`']),
                "plain words only: `{args}`"
            );
            args.split_whitespace().map(str::to_owned).collect()
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let text = name.to_string_lossy();
        // What a fresh clone does not have: the local cloud's world and state files.
        if text == ".imsform" || text.contains(".state.json") {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs every step in `dir`; returns each step's stdout. Every step must succeed.
fn run(dir: &Path, steps: &[Vec<String>]) -> Vec<String> {
    steps
        .iter()
        .map(|args| {
            let output = Command::new(env!("CARGO_BIN_EXE_imsform"))
                .args(args)
                .current_dir(dir)
                .env_remove("NO_COLOR")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success(),
                "imsform {args:?} failed:\n{stdout}\n{stderr}"
            );
            assert!(
                stderr.contains("local cloud"),
                "the local-cloud notice is missing: {stderr}"
            );
            stdout
        })
        .collect()
}

#[test]
fn the_readme_first_command_applies_the_quickstart_then_reports_no_changes() {
    let command = first_command();
    let steps = steps(&command);
    assert!(steps.len() >= 2, "apply, then plan: `{command}`");
    assert!(
        steps[0].contains(&"apply".to_owned()),
        "the first step applies: `{command}`"
    );
    let repo = tempfile::tempdir().unwrap();
    let examples: PathBuf = repo.path().join("examples");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        &examples,
    );

    let first = run(repo.path(), &steps);
    assert!(
        first[0].contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "{}",
        first[0]
    );
    assert!(first[0].contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."));
    let last = first.last().unwrap();
    assert!(
        last.contains("No changes. Your images match the manifests."),
        "{last}"
    );
    assert!(
        examples
            .join("quickstart/.imsform/local-cloud.json")
            .is_file()
    );
    assert!(examples.join("quickstart/imsform.state.json").is_file());

    let second = run(repo.path(), &steps);
    for stdout in &second {
        assert!(
            stdout.contains("No changes. Your images match the manifests."),
            "{stdout}"
        );
    }
}
