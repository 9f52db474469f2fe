//! `imsform query` end to end (issue 21): an emulator filled through its HTTP API with images
//! "made by hand" (two with one name, tags and a description, a member, `min_ram`, one never
//! registered, a copy in a second region, 200 plain ones); the real binary lists them, writes a
//! manifest that validates and loads to exactly the images (what `imsform import` would
//! record of each), in three list requests and one member list; every refusal exits 1 and
//! writes nothing.

use std::collections::BTreeMap;

use imsform::cloud::{CloudApi, RemoteImage};
use imsform::manifest::{ImportTarget, VarInput};
use serde_json::Value;

use crate::hand_made::*;
use crate::support::{Cloud, Dir};

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/query.schema.json");

fn schema_errors(text: &str) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA_PATH).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: Value = serde_json::from_str(text).unwrap();
    validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn the_committed_schema_matches_the_types() {
    let generated = imsform::adopt::listing::schema();
    if std::env::var_os("IMSFORM_WRITE_SCHEMA").is_some() {
        std::fs::write(SCHEMA_PATH, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(SCHEMA_PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/query.schema.json is stale: run IMSFORM_WRITE_SCHEMA=1 cargo test --test commands schema"
    );
}

/// The table, the JSON and the replica region's listing of the hand-made images.
fn check_listings(cloud: &Cloud, dir: &Dir, made: &HandMade) {
    let listed = query(cloud, dir, &[]);
    listed.assert_ok_saying(&[
        "205 images in cn-north-4 that no address of the state manages (204 active):",
        &format!("{}  queued", made.queued),
        "bucket:web.qcow2",
    ]);
    let json = query(cloud, dir, &["--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(schema_errors(&json.stdout), Vec::<String>::new());
    let document: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["images"].as_array().unwrap().len(), PLAIN + 5);
    let south = query(cloud, dir, &["--region", SOUTH]);
    south.assert_ok_saying(&[
        "1 image in cn-south-1",
        &format!("copy of {} of cn-north-4 (\"web\")", made.web),
    ]);
}

#[test]
fn hand_made_images_are_listed_and_adopted_by_a_generated_manifest() {
    let cloud = cloud();
    let made = fill(&cloud);
    let dir = empty_dir(&cloud);
    check_listings(&cloud, &dir, &made);
    // The fallback that reads every image's members writes the same file.
    let fallback_dir = empty_dir(&cloud);
    let before = cloud.emulator.stats();
    let fallback = query(
        &cloud,
        &fallback_dir,
        &["--generate-config-out", "a.yaml", "--no-shared-filter"],
    );
    assert_eq!(fallback.code, 0, "{}", fallback.stderr);
    let served = served_since(&cloud, &before);
    let member_lists = "GET /v1/{project_id}/cloudimages/{image_id}/members";
    assert_eq!(
        served.get(member_lists),
        Some(&(PLAIN as u64 + 4)),
        "{served:?}"
    );

    let before = cloud.emulator.stats();
    let generated = query(&cloud, &dir, &["--generate-config-out", "adopted.yaml"]);
    generated.assert_ok_saying(&[
        "Wrote ",
        "adopted.yaml: 205 import entries.",
        "Not adopted (1):",
        &format!(
            "cn-north-4 {} \"half-made\" (queued): it is queued, not active",
            made.queued
        ),
    ]);
    let mut served = served_since(&cloud, &before);
    // The replica region's project id is asked of IAM: it is not configured.
    assert_eq!(served.remove("GET /v3/projects"), Some(1));
    assert_eq!(
        served,
        BTreeMap::from([
            ("GET /v2/cloudimages".to_owned(), 3),
            (member_lists.to_owned(), 1),
        ]),
        "one list each of the region, of what it shares and of the replica region, and the \
         members of the one shared image"
    );
    let text = dir.read("adopted.yaml");
    assert_eq!(text, fallback_dir.read("a.yaml"));
    check_file(&text, &made);
    let validate = dir.run(&["validate", "--no-color"]);
    validate.assert_ok_saying(&["Success! 204 images in 1 file are valid"]);
    round_trip(&cloud, &dir, &made);

    let before = cloud.total_requests();
    let again = query(&cloud, &dir, &["--generate-config-out", "adopted.yaml"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("the file exists"), "{}", again.stderr);
    assert_eq!(dir.read("adopted.yaml"), text);
    assert_eq!(cloud.total_requests(), before, "refused before any request");
}

/// What the file says of the hand-made images.
fn check_file(text: &str, made: &HandMade) {
    assert!(text.starts_with("# Written by `imsform query --generate-config-out`: 204 images"));
    for expected in [
        format!("  - to: images.web\n    id: \"{}\"", made.web),
        format!(
            "  - to: 'images.web.replicas[\"cn-south-1\"]'\n    id: \"{}\"",
            made.copy
        ),
        format!(
            "#   cn-north-4 {} \"half-made\" (queued): it is queued, not active",
            made.queued
        ),
        "    description: \"Web tier\"\n".to_owned(),
        "      \"owner\": \"ops\"\n      \"team\": \"platform\"\n".to_owned(),
        format!("    share_with:\n      - \"{CONSUMER}\"\n"),
        "    replicas:\n      cn-south-1: {}\n    lifecycle:\n      prevent_destroy: true\n"
            .to_owned(),
        "    min_ram: 2048\n".to_owned(),
        "  plain-199:\n".to_owned(),
    ] {
        assert!(
            text.contains(&expected),
            "{expected:?} not in\n{}",
            &text[..3000.min(text.len())]
        );
    }
    for build in &made.builds {
        let key = format!("build-{}", &build.replace('-', "")[..8]);
        assert!(text.contains(&format!("  {key}:\n")), "{key}");
    }
    assert!(!text.contains("imsform-token") && !text.contains("min_ram: 0"));
}

/// The generated file, loaded, is exactly what an import records of each image, and its
/// replica is the copy.
fn round_trip(cloud: &Cloud, dir: &Dir, made: &HandMade) {
    let loaded = imsform::manifest::load(&[], dir.path(), &VarInput::default()).unwrap();
    let images: BTreeMap<String, RemoteImage> = cloud.block_on(async {
        let listed = cloud.client().list_private_images().await.unwrap();
        let mut images: BTreeMap<_, _> = listed.into_iter().map(|i| (i.id.clone(), i)).collect();
        let members = CloudApi::members(cloud.client(), &made.web).await.unwrap();
        images.get_mut(&made.web).unwrap().members = Some(members);
        images
    });
    let mut seen = 0;
    for entry in &loaded.imports {
        let ImportTarget::Image(address) = &entry.to else {
            assert_eq!(entry.id, made.copy);
            let web = &loaded.manifests.images[entry.to.image()];
            assert_eq!(
                web.replica_attrs(SOUTH),
                Some(("web".into(), Some("Web tier".into())))
            );
            continue;
        };
        let spec = &loaded.manifests.images[address];
        let record = imsform::cli::import::imported_record(spec, &images[&entry.id]);
        assert_eq!(record.attributes, spec.attrs, "{address}");
        seen += 1;
    }
    assert_eq!(seen, PLAIN + 4);
    let db = loaded.imports.iter().find(|e| e.id == made.db).unwrap();
    assert_eq!(loaded.manifests.images[db.to.image()].attrs.min_ram, 2048);
}

#[test]
fn every_refusal_exits_1_and_writes_nothing() {
    let cloud = cloud();
    let dir = empty_dir(&cloud);
    let refused = |args: &[&str], message: &str| {
        let run = query(&cloud, &dir, args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(!dir.file("out.yaml").exists(), "{args:?} wrote the file");
    };
    refused(
        &["--region", "ap-southeast-1"],
        "--region ap-southeast-1: the region is not configured",
    );
    refused(
        &["--name", "web(", "--generate-config-out", "out.yaml"],
        "--name web(: not a regex",
    );
    refused(
        &["--tag", "team", "--generate-config-out", "out.yaml"],
        "--tag team: write KEY=VALUE",
    );
    refused(
        &["--region", SOUTH, "--generate-config-out", "out.yaml"],
        "cannot be used with",
    );
    refused(
        &["--generate-config-out", "missing/out.yaml"],
        "its directory does not exist",
    );
    refused(&["--no-protect"], "--generate-config-out");
    dir.write("broken.yaml", "images:\n  web:\n    nme: web\n");
    refused(
        &["--generate-config-out", "out.yaml"],
        "unknown field `nme`",
    );
    std::fs::remove_file(dir.file("broken.yaml")).unwrap();
    let other = serde_json::json!({
        "format_version": 1,
        "lineage": "3f1c2a9e-0000-4000-8000-000000000000",
        "serial": 1,
        "imsform_version": "0.1.0",
        "identity": {"kind": "cloud", "region": "cn-north-4", "project_id": "0123456789abcdef0123456789abcdef"},
        "images": {},
    });
    dir.write("imsform.state.json", &other.to_string());
    refused(
        &["--generate-config-out", "out.yaml"],
        "0123456789abcdef0123456789abcdef",
    );
}

#[test]
fn the_local_cloud_lists_its_own_images_and_images_imsform_made_are_not_adopted() {
    let dir = Dir::local();
    let run = dir.run(&["query"]);
    run.assert_ok_saying(&["No image in cn-north-4 that the state does not manage."]);
    let applied = dir.run(&["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    std::fs::remove_file(dir.file("images.yaml")).unwrap();
    std::fs::remove_file(dir.file("imsform.state.json")).unwrap();
    let run = dir.run(&["query", "--generate-config-out", "adopted.yaml"]);
    run.assert_ok_saying(&[
        "2 images in cn-north-4 that no address of the state manages (2 active):",
        "Nothing to adopt: adopted.yaml was not written.",
        "it carries imsform's token tag (imsform-token=",
    ]);
    assert!(!dir.file("adopted.yaml").exists());
}

#[test]
fn a_generated_file_is_refused_by_plan_until_imported_and_then_plans_no_changes() {
    let cloud = cloud();
    let web = cloud.create_active("web", &[("team", "platform")]);
    cloud.block_on(async {
        let copy = imsform::cloud::distribution::CopyInRegion {
            name: "web copy".into(),
            description: None,
        };
        let job = cloud.client().copy_in_region(&web, &copy).await.unwrap();
        wait(&cloud, &job).await;
    });
    let dir = empty_dir(&cloud);
    let generated = query(&cloud, &dir, &["--generate-config-out", "adopted.yaml"]);
    generated.assert_ok_saying(&["adopted.yaml: 2 import entries."]);
    assert!(dir.read("adopted.yaml").contains("image_url: \"unknown\""));
    let writes = cloud.writes();
    let plan = cloud.run(&dir, &["plan", "--no-color"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("2 `import` entries to carry out"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("adopted.yaml:"), "{}", plan.stderr);
    assert!(dir.state().is_none());
    assert_eq!(cloud.writes(), writes, "nothing sent to the cloud");
    let loaded = imsform::manifest::load(&[], dir.path(), &VarInput::default()).unwrap();
    for entry in &loaded.imports {
        let run = cloud.run(&dir, &["import", &entry.to.to_string(), &entry.id]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let plan = cloud.run(&dir, &["plan", "--detailed-exitcode", "--no-color"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert_eq!(cloud.writes(), writes, "imports and plans send no write");
}
