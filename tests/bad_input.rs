//! The bad-input corpus: broken manifests, `imsform.toml` files, state files and plan files
//! (tests/bad_input/**, plus huge inputs made here), each fed to the real binary in a temp dir by
//! every command that reads it. Each run must exit 1 with a clear error on stderr naming the file
//! (and line:column where the format has lines), must not panic, must leave the state file
//! byte-for-byte unchanged, and must not create a state where none existed.
//! The manifest classes already in tests/manifests/invalid/ are not repeated here.

use std::path::{Path, PathBuf};
use std::process::Output;

use tempfile::TempDir;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad_input");
const VALID_STATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/state/fixtures/valid.json"
);
const STATE: &str = "imsform.state.json";

const VALID_MANIFEST: &str = "images:\n  web:\n    name: web-base\n    \
    image_url: images-bucket:web/base.zvhd2\n    os_version: CentOS 7.9 64bit\n    min_disk: 20\n";
const LOCAL_CONFIG: &str = "[cloud]\nlocal = true\n";

/// A working directory for one case.
struct Dir(TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Dir {
        std::fs::write(self.path().join(name), bytes).unwrap();
        self
    }

    fn state(&self) -> Option<Vec<u8>> {
        std::fs::read(self.path().join(STATE)).ok()
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = assert_cmd::Command::cargo_bin("imsform").unwrap();
        for name in [
            "HW_ACCESS_KEY",
            "HW_SECRET_KEY",
            "HW_REGION_NAME",
            "HW_PROJECT_ID",
        ] {
            command.env_remove(name);
        }
        command
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "1")
            .arg("-C")
            .arg(self.path())
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap()
    }

    /// Runs `args` and checks the refusal: exit 1, every `expected` text on stderr, no panic,
    /// nothing on stdout, the state untouched (and not created), no backup written.
    fn assert_refused(&self, case: &str, args: &[&str], expected: &[&str]) {
        let before = self.state();
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let what = format!("{case}: imsform {}", args.join(" "));
        assert_eq!(output.status.code(), Some(1), "{what}\n{stderr}");
        for text in expected {
            assert!(stderr.contains(text), "{what}: no {text:?} in\n{stderr}");
        }
        for panic in ["panicked at", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!stderr.contains(panic), "{what}: {panic}\n{stderr}");
        }
        assert!(output.stdout.is_empty(), "{what}: printed on stdout");
        assert_eq!(self.state(), before, "{what}: the state changed");
        let backup = self.path().join(format!("{STATE}.backup"));
        assert!(!backup.exists(), "{what}: a backup was written");
    }
}

fn corpus(kind: &str, name: &str) -> PathBuf {
    Path::new(CORPUS).join(kind).join(name)
}

/// Every file of `tests/bad_input/<kind>` must be listed in `cases` (and the reverse).
fn assert_all_listed(kind: &str, cases: &[&str]) {
    let mut files: Vec<String> = std::fs::read_dir(Path::new(CORPUS).join(kind))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut listed: Vec<String> = cases.iter().map(|c| (*c).to_owned()).collect();
    listed.sort();
    assert_eq!(files, listed, "tests/bad_input/{kind} and its table differ");
}

#[path = "bad_input/cases.rs"]
mod cases;

#[test]
fn broken_manifests_are_refused_with_file_line_and_column() {
    assert_all_listed("manifests", &cases::MANIFESTS.map(|c| c.0));
    for (file, position, message) in cases::MANIFESTS {
        let dir = Dir::new();
        dir.write(
            "images.yaml",
            std::fs::read(corpus("manifests", file)).unwrap(),
        );
        let expected = [position, message];
        dir.assert_refused(file, &["validate"], &expected);
        // `plan` reads the manifests before any state or cloud: nothing is created.
        dir.write("imsform.toml", LOCAL_CONFIG);
        dir.assert_refused(file, &["plan"], &expected);
        dir.write(STATE, std::fs::read(VALID_STATE).unwrap());
        dir.assert_refused(file, &["plan", "-out", "plan.json"], &expected);
        assert!(
            !dir.path().join("plan.json").exists(),
            "{file}: a plan was saved"
        );
    }
}

#[test]
fn broken_configurations_are_refused_with_file_line_and_column() {
    assert_all_listed("config", &cases::CONFIGS.map(|c| c.0));
    for (file, expected) in cases::CONFIGS {
        for with_state in [true, false] {
            let dir = Dir::new();
            dir.write(
                "imsform.toml",
                std::fs::read(corpus("config", file)).unwrap(),
            );
            dir.write("images.yaml", VALID_MANIFEST);
            if with_state {
                dir.write(STATE, std::fs::read(VALID_STATE).unwrap());
            }
            let expected: Vec<&str> = std::iter::once("imsform.toml")
                .chain(expected.iter().copied())
                .collect();
            for args in [
                &["state", "list"][..],
                &["show"],
                &["state", "rm", "images.web"],
                &["plan"],
            ] {
                dir.assert_refused(file, args, &expected);
            }
        }
    }
}

/// Every command that reads the state.
const STATE_COMMANDS: [&[&str]; 7] = [
    &["state", "list"],
    &["state", "show", "images.web"],
    &["state", "rm", "images.web"],
    &["state", "mv", "images.web", "images.www"],
    &["show"],
    &["show", "--json"],
    &["plan"],
];

fn assert_state_refused(case: &str, bytes: &[u8], expected: &[&str]) {
    let dir = Dir::new();
    dir.write(STATE, bytes)
        .write("imsform.toml", LOCAL_CONFIG)
        .write("images.yaml", VALID_MANIFEST);
    let expected: Vec<&str> = std::iter::once("imsform.state.json")
        .chain(expected.iter().copied())
        .collect();
    for args in STATE_COMMANDS {
        dir.assert_refused(case, args, &expected);
    }
}

#[test]
fn broken_states_are_refused_and_never_overwritten() {
    assert_all_listed("state", &cases::STATES.map(|c| c.0));
    for (file, expected) in cases::STATES {
        assert_state_refused(
            file,
            &std::fs::read(corpus("state", file)).unwrap(),
            expected,
        );
    }
}

#[test]
fn huge_inputs_are_refused_without_exhausting_the_machine() {
    // 12 MB of nesting: deeper than any JSON parser's stack should go.
    let deep = "[".repeat(12 << 20);
    assert_state_refused("deep-state", deep.as_bytes(), &["recursion limit exceeded"]);
    // A 12 MB string value in an otherwise valid state.
    let valid = std::fs::read_to_string(VALID_STATE).unwrap();
    let long = valid.replace("\"web-base\"", &format!("\"{}\"", "w".repeat(12 << 20)));
    let dir = Dir::new();
    dir.write(STATE, &long).write("imsform.toml", LOCAL_CONFIG);
    dir.write("images.yaml", VALID_MANIFEST);
    // The state parses; the manifest's `name` disagrees, so only a plan would change it: the
    // state commands accept it, which proves the size alone is no reason to refuse or crash.
    let output = dir.run(&["state", "list"]);
    assert_eq!(output.status.code(), Some(0));
    // Manifests above 10 MB are refused before parsing.
    let dir = Dir::new();
    let mut huge = String::from(VALID_MANIFEST);
    huge.push_str(&format!("# {}\n", "x".repeat(11 << 20)));
    dir.write("images.yaml", &huge);
    dir.assert_refused(
        "huge-manifest",
        &["validate"],
        &["images.yaml", "larger than 10 MB"],
    );
    // A 12 MB plan file of garbage.
    let dir = Dir::new();
    dir.write("plan.json", vec![b'x'; 12 << 20]);
    dir.assert_refused(
        "huge-plan",
        &["show", "plan.json"],
        &["plan.json", "not a readable imsform plan"],
    );
}

/// Makes a real plan file in a fresh local-cloud directory and returns (dir, its bytes).
fn real_plan() -> (Dir, String) {
    let dir = Dir::new();
    dir.write("imsform.toml", LOCAL_CONFIG)
        .write("images.yaml", VALID_MANIFEST);
    let output = dir.run(&["plan", "-out", "plan.json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    (dir, text)
}

/// Every command that reads a plan file (each resolves it in the `-C` directory).
const PLAN_COMMANDS: [&[&str]; 4] = [
    &["show", "plan.json"],
    &["show", "plan.json", "--json"],
    &["show", "plan.json", "--markdown"],
    &["apply", "plan.json"],
];

fn assert_plan_refused(case: &str, dir: &Dir, bytes: &[u8], expected: &[&str]) {
    dir.write("plan.json", bytes);
    let expected: Vec<&str> = std::iter::once("plan.json")
        .chain(expected.iter().copied())
        .collect();
    for args in PLAN_COMMANDS {
        dir.assert_refused(case, args, &expected);
    }
}

#[test]
fn foreign_and_broken_plan_files_are_refused() {
    assert_all_listed("plans", &cases::PLANS.map(|c| c.0));
    let dir = Dir::new();
    dir.write(STATE, std::fs::read(VALID_STATE).unwrap());
    for (file, expected) in cases::PLANS {
        let bytes = std::fs::read(corpus("plans", file)).unwrap();
        assert_plan_refused(file, &dir, &bytes, expected);
    }
}

#[test]
fn tampered_plan_files_are_refused() {
    let (dir, plan) = real_plan();
    let tampered: Vec<(&str, String, &str)> = vec![
        (
            "truncated",
            plan[..plan.len() / 2].to_owned(),
            "EOF while parsing",
        ),
        (
            "kind-removed",
            plan.replacen("\"kind\": \"imsform-plan\",", "", 1),
            "no \"kind\"",
        ),
        (
            "kind-changed",
            plan.replacen("\"imsform-plan\"", "\"terraform-plan\"", 1),
            "no \"kind\"",
        ),
        (
            "newer-format",
            plan.replacen("\"planfile_version\": 2,", "\"planfile_version\": 3,", 1),
            "a plan file of format 3",
        ),
        (
            "format-as-string",
            plan.replacen(
                "\"planfile_version\": 2,",
                "\"planfile_version\": \"2\",",
                1,
            ),
            "no planfile_version",
        ),
        (
            "lineage-without-serial",
            plan.replacen(
                "\"lineage\": null",
                "\"lineage\": \"3f1c9a52-8d1e-4c53-9f0e-2a7b6d4e8c10\"",
                1,
            ),
            "lineage and serial must both be set or both be null",
        ),
        (
            "digest-wrong-type",
            plan.replacen(
                "\"manifests_sha256\": \"",
                "\"manifests_sha256\": 7, \"x\": \"",
                1,
            ),
            "invalid type",
        ),
        (
            "summary-removed",
            cut_key(&plan, "\"summary\":"),
            "missing field `summary`",
        ),
        (
            "name-edited",
            plan.replacen("\"name\": \"web-base\"", "\"name\": \"web-base-edited\"", 1),
            "was changed after it was saved",
        ),
        (
            "action-edited",
            plan.replacen("\"create\"", "\"delete\"", 1),
            "was changed after it was saved",
        ),
        (
            "count-edited",
            plan.replacen("\"add\": 1", "\"add\": 0", 1),
            "was changed after it was saved",
        ),
    ];
    for (case, text, expected) in tampered {
        assert_ne!(text, plan, "{case}: the tampering did nothing");
        assert_plan_refused(case, &dir, text.as_bytes(), &[expected]);
        assert!(dir.state().is_none(), "{case}: a state was created");
    }
}

/// `text` without its last top-level key `key` (the JSON plan's `summary` comes last).
fn cut_key(text: &str, key: &str) -> String {
    let at = text
        .rfind(&format!("\n  {key}"))
        .expect("the key is at the top level");
    let before = text[..at].trim_end().trim_end_matches(',');
    format!("{before}\n}}\n")
}

#[test]
fn valid_but_stale_plans_are_refused_by_apply() {
    let (dir, plan) = real_plan();
    assert!(plan.contains("\"lineage\": null"));
    let plan_file = dir.path().join("plan.json");
    let apply = ["apply", plan_file.to_str().unwrap()];
    // Another configuration: another cloud identity.
    dir.write(
        "imsform.toml",
        "[cloud]\nlocal = true\nregion = \"cn-east-3\"\n",
    );
    dir.assert_refused(
        "other-cloud",
        &apply,
        &[
            "the plan was made for the local cloud (region cn-north-4",
            "points at the local cloud (region cn-east-3",
        ],
    );
    dir.write("imsform.toml", LOCAL_CONFIG);
    // A state appeared after a plan made without one.
    dir.write(STATE, std::fs::read(VALID_STATE).unwrap());
    dir.assert_refused("state-appeared", &apply, &["made without a state"]);
    // A plan made from a state, after that state moved on.
    let (dir, _) = real_plan();
    let plan_file = dir.path().join("plan.json");
    let apply = ["apply", plan_file.to_str().unwrap()];
    assert_eq!(dir.run(&apply).status.code(), Some(0));
    dir.write(
        "images.yaml",
        VALID_MANIFEST.replace("min_disk: 20", "min_disk: 30"),
    );
    let output = dir.run(&["plan", "-out", "plan.json"]);
    assert_eq!(output.status.code(), Some(0));
    let state = std::fs::read_to_string(dir.path().join(STATE)).unwrap();
    dir.write(STATE, state.replacen("\"serial\": ", "\"serial\": 1", 1));
    dir.assert_refused(
        "serial-moved",
        &apply,
        &["Saved plan is stale", "state serial", "again"],
    );
}
