//! `imsform validate` end to end with the real binary: every example is valid (for the binary
//! and for `schema/manifest.schema.json`), the schema agrees with the Rust side, and every
//! manifest of the invalid corpus (`tests/manifests/invalid/`) fails with the diagnostics pinned
//! in `tests/snapshots/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use imsform::manifest::{self, model::Field};
use marked_yaml::Node;
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn imsform() -> Command {
    let mut command = Command::cargo_bin("imsform").unwrap();
    command.env_remove("NO_COLOR");
    command
}

/// Runs `imsform validate ARGS` in `dir`: (exit code, stdout, stderr).
fn validate(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = imsform()
        .current_dir(dir)
        .arg("validate")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// YAML (core schema) to JSON, for checking files against the JSON schema.
fn to_json(node: &Node) -> Value {
    match node {
        Node::Mapping(mapping) => Value::Object(
            mapping
                .iter()
                .map(|(key, value)| (key.as_str().to_owned(), to_json(value)))
                .collect(),
        ),
        Node::Sequence(list) => Value::Array(list.iter().map(to_json).collect()),
        Node::Scalar(scalar) if !scalar.may_coerce() => json!(scalar.as_str()),
        Node::Scalar(scalar) => match scalar.as_str() {
            "" | "~" | "null" => Value::Null,
            text => (scalar.as_bool().map(Value::from))
                .or_else(|| scalar.as_i64().map(Value::from))
                .or_else(|| text.parse::<f64>().ok().map(Value::from))
                .unwrap_or_else(|| json!(text)),
        },
    }
}

fn yaml_file_to_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let options = marked_yaml::LoaderOptions::default().prevent_coercion(true);
    to_json(&marked_yaml::parse_yaml_with_options(0, text, options).unwrap())
}

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("schema/manifest.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        // Dot-files (`.gitlab-ci.yml`) are not manifests: discovery skips them too.
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_is_valid_for_the_binary_and_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let examples = ["quickstart", "multi-file", "full", "ci"];
    for example in examples {
        let dir = root().join("examples").join(example);
        let (code, stdout, stderr) = validate(&root(), &["-C", dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{example}: {stderr}");
        assert!(stdout.starts_with("Success! "), "{example}: {stdout}");
        assert_eq!(stderr, "", "{example}");
        for file in yaml_files(&dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.starts_with(
                    "# yaml-language-server: $schema=../../schema/manifest.schema.json\n"
                ),
                "{} lacks the schema modeline",
                file.display()
            );
            let instance = yaml_file_to_json(&file);
            let errors: Vec<String> = validator
                .iter_errors(&instance)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        }
    }
    let all: BTreeSet<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        all,
        examples.map(String::from).into(),
        "an example is not checked"
    );
    let (_, stdout, _) = validate(&root().join("examples/quickstart"), &[]);
    assert_eq!(
        stdout,
        "Success! 3 images in 1 file are valid, and so is imsform.toml.\n"
    );
    let (_, stdout, _) = validate(&root(), &["-C", "examples/multi-file"]);
    assert_eq!(
        stdout,
        "Success! 3 images in 3 files are valid, and so is imsform.toml.\n"
    );
    let args = ["-C", "examples/full", "--var-file", "prod.vars.toml"];
    let (code, stdout, stderr) = validate(&root(), &args);
    assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(String::from).collect()
}

/// The literal rules of a field that may also hold `${var.NAME}`: the `anyOf` branch that is
/// not the `withVariables` reference.
fn literal(field: &Value) -> &Value {
    let branches = field["anyOf"].as_array().unwrap();
    assert_eq!(branches[0], json!({ "$ref": "#/$defs/withVariables" }));
    &branches[1]
}

#[test]
fn the_schema_agrees_with_the_rust_side() {
    let schema = schema();
    let image = &schema["$defs"]["imageFields"]["properties"];
    let lifecycle = &schema["$defs"]["lifecycle"]["properties"];
    assert_eq!(keys(&schema["properties"]), set(manifest::TOP_KEYS));
    assert_eq!(keys(image), set(manifest::IMAGE_KEYS));
    assert_eq!(keys(lifecycle), set(manifest::LIFECYCLE_KEYS));
    assert_eq!(
        keys(&schema["$defs"]["replica"]["properties"]),
        set(manifest::REPLICA_KEYS)
    );
    assert_eq!(
        keys(&schema["$defs"]["moved"]["properties"]),
        set(manifest::MOVED_KEYS)
    );
    let formats = manifest::DISK_FORMATS.map(|f| f.as_str());
    assert_eq!(strings(&image["disk_format"]["enum"]), set(formats));
    assert_eq!(
        strings(&lifecycle["replace_order"]["enum"]),
        set(manifest::REPLACE_ORDERS)
    );
    let fields = Field::ALL.map(Field::as_str);
    assert_eq!(
        strings(&lifecycle["ignore_changes"]["items"]["enum"]),
        set(fields)
    );
    let range = imsform::ims::MIN_DISK_RANGE;
    assert_eq!(image["min_disk"]["minimum"], json!(range.start()));
    assert_eq!(image["min_disk"]["maximum"], json!(range.end()));
    assert_eq!(
        literal(&image["name"])["maxLength"],
        json!(imsform::ims::NAME_MAX)
    );
    assert_eq!(
        literal(&image["description"])["maxLength"],
        json!(imsform::ims::DESCRIPTION_MAX)
    );
    assert_eq!(
        keys(&schema["$defs"]["variable"]["properties"]),
        set(manifest::VARIABLE_KEYS)
    );
    assert_eq!(
        image["tags"]["maxProperties"],
        json!(manifest::USER_TAGS_MAX)
    );
    let known = imsform::ims::OS_VERSIONS.iter().map(|(_, v)| *v);
    assert_eq!(
        strings(&literal(&image["os_version"])["examples"]),
        set(known)
    );

    // The patterns accept what imsform accepts and refuse what it refuses.
    let validator = jsonschema::validator_for(&schema).unwrap();
    let with = |field: &str, value: Value| json!({ "images": { "web": { field: value } } });
    for extension in imsform::ims::REGISTER_EXTENSIONS {
        let url = format!("my-bucket:dir/file.{}", extension.to_uppercase());
        assert!(validator.is_valid(&with("image_url", json!(url))), "{url}");
        let file = format!("build/out.{extension}");
        assert!(validator.is_valid(&with("file", json!(file))), "{file}");
    }
    for prefix in ["imsform/", "", "team-a/images/"] {
        assert!(
            validator.is_valid(&with("object_prefix", json!(prefix))),
            "{prefix}"
        );
    }
    let refused = [
        with("image_url", json!("my-bucket:file.iso")),
        with("image_url", json!("Bucket:file.qcow2")),
        with("image_url", json!("my-bucket:/file.qcow2")),
        with("name", json!(" web")),
        with("name", json!("a;b")),
        with("description", json!("<b>")),
        with("min_disk", json!(0)),
        with("min_ram", json!(-1)),
        with("tags", json!({ "imsform-token": "x" })),
        with("tags", json!({ "a b": "x" })),
        with("tagz", json!({})),
        with("replicas", json!({ "CN_South": {} })),
        with("replicas", json!({ "cn-south-1": { "nmae": "x" } })),
        with("replicas", json!({ "cn-south-1": { "name": " x" } })),
        with("replicas", json!(["cn-south-1"])),
        with("file", json!("build/disk.iso")),
        with("bucket", json!("Bad_Bucket")),
        with("object_prefix", json!("/abs/")),
        with("object_prefix", json!("a//b/")),
        with("object_prefix", json!("my images/")),
        with("delete_file_after_register", json!("yes")),
        json!({ "images": { "Web": {} } }),
        json!({ "moved": [{ "from": "images.a" }] }),
    ];
    for instance in refused {
        assert!(!validator.is_valid(&instance), "{instance}");
    }
    assert!(validator.is_valid(&with("name", json!("Ubuntu 22.04 基础镜像"))));
    assert!(validator.is_valid(&with("image_url", json!(manifest::UNKNOWN_IMAGE_URL))));

    // Import entries: the address and id rules of `manifest::imports`.
    assert_eq!(
        keys(&schema["$defs"]["import"]["properties"]),
        set(manifest::IMPORT_KEYS)
    );
    let entry = |to: &str, id: &str| json!({ "import": [{ "to": to, "id": id }] });
    for to in [
        "images.web",
        "images.web.replicas[\"cn-south-1\"]",
        "web",
        "images.Web",
        "images.web.replicas[cn-south-1]",
        "images.web.replicas[\"CN\"]",
    ] {
        assert_eq!(
            validator.is_valid(&entry(to, "img-1")),
            manifest::ImportTarget::parse(to).is_ok(),
            "{to}"
        );
    }
    for id in [
        "0b7f3b2c-1d2e-4f50",
        "img_1",
        "",
        "not an id",
        &"a".repeat(65),
    ] {
        assert_eq!(
            validator.is_valid(&entry("images.web", id)),
            manifest::imports::is_image_id(id),
            "{id:?}"
        );
    }
    assert!(!validator.is_valid(&json!({ "import": [{ "to": "images.web" }] })));
    assert!(!validator.is_valid(&json!({ "import": [{ "to": "images.web", "id": "i", "x": 1 }] })));
    let replicas =
        json!({ "cn-south-1": {}, "ap-southeast-1": { "name": "web-sg" }, "eu-west-0": null });
    assert!(validator.is_valid(&with("replicas", replicas)));

    // Variables: names as `variables::is_valid_name` has them; references only where the
    // manifests substitute them.
    let variables = |name: &str| json!({ "variables": { name: { "default": "1" } } });
    for name in ["build", "_B2", "web-build", "9lives", "", &"a".repeat(65)] {
        assert_eq!(
            validator.is_valid(&variables(name)),
            manifest::variables::is_valid_name(name),
            "{name:?}"
        );
    }
    let referring = [
        with("name", json!("web-${var.build}")),
        with("image_url", json!("${var.bucket}:web.qcow2")),
        with("os_version", json!("${var.os}")),
        with("description", json!("built from ${var.build}")),
        with("tags", json!({ "build": "${var.build}" })),
    ];
    for instance in referring {
        assert!(validator.is_valid(&instance), "{instance}");
    }
    for instance in [
        with("disk_format", json!("${var.format}")),
        with("name", json!("web-${var.9}")),
        json!({ "variables": { "b": { "default": [1] } } }),
        json!({ "variables": { "b": { "defualt": "1" } } }),
    ] {
        assert!(!validator.is_valid(&instance), "{instance}");
    }
}

/// The directory of the invalid corpus; each entry (a file or a directory for multi-file
/// cases) is one case.
fn corpus() -> PathBuf {
    root().join("tests/manifests/invalid")
}

#[test]
fn every_invalid_manifest_fails_with_pinned_diagnostics() {
    let mut cases: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for case in &cases {
        let (code, stdout, stderr) = validate(&corpus(), &["--no-color", case]);
        assert_eq!(code, 1, "{case} was accepted:\n{stdout}{stderr}");
        assert_eq!(stdout, "", "{case}");
        assert!(stderr.contains("error: "), "{case}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("Error: ") && last.ends_with("not valid"),
            "{case}: {last}"
        );
        let name = case.trim_end_matches(".yaml").trim_end_matches(".yml");
        insta::assert_snapshot!(name, stderr);
    }
}

#[test]
fn a_huge_file_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let line = "# padding padding padding padding padding padding padding padding\n";
    let text = line.repeat(50 * 1024 * 1024 / line.len() + 1);
    std::fs::write(dir.path().join("huge.yaml"), text).unwrap();
    let started = std::time::Instant::now();
    let (code, _, stderr) = validate(dir.path(), &["--no-color"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`huge.yaml` is larger than 10 MB"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn discovery_skips_dot_entries_and_warnings_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".github/workflows/ci.yml", "on: [push]\n");
    write(".pre-commit-config.yaml", "repos: []\n");
    write("notes.txt", "not yaml\n");
    write(
        "sub/deeper/web.yml",
        "images:\n  web:\n    name: web\n    image_url: b-1:web.qcow2\n    os_version: Plan 9\n    min_disk: 10\n",
    );
    let (code, stdout, stderr) = validate(dir.path(), &["--no-color"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "Success! 1 image in 1 file is valid.\n");
    insta::assert_snapshot!("warning_only", stderr);
    let (code, _, stderr) = validate(dir.path(), &["--no-color", "missing.yaml"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read `missing.yaml`"), "{stderr}");
    let empty = tempfile::tempdir().unwrap();
    let (code, _, stderr) = validate(empty.path(), &["--no-color"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no manifests (`*.yaml`, `*.yml`) found"),
        "{stderr}"
    );
}

#[test]
fn colour_is_used_only_when_asked() {
    let case = corpus().join("unknown-field.yaml");
    let output = imsform().arg("validate").arg(&case).output().unwrap();
    // stderr is a pipe here: no colour even without --no-color.
    assert!(!output.stderr.contains(&0x1b));
}

#[test]
fn validate_checks_imsform_toml_too_with_every_error_located() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "web.yaml",
        "images:\n  web:\n    name: web\n    image_url: b-1:web.qcow2\n    os_version: Ubuntu 22.04 server 64bit\n    min_disk: 10\n",
    );
    write("imsform.toml", "[cloud]\nregion = \"cn-north-4\"\n");
    let (code, stdout, stderr) = validate(dir.path(), &["--no-color"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "Success! 1 image in 1 file is valid, and so is imsform.toml.\n"
    );
    write(
        "imsform.toml",
        "[cloud]\nregion = \"CN North\"\n\n[apply]\nparallelism = 0\nretries = 3\n",
    );
    let (code, stdout, stderr) = validate(dir.path(), &["--no-color"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    for located in [
        "imsform.toml:2:10: `cloud.region`",
        "imsform.toml:5:15: `apply.parallelism`",
        "imsform.toml:6:1: `apply.retries`",
    ] {
        assert!(stderr.contains(located), "no {located:?} in\n{stderr}");
    }
    // A broken manifest and a broken configuration: both are reported.
    write("web.yaml", "images:\n  web:\n    nme: web\n");
    let (code, _, stderr) = validate(dir.path(), &["--no-color"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("web.yaml:3:5"), "{stderr}");
    assert!(stderr.contains("imsform.toml:5:15"), "{stderr}");
}
