//! The JSON plan in Terraform's format (issue 20): a plan of images with members and replicas,
//! some already in the state, shows every instance in each of Terraform's views with
//! Terraform's field names (`planned_values`, `resource_changes`, `prior_state`,
//! `configuration`, `output_changes`, `relevant_attributes`); a saved plan reads back to the
//! same plan; `prior_state` has the shape `show --json` prints, and the two schemas agree.

use std::collections::{BTreeMap, BTreeSet};

use imsform::{cloud, manifest, plan, state};
use serde_json::{Value, json};

#[path = "../src/plan/fixtures.rs"]
#[allow(dead_code, reason = "not every builder is used here")]
mod fixtures;

use fixtures::*;
use plan::{Plan, PlanOptions};

const MEMBER_A: &str = "0123456789abcdef0123456789abcdef";
const MEMBER_B: &str = "fedcba9876543210fedcba9876543210";
const PROVIDER: &str = "registry.terraform.io/imsform/imsform";

fn copy(id: &str, name: &str, source_id: &str) -> state::ReplicaRecord {
    state::ReplicaRecord {
        id: id.into(),
        project: None,
        name: name.into(),
        description: None,
        source_id: source_id.into(),
        observed: None,
    }
}

fn wants(spec: &mut manifest::model::ImageSpec, region: &str, name: Option<&str>) {
    let replica = manifest::model::ReplicaSpec {
        name: name.map(str::to_owned),
        description: None,
        location: manifest::model::Location {
            file: "images.yaml".into(),
            line: 1,
            column: 1,
        },
    };
    spec.replicas.insert(region.into(), replica);
}

fn shared(key: &str, members: &[&str]) -> manifest::model::ImageAttrs {
    let mut attrs = attrs(key);
    attrs.share_with = members.iter().map(|m| (*m).to_owned()).collect();
    attrs
}

/// `web` (shared with A, one replica) gains a member and a replica; `db` (one replica) is
/// unchanged but its copy was renamed outside imsform; `old` leaves the manifests; `api` is
/// new, shared and replicated.
fn the_plan() -> Plan {
    let mut web = record("img-w", shared("web", &[MEMBER_A]));
    web.replicas
        .insert("cn-south-1".into(), copy("copy-w1", "web-image", "img-w"));
    let mut db = record("img-d", attrs("db"));
    db.replicas.insert(
        "ap-southeast-1".into(),
        copy("copy-d1", "db-image", "img-d"),
    );
    let state = state([
        ("web", web),
        ("db", db),
        ("old", record("img-o", attrs("old"))),
    ]);
    let mut view = view_of(&state);
    let image = |id: &str, name: &str| {
        let mut image = remote(id, &attrs("web"), cloud::ImageStatus::Active);
        image.name = name.into();
        (id.to_owned(), image)
    };
    let south = BTreeMap::from([image("copy-w1", "web-image")]);
    view.regions.insert("cn-south-1".into(), south);
    let singapore = BTreeMap::from([image("copy-d1", "renamed-by-hand")]);
    view.regions.insert("ap-southeast-1".into(), singapore);
    view.regions.insert("eu-west-0".into(), BTreeMap::new());
    let mut web = spec("web", shared("web", &[MEMBER_A, MEMBER_B]));
    wants(&mut web, "cn-south-1", None);
    wants(&mut web, "eu-west-0", Some("web-eu"));
    let mut db = spec("db", attrs("db"));
    wants(&mut db, "ap-southeast-1", None);
    let mut api = spec("api", shared("api", &[MEMBER_B]));
    wants(&mut api, "cn-south-1", None);
    let desired = manifests([web, db, api]);
    let options = PlanOptions::default();
    let mut plan = plan::plan(&desired, Some(&state), Some(&view), &options).unwrap();
    plan.region = Some("cn-north-4".into());
    plan
}

fn validate(schema: &str, json: &Value) {
    let schema: Value = serde_json::from_str(schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn rendered(plan: &Plan) -> Value {
    let json = imsform::render::json::to_value(plan);
    validate(include_str!("../schema/plan.schema.json"), &json);
    json
}

/// The entries of `list` by `address`.
fn by_address(list: &Value) -> BTreeMap<String, Value> {
    let entries = list.as_array().unwrap().iter();
    entries
        .map(|e| (e["address"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

const WEB_SOUTH: &str = "images.web.replicas[\"cn-south-1\"]";
const WEB_EU: &str = "images.web.replicas[\"eu-west-0\"]";
const DB_SG: &str = "images.db.replicas[\"ap-southeast-1\"]";
const API_SOUTH: &str = "images.api.replicas[\"cn-south-1\"]";

#[test]
fn every_instance_appears_in_each_of_terraforms_views() {
    let json = rendered(&the_plan());
    assert_eq!(json["format_version"], "1.2");
    assert_eq!(json["terraform_version"], env!("CARGO_PKG_VERSION"));
    let changes = by_address(&json["resource_changes"]);
    let planned = by_address(&json["planned_values"]["root_module"]["resources"]);
    let prior = by_address(&json["prior_state"]["values"]["root_module"]["resources"]);
    let kept = [
        "images.api",
        "images.db",
        "images.web",
        API_SOUTH,
        DB_SG,
        WEB_SOUTH,
        WEB_EU,
    ];
    let every: Vec<&str> = kept.iter().copied().chain(["images.old"]).collect();
    assert_eq!(
        changes.keys().cloned().collect::<BTreeSet<_>>(),
        set(&every)
    );
    assert_eq!(planned.keys().cloned().collect::<BTreeSet<_>>(), set(&kept));
    let in_state = ["images.db", "images.old", "images.web", DB_SG, WEB_SOUTH];
    assert_eq!(
        prior.keys().cloned().collect::<BTreeSet<_>>(),
        set(&in_state)
    );
    for (address, entry) in planned.iter().chain(&prior).chain(&changes) {
        let replica = address.contains(".replicas[");
        let (kind, name) = match address.split_once(".replicas[") {
            Some((image, _)) => ("imsform_image_replica", image.trim_start_matches("images.")),
            None => ("imsform_image", address.trim_start_matches("images.")),
        };
        assert_eq!(entry["type"], kind, "{address}");
        assert_eq!(entry["name"], name, "{address}");
        assert_eq!(entry["mode"], "managed", "{address}");
        assert_eq!(entry["provider_name"], PROVIDER, "{address}");
        let region = address.rsplit('"').nth(1);
        assert_eq!(
            entry.get("index").and_then(Value::as_str),
            region.filter(|_| replica)
        );
    }
    for entry in planned.values().chain(prior.values()) {
        assert_eq!(entry["schema_version"], 0);
        assert_eq!(entry["sensitive_values"], json!({}));
        assert!(entry["values"]["name"].is_string(), "{entry}");
    }
    // Members are the image's share_with, before and after.
    assert_eq!(
        planned["images.web"]["values"]["share_with"],
        json!([MEMBER_A, MEMBER_B])
    );
    assert_eq!(
        prior["images.web"]["values"]["share_with"],
        json!([MEMBER_A])
    );
    assert_eq!(
        planned["images.api"]["values"]["share_with"],
        json!([MEMBER_B])
    );
    assert_eq!(planned["images.api"]["values"]["id"], Value::Null);
    assert_eq!(planned[WEB_EU]["values"]["name"], "web-eu");
    assert_eq!(planned[WEB_EU]["values"]["source_id"], "img-w");
    assert_eq!(prior[DB_SG]["values"]["name"], "renamed-by-hand");
    assert_eq!(prior[WEB_SOUTH]["values"]["id"], "copy-w1");
    let web = &changes["images.web"]["change"];
    assert_eq!(web["actions"], json!(["update"]));
    assert_eq!(
        (&web["before_sensitive"], &web["after_sensitive"]),
        (&json!({}), &json!({}))
    );
    let api = &changes["images.api"]["change"];
    assert_eq!(
        (&api["before_sensitive"], &api["after_sensitive"]),
        (&json!(false), &json!({}))
    );
    assert!(api.get("importing").is_none());
    let old = &changes["images.old"]["change"];
    assert_eq!(old["after_sensitive"], false);
    // configuration: every image of the manifests, and each image's replicas as one block.
    let configuration = &json["configuration"];
    let provider = &configuration["provider_config"]["imsform"];
    assert_eq!(provider["full_name"], PROVIDER);
    assert_eq!(
        provider["expressions"]["region"]["constant_value"],
        "cn-north-4"
    );
    let blocks = by_address(&configuration["root_module"]["resources"]);
    let configured = [
        "images.api",
        "images.db",
        "images.web",
        "images.api.replicas",
        "images.db.replicas",
        "images.web.replicas",
    ];
    assert_eq!(
        blocks.keys().cloned().collect::<BTreeSet<_>>(),
        set(&configured)
    );
    for block in blocks.values() {
        assert_eq!(block["provider_config_key"], "imsform");
        assert_eq!(block["mode"], "managed");
    }
    let web = &blocks["images.web"];
    assert_eq!(web["type"], "imsform_image");
    assert_eq!(
        web["expressions"]["share_with"]["constant_value"],
        json!([MEMBER_A, MEMBER_B])
    );
    assert_eq!(web["expressions"]["min_disk"]["constant_value"], 40);
    let replicas = &blocks["images.web.replicas"];
    assert_eq!(replicas["type"], "imsform_image_replica");
    assert_eq!(replicas["name"], "web");
    assert_eq!(
        replicas["for_each_expression"]["constant_value"],
        json!({"cn-south-1": {}, "eu-west-0": {"name": "web-eu"}})
    );
    assert_eq!(
        replicas["expressions"]["source_id"]["references"],
        json!(["images.web.id", "images.web"])
    );
}

#[test]
fn drift_outputs_and_relevant_attributes_are_terraforms() {
    let json = rendered(&the_plan());
    let drift = by_address(&json["resource_drift"]);
    assert_eq!(drift.keys().collect::<Vec<_>>(), [DB_SG]);
    let entry = &drift[DB_SG];
    assert_eq!(entry["provider_name"], PROVIDER);
    assert_eq!(entry["index"], "ap-southeast-1");
    assert_eq!(entry["change"]["after_unknown"], json!({}));
    assert_eq!(entry["change"]["before_sensitive"], json!({}));
    assert_eq!(
        json["relevant_attributes"],
        json!([{"resource": DB_SG, "attribute": ["name"]}])
    );
    // The outputs are what `imsform output` prints of each image.
    let outputs = json["output_changes"].as_object().unwrap();
    let names: Vec<&String> = outputs.keys().collect();
    assert_eq!(
        names,
        ["images.api", "images.db", "images.old", "images.web"]
    );
    let api = &outputs["images.api"];
    assert_eq!(api["actions"], json!(["create"]));
    assert_eq!(
        api["after"],
        json!({"id": null, "name": "api-image", "region": "cn-north-4", "status": null})
    );
    assert_eq!(api["after_unknown"], json!({"id": true, "status": true}));
    assert_eq!(outputs["images.db"]["actions"], json!(["no-op"]));
    assert_eq!(outputs["images.old"]["actions"], json!(["delete"]));
    assert_eq!(outputs["images.web"]["before"]["id"], "img-w");
    assert_eq!(outputs["images.web"]["after"]["status"], "active");
}

#[test]
fn a_saved_plan_reads_back_with_its_state_and_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = the_plan();
    assert!(!plan.prior_instances.is_empty() && !plan.configuration.is_empty());
    let digest = "0".repeat(64);
    let identity = state::Identity {
        kind: state::CloudKind::Local,
        region: "cn-north-4".into(),
        project_id: "p".into(),
    };
    let saved =
        imsform::planfile::SavedPlan::new(plan.clone(), digest.clone(), digest, identity, None);
    saved.write(&path).unwrap();
    let read = imsform::planfile::SavedPlan::read(&path).unwrap();
    assert_eq!(read.plan, plan);
    // An edited prior_state or configuration is refused like any other edit.
    let text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [("\"copy-w1\"", "\"copy-w9\""), ("\"web-eu\"", "\"web-us\"")] {
        assert!(text.contains(from));
        std::fs::write(&path, text.replace(from, to)).unwrap();
        let error = imsform::planfile::SavedPlan::read(&path).unwrap_err();
        assert!(
            error.to_string().contains("changed after it was saved"),
            "{error}"
        );
    }
}

#[test]
fn prior_state_has_the_shape_show_prints_and_the_schemas_agree() {
    let json = rendered(&the_plan());
    let show = include_str!("../schema/show.schema.json");
    validate(show, &json["prior_state"]);
    let show: Value = serde_json::from_str(show).unwrap();
    let plan: Value = serde_json::from_str(include_str!("../schema/plan.schema.json")).unwrap();
    for (name, definition) in show["$defs"].as_object().unwrap() {
        if name != "identity" {
            assert_eq!(&plan["$defs"][name], definition, "$defs/{name} differs");
        }
    }
    // Without a state: no prior_state; a refresh-only plan's planned values are the state's.
    let desired = manifests([spec("web", attrs("web"))]);
    let fresh = plan::plan(&desired, None, None, &PlanOptions::default()).unwrap();
    assert!(rendered(&fresh).get("prior_state").is_none());
    let state = state([("web", record("img-w", attrs("web")))]);
    let options = PlanOptions {
        refresh_only: true,
        ..PlanOptions::default()
    };
    let refresh = plan::plan(&desired, Some(&state), Some(&view_of(&state)), &options).unwrap();
    let json = rendered(&refresh);
    assert_eq!(
        json["planned_values"], json["prior_state"]["values"],
        "refresh-only: the state after apply is the refreshed state"
    );
}
