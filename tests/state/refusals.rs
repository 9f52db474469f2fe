//! Every state the tool must refuse, on the real binary: each command fails with exit 1 and a
//! clear message, and the state file (and its backup) stay byte-for-byte unchanged.

use crate::support::{Dir, fixture, with_serial};

const COMMANDS: [&[&str]; 5] = [
    &["state", "rm", "images.web"],
    &["state", "mv", "images.web", "images.www"],
    &["state", "list"],
    &["show"],
    &["show", "--json"],
];

/// Runs every command against a state made of `bytes` (and `backup`, if any) and checks the
/// refusal.
fn assert_refused(bytes: &[u8], backup: Option<&[u8]>, expected: &str) {
    let dir = Dir::new();
    std::fs::write(dir.state(), bytes).unwrap();
    if let Some(backup) = backup {
        std::fs::write(dir.file(".backup"), backup).unwrap();
    }
    for args in COMMANDS {
        let output = dir.imsform(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?} printed on stdout");
        assert_eq!(
            std::fs::read(dir.state()).unwrap(),
            bytes,
            "{args:?} touched the state"
        );
        assert_eq!(
            std::fs::read(dir.file(".backup")).ok().as_deref(),
            backup,
            "{args:?}"
        );
    }
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names.retain(|name| name != "imsform.state.json.lock");
    let expected_files = if backup.is_some() { 2 } else { 1 };
    assert_eq!(names.len(), expected_files, "{names:?}");
}

#[test]
fn a_file_that_is_not_json_is_refused() {
    assert_refused(
        &fixture("not-json.json"),
        None,
        "imsform.state.json is not a valid imsform state: expected ident at line 1 column 2",
    );
}

#[test]
fn an_empty_file_is_refused() {
    assert_refused(b"", None, "imsform.state.json is empty (0 bytes)");
}

#[test]
fn a_truncated_file_is_refused() {
    let valid = fixture("valid.json");
    for cut in [1, valid.len() / 3, valid.len() / 2, valid.len() - 2] {
        assert_refused(&valid[..cut], None, "(truncated?)");
    }
}

#[test]
fn a_newer_format_is_refused() {
    assert_refused(
        &fixture("newer-format.json"),
        None,
        "was written by a newer imsform (format 2; this imsform reads up to format 1); \
         upgrade imsform",
    );
}

#[test]
fn a_duplicate_address_is_refused() {
    assert_refused(
        &fixture("duplicate-address.json"),
        None,
        "duplicate key `images.web` at line 37",
    );
}

#[test]
fn an_invalid_address_is_refused() {
    assert_refused(
        &fixture("bad-address.json"),
        None,
        "`DB!` is not a valid image key",
    );
}

#[test]
fn unknown_fields_are_refused_rather_than_dropped() {
    let valid = String::from_utf8(fixture("valid.json")).unwrap();
    let extra = valid.replacen("\"serial\": 7,", "\"serial\": 7, \"outputs\": {},", 1);
    assert_refused(extra.as_bytes(), None, "unknown field `outputs`");
}

#[test]
fn a_lineage_other_than_the_backups_is_refused() {
    let valid = fixture("valid.json");
    let text = String::from_utf8(valid.clone()).unwrap();
    let other = text.replace(
        "3f1c9a52-8d1e-4c53-9f0e-2a7b6d4e8c10",
        "11111111-2222-4333-8444-555555555555",
    );
    assert_refused(other.as_bytes(), Some(&valid), "the lineage of ");
    assert_refused(
        other.as_bytes(),
        Some(&valid),
        "(11111111-2222-4333-8444-555555555555) differs from its backup's \
         (3f1c9a52-8d1e-4c53-9f0e-2a7b6d4e8c10)",
    );
}

#[test]
fn a_serial_behind_the_backups_is_refused() {
    let valid = fixture("valid.json");
    assert_refused(
        &with_serial(&valid, 6),
        Some(&valid),
        "went backwards: 6 < 7 in its backup",
    );
}

#[test]
fn a_serial_equal_to_the_backups_is_accepted() {
    let dir = Dir::with_fixture("valid.json");
    std::fs::write(dir.file(".backup"), fixture("valid.json")).unwrap();
    dir.imsform(&["state", "list"])
        .assert()
        .success()
        .stdout("images.db\nimages.web\n");
}
