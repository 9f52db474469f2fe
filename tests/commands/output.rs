//! `imsform output` and apply's `[id=…]` lines through the real binary on the local cloud:
//! the ids apply prints are the state's, `output` reads the state alone (text and JSON, the JSON
//! checked against `schema/output.schema.json`), and an unknown address names the closest ones.

use serde_json::Value;

use crate::support::Dir;

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/output.schema.json");

#[test]
fn the_committed_schema_matches_the_types() {
    let generated = imsform::render::output::schema();
    if std::env::var_os("IMSFORM_WRITE_SCHEMA").is_some() {
        std::fs::write(SCHEMA_PATH, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(SCHEMA_PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/output.schema.json is stale: run IMSFORM_WRITE_SCHEMA=1 cargo test --test commands schema"
    );
}

/// The schema errors of `text`, against the whole document or (`one`) one image's output.
fn schema_errors(text: &str, one: bool) -> Vec<String> {
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA_PATH).unwrap()).unwrap();
    if one {
        schema = serde_json::json!({
            "$defs": schema["$defs"].clone(),
            "$ref": "#/$defs/ImageOutput",
        });
    }
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: Value = serde_json::from_str(text).unwrap();
    validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect()
}

/// `images.x: <what> [id=…]` lines of apply's stderr, by address.
fn ids(stderr: &str, what: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = stderr
        .lines()
        .filter_map(|line| {
            let (address, rest) = line.split_once(": ")?;
            let address = address.rsplit(' ').next()?;
            let id = rest
                .strip_prefix(&format!("{what} [id="))?
                .split(']')
                .next()?;
            Some((address.to_owned(), id.to_owned()))
        })
        .collect();
    found.sort();
    found
}

fn state_ids(dir: &Dir) -> Vec<(String, String)> {
    let state = dir.state_json();
    let images = state["images"].as_object().unwrap();
    images
        .iter()
        .map(|(address, record)| (address.clone(), record["id"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn apply_prints_ids_and_output_hands_them_on() {
    let dir = Dir::local();
    assert_eq!(dir.run(&["output"]).stdout, "", "no state, no output");
    let applied = dir.run(&["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(ids(&applied.stderr, "created"), state_ids(&dir));

    let text = dir.run(&["output"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let web = &state_ids(&dir)[1];
    assert_eq!(web.0, "images.web");
    let block = format!(
        "images.web = {{\n  id     = \"{}\"\n  name   = \"web\"\n  region = \"cn-north-4\"\n  status = \"active\"\n}}\n",
        web.1
    );
    assert!(text.stdout.ends_with(&block), "{}", text.stdout);
    assert!(
        text.stdout.starts_with("images.db = {\n"),
        "{}",
        text.stdout
    );

    let json = dir.run(&["output", "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(schema_errors(&json.stdout, false), Vec::<String>::new());
    let document: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["images"]["images.web"]["id"], web.1.as_str());
    let one = dir.run(&["output", "images.web", "--json"]);
    assert_eq!(schema_errors(&one.stdout, true), Vec::<String>::new());
    let image: Value = serde_json::from_str(&one.stdout).unwrap();
    assert_eq!(image, document["images"]["images.web"]);
    assert!(
        !schema_errors(&json.stdout, true).is_empty(),
        "the schemas differ"
    );

    // Replacing an image prints its new id.
    dir.write(
        "images.yaml",
        &crate::support::MANIFESTS.replace("bucket:web.qcow2", "bucket:web2.qcow2"),
    );
    let replaced = dir.run(&["apply", "--auto-approve"]);
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    let new_id = state_ids(&dir)[1].1.clone();
    assert_ne!(new_id, web.1);
    assert_eq!(
        ids(&replaced.stderr, "replaced"),
        [("images.web".to_owned(), new_id)]
    );
}

#[test]
fn an_unknown_address_names_the_closest_and_exits_1() {
    let dir = Dir::local();
    assert_eq!(dir.run(&["apply", "--auto-approve"]).code, 0);
    let before = dir.state();
    for (address, expected) in [
        (
            "images.wbe",
            "`images.wbe` is not in the state; the closest in the state: images.web, images.db",
        ),
        (
            "web",
            "`web` is not in the state; the closest in the state: images.web",
        ),
    ] {
        let run = dir.run(&["output", address]);
        assert_eq!(run.code, 1);
        assert_eq!(run.stdout, "");
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
    assert_eq!(dir.state(), before);
    let empty = Dir::local();
    let run = empty.run(&["output", "images.web", "--json"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the state holds no images"),
        "{}",
        run.stderr
    );
}
