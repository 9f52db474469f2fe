//! `imsform state list|show|rm|mv`, `imsform show` and the format-0 migration on the real
//! binary; the text renderings are pinned by insta snapshots.

use crate::support::{Dir, fixture};

fn stdout_of(dir: &Dir, args: &[&str]) -> String {
    let output = dir.imsform(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {stderr}");
    assert!(stderr.is_empty(), "{args:?} wrote on stderr: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

fn stderr_of_failure(dir: &Dir, args: &[&str]) -> String {
    let output = dir.imsform(args).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{args:?}");
    assert!(output.stdout.is_empty());
    String::from_utf8(output.stderr).unwrap()
}

/// `show --json`, checked against `schema/show.schema.json`.
fn show_json(dir: &Dir) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(dir, &["show", "--json"])).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schema/show.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "show --json does not match its schema: {errors:#?}"
    );
    assert_eq!(json["format_version"], "1.0");
    json
}

#[test]
fn list_and_show_read_without_changing_anything() {
    let dir = Dir::with_fixture("valid.json");
    assert_eq!(
        stdout_of(&dir, &["state", "list"]),
        "images.db\nimages.web\n"
    );
    insta::assert_snapshot!(
        "state_show_web",
        stdout_of(&dir, &["state", "show", "images.web"])
    );
    insta::assert_snapshot!("show_state", stdout_of(&dir, &["show"]));
    let json = show_json(&dir);
    let written: serde_json::Value = serde_json::from_slice(&fixture("valid.json")).unwrap();
    assert_eq!(json["lineage"], written["lineage"]);
    assert_eq!(json["serial"], written["serial"]);
    assert_eq!(
        json["pending"], written["pending"],
        "the journal as written"
    );
    // Terraform's state representation: each record, as written, in values.root_module.
    let resources = json["values"]["root_module"]["resources"]
        .as_array()
        .unwrap();
    let addresses: Vec<&str> = resources
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, ["images.db", "images.web"]);
    for resource in resources {
        let record = &written["images"][resource["address"].as_str().unwrap()];
        assert_eq!(resource["type"], "imsform_image");
        assert_eq!(resource["mode"], "managed");
        assert_eq!(resource["values"]["id"], record["id"]);
        for (name, value) in record["attributes"].as_object().unwrap() {
            assert_eq!(&resource["values"][name], value, "{name}");
        }
    }
    assert_eq!(resources[0]["tainted"], true);
    assert_eq!(resources[0]["values"]["status"], serde_json::Value::Null);
    assert_eq!(resources[1]["values"]["status"], "active");
    assert_eq!(std::fs::read(dir.state()).unwrap(), fixture("valid.json"));
    assert!(!dir.file(".backup").exists());
}

#[test]
fn without_a_state_list_is_empty_and_show_says_so() {
    let dir = Dir::new();
    assert_eq!(stdout_of(&dir, &["state", "list"]), "");
    assert_eq!(stdout_of(&dir, &["show"]), "No state.\n");
    let json = show_json(&dir);
    assert_eq!(json["lineage"], serde_json::Value::Null);
    assert!(json.get("values").is_none(), "{json}");
    let stderr = stderr_of_failure(&dir, &["state", "rm", "images.web"]);
    assert!(stderr.contains("there is no state at "), "{stderr}");
    assert!(!dir.state().exists());
}

#[test]
fn rm_forgets_one_record_and_bumps_the_serial() {
    let dir = Dir::with_fixture("valid.json");
    dir.imsform(&["state", "rm", "images.db"])
        .assert()
        .success()
        .stdout("")
        .stderr("Removed images.db from the state; the image itself is untouched.\n");
    let state = imsform::state::Store::read(&dir.state()).unwrap().unwrap();
    assert_eq!(
        state.images.keys().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["images.web"]
    );
    assert_eq!(state.serial, 8);
    assert_eq!(state.pending.len(), 1, "the journal is kept");
    assert_eq!(
        std::fs::read(dir.file(".backup")).unwrap(),
        fixture("valid.json")
    );
}

#[test]
fn mv_moves_a_record_to_a_free_address() {
    let dir = Dir::with_fixture("valid.json");
    let before = imsform::state::Store::read(&dir.state()).unwrap().unwrap();
    dir.imsform(&["state", "mv", "images.web", "images.web-v2"])
        .assert()
        .success()
        .stderr("Moved images.web to images.web-v2.\n");
    let after = imsform::state::Store::read(&dir.state()).unwrap().unwrap();
    let web = imsform::manifest::model::Address::from_key("web");
    let moved = imsform::manifest::model::Address::from_key("web-v2");
    assert_eq!(after.images.get(&moved), before.images.get(&web));
    assert!(!after.images.contains_key(&web));
    assert_eq!((after.serial, after.lineage), (8, before.lineage));
}

#[test]
fn rm_and_mv_refuse_without_touching_the_file() {
    let dir = Dir::with_fixture("valid.json");
    let cases: [(&[&str], &str); 7] = [
        (
            &["state", "rm", "images.nope"],
            "images.nope is not in the state",
        ),
        (&["state", "rm", "web"], "`web` is not an image address"),
        (
            &["state", "mv", "images.nope", "images.x"],
            "images.nope is not in the state",
        ),
        (
            &["state", "mv", "images.web", "images.db"],
            "images.db is already in the state",
        ),
        (
            &["state", "mv", "images.web", "images.Bad"],
            "`Bad` is not a valid image key",
        ),
        (
            &["state", "mv", "images.web", "images.cache"],
            "an operation on images.cache is in",
        ),
        (
            &["state", "show", "images.nope"],
            "images.nope is not in the state",
        ),
    ];
    for (args, expected) in cases {
        let stderr = stderr_of_failure(&dir, args);
        assert!(
            stderr.starts_with(&format!("Error: {expected}")),
            "{args:?}: {stderr}"
        );
        assert_eq!(
            std::fs::read(dir.state()).unwrap(),
            fixture("valid.json"),
            "{args:?}"
        );
        assert!(!dir.file(".backup").exists(), "{args:?}");
    }
}

#[test]
fn show_with_a_plan_file_or_markdown_is_not_for_the_state() {
    let dir = Dir::with_fixture("valid.json");
    let stderr = stderr_of_failure(&dir, &["show", "plan.json"]);
    assert!(
        stderr.contains("cannot read the plan file") && stderr.contains("plan.json"),
        "{stderr}"
    );
    let stderr = stderr_of_failure(&dir, &["show", "imsform.state.json"]);
    assert!(
        stderr.contains("is not a readable imsform plan"),
        "{stderr}"
    );
    let stderr = stderr_of_failure(&dir, &["show", "--markdown"]);
    assert!(
        stderr.contains("--markdown renders a saved plan"),
        "{stderr}"
    );
}

#[test]
fn a_format_0_state_is_read_migrated_and_its_original_kept() {
    let dir = Dir::with_fixture("format-0.json");
    let original = fixture("format-0.json");
    assert_eq!(
        stdout_of(&dir, &["state", "list"]),
        "images.db\nimages.web\n"
    );
    assert_eq!(
        std::fs::read(dir.state()).unwrap(),
        original,
        "reading does not migrate"
    );

    dir.imsform(&["state", "mv", "images.db", "images.database"])
        .assert()
        .success();
    let state = imsform::state::Store::read(&dir.state()).unwrap().unwrap();
    assert_eq!((state.format_version, state.serial), (1, 4));
    assert_eq!(state.lineage, "3f1c9a52-8d1e-4c53-9f0e-2a7b6d4e8c10");
    assert!(state.pending.is_empty());
    assert_eq!(std::fs::read(dir.file(".backup")).unwrap(), original);
    assert_eq!(
        std::fs::read(dir.file(".format-0.backup")).unwrap(),
        original
    );

    // A later run overwrites the backup but keeps the pre-migration original.
    dir.imsform(&["state", "rm", "images.web"])
        .assert()
        .success();
    assert_ne!(std::fs::read(dir.file(".backup")).unwrap(), original);
    assert_eq!(
        std::fs::read(dir.file(".format-0.backup")).unwrap(),
        original
    );
}

#[test]
fn a_format_0_state_with_a_duplicate_address_is_refused() {
    let text = String::from_utf8(fixture("format-0.json")).unwrap();
    let duplicated = text.replace("\"address\": \"images.db\"", "\"address\": \"images.web\"");
    let dir = Dir::new();
    std::fs::write(dir.state(), &duplicated).unwrap();
    let stderr = stderr_of_failure(&dir, &["state", "rm", "images.web"]);
    assert!(
        stderr.contains("duplicate address `images.web` in `images`"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(dir.state()).unwrap(), duplicated);
}
