//! The three renderings of representative plans, pinned by insta snapshots, and the JSON
//! rendering validated against `schema/plan.schema.json`.

use std::collections::{BTreeMap, BTreeSet};

// The fixtures file is shared with the engine's unit tests, which name these modules through
// `crate::`.
use imsform::{cloud, manifest, plan, state};

#[path = "../src/plan/fixtures.rs"]
#[allow(dead_code, reason = "not every builder is used here")]
mod fixtures;

use cloud::ImageStatus;
use fixtures::*;
use manifest::model::{Field, ImageAttrs, Manifests, ReplaceOrder};
use plan::{Plan, PlanOptions, RemoteView};
use state::{PendingOperation, State, Taint};

fn make(desired: &Manifests, state: &State, view: &RemoteView, options: &PlanOptions) -> Plan {
    plan::plan(desired, Some(state), Some(view), options).unwrap()
}

/// The plan of `desired` against `state`, refreshed with a cloud that matches the state.
fn plan_of(desired: &Manifests, state: &State) -> Plan {
    make(desired, state, &view_of(state), &PlanOptions::default())
}

/// Human (plain and the colour switch), markdown and JSON, in one snapshot.
fn render_all(plan: &Plan) -> String {
    let mut human = Vec::new();
    imsform::render::human::write_plan(&mut human, plan, false).unwrap();
    let human = String::from_utf8(human).unwrap();
    assert!(!human.contains('\x1b'), "colour only when asked");
    let mut colored = Vec::new();
    imsform::render::human::write_plan(&mut colored, plan, true).unwrap();
    let colored = String::from_utf8(colored).unwrap();
    // Colour marks the change symbols; a plan whose only work is the recovery or untracked
    // images has none.
    if plan
        .changes
        .iter()
        .any(|c| c.action() != plan::Action::NoOp)
    {
        assert!(colored.contains("\x1b["), "colour when asked");
    }
    let markdown =
        imsform::render::markdown::render(plan, imsform::render::markdown::DEFAULT_LIMIT);
    let json = json_of(plan);
    let json = serde_json::to_string_pretty(&json).unwrap();
    format!("--- human ---\n{human}\n--- markdown ---\n{markdown}\n--- json ---\n{json}\n")
}

/// The JSON rendering, checked against the schema, with the version made stable.
fn json_of(plan: &Plan) -> serde_json::Value {
    let mut out = Vec::new();
    imsform::render::json::write_plan(&mut out, plan).unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schema/plan.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the JSON plan does not match the schema: {errors:#?}"
    );
    json["imsform_version"] = "[version]".into();
    json["terraform_version"] = "[version]".into();
    if let Some(prior) = json.get_mut("prior_state") {
        prior["terraform_version"] = "[version]".into();
    }
    json
}

fn with(key: &str, edit: impl FnOnce(&mut ImageAttrs)) -> ImageAttrs {
    let mut attrs = attrs(key);
    edit(&mut attrs);
    attrs
}

fn view_with(state: &State, edit: impl FnOnce(&mut RemoteView)) -> RemoteView {
    let mut view = view_of(state);
    edit(&mut view);
    view
}

#[test]
fn create() {
    let wanted = with("web", |a| {
        a.description = Some("Base image for the web tier.\nRebuilt every night.".into());
        a.tags.insert("tier".into(), "web".into());
    });
    let plan = make(
        &manifests([spec("web", wanted)]),
        &state([]),
        &RemoteView::default(),
        &PlanOptions::default(),
    );
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn update_in_place() {
    let applied = with("web", |a| {
        a.description = Some("Web tier.\nBuilt nightly.\nOwner: platform".into());
        a.tags.insert("old".into(), "x".into());
        a.tags.insert("tier".into(), "a".into());
    });
    let wanted = with("web", |a| {
        a.name = "web-2026".into();
        a.min_ram = 2048;
        a.description = Some("Web tier.\nBuilt weekly.\nOwner: platform".into());
        a.tags.insert("tier".into(), "b".into());
        a.tags.insert("env".into(), "prod".into());
    });
    let state = state([("web", record("img-web", applied))]);
    let plan = plan_of(&manifests([spec("web", wanted)]), &state);
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn replace_create_before_destroy() {
    let state = state([("web", record("img-web", attrs("web")))]);
    let wanted = with("web", |a| {
        a.image_url = "images:web/disk-2026.11.qcow2".into()
    });
    let plan = plan_of(&manifests([spec("web", wanted)]), &state);
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn replace_destroy_before_create() {
    let state = state([("db", record("img-db", attrs("db")))]);
    let mut wanted = spec(
        "db",
        with("db", |a| {
            a.os_version = "Ubuntu 24.04 server 64bit".into();
            a.min_disk = 80;
            a.min_ram = 4096;
        }),
    );
    wanted.lifecycle.replace_order = ReplaceOrder::DestroyBeforeCreate;
    let plan = plan_of(&manifests([wanted]), &state);
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn destroy() {
    let state = state([
        ("old", record("img-old", attrs("old"))),
        ("web", record("img-web", attrs("web"))),
    ]);
    let plan = plan_of(&manifests([spec("web", attrs("web"))]), &state);
    insta::assert_snapshot!(render_all(&plan));
}

/// `plan`, with every image change importing its prior image, as the command marks
/// them (issue 21).
fn importing(mut plan: Plan) -> Plan {
    for change in &mut plan.changes {
        if let plan::Change::Image(change) = change {
            change.importing = change.prior_id.clone();
        }
    }
    plan.prior_state = None;
    plan
}

#[test]
fn import() {
    let state = state([("web", record("img-web", attrs("web")))]);
    let plan = importing(plan_of(&manifests([spec("web", attrs("web"))]), &state));
    assert!(plan.has_changes());
    assert_eq!(plan.counts().import, 1);
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn import_with_update() {
    let wanted = with("web", |a| {
        a.description = Some("Adopted.".into());
        a.tags.insert("env".into(), "prod".into());
    });
    let state = state([("web", record("img-web", attrs("web")))]);
    let plan = importing(plan_of(&manifests([spec("web", wanted)]), &state));
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn no_changes() {
    let state = state([("web", record("img-web", attrs("web")))]);
    let plan = plan_of(&manifests([spec("web", attrs("web"))]), &state);
    assert!(!plan.has_changes());
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn drift_only_refresh() {
    let state = state([
        ("web", record("img-web", attrs("web"))),
        ("db", record("img-db", attrs("db"))),
    ]);
    let view = view_with(&state, |v| {
        let web = v.images.get_mut("img-web").unwrap();
        web.name = "web-renamed-by-hand".into();
        web.tags.insert("owner".into(), "bob".into());
        v.images.remove("img-db");
    });
    let options = PlanOptions {
        refresh_only: true,
        ..Default::default()
    };
    let desired = manifests([spec("web", attrs("web")), spec("db", attrs("db"))]);
    let plan = make(&desired, &state, &view, &options);
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn drift_repaired_by_the_plan() {
    let state = state([
        ("web", record("img-web", attrs("web"))),
        ("db", record("img-db", attrs("db"))),
    ]);
    let view = view_with(&state, |v| {
        v.images.get_mut("img-web").unwrap().min_ram = 512;
        v.images.get_mut("img-db").unwrap().status = ImageStatus::Killed;
    });
    let desired = manifests([spec("web", attrs("web")), spec("db", attrs("db"))]);
    let plan = make(&desired, &state, &view, &PlanOptions::default());
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn recovery() {
    let mut state = state([("old", record("img-old", attrs("old")))]);
    state.pending = vec![
        pending_create("web", "01JDQ2W5R8C9A7Z3KXG4M6N0PB", None),
        pending_create("api", "01JDQ2W5R8C9A7Z3KXG4M6N0PC", Some("img-api")),
        pending(
            "old",
            PendingOperation::Create {
                token: "01JDQ2W5R8C9A7Z3KXG4M6N0PD".into(),
                attributes: Box::new(attrs("old")),
                image_id: Some("img-old-2".into()),
                job_id: Some("job-7".into()),
                replaces: Some("img-old".into()),
            },
        ),
        pending(
            "gone",
            PendingOperation::Delete {
                image_id: "img-prev".into(),
            },
        ),
    ];
    let view = view_with(&state, |v| {
        v.by_token
            .insert("01JDQ2W5R8C9A7Z3KXG4M6N0PB".into(), Vec::new());
        v.images.insert(
            "img-api".into(),
            remote("img-api", &attrs("api"), ImageStatus::Saving),
        );
        v.images.insert(
            "img-old-2".into(),
            remote("img-old-2", &attrs("old"), ImageStatus::Active),
        );
        v.images.insert(
            "img-prev".into(),
            remote("img-prev", &attrs("gone"), ImageStatus::Active),
        );
    });
    let desired = manifests(["web", "api", "old"].map(|k| spec(k, attrs(k))));
    let plan = make(&desired, &state, &view, &PlanOptions::default());
    insta::assert_snapshot!(render_all(&plan));
}

/// Only the recovery changes images: an interrupted create-before-destroy whose new image is
/// saving. The plan counts it (1 to add, 1 to destroy), warns, and never says "No changes".
#[test]
fn recovery_only_replace() {
    let mut state = state([("web", record("img-old", attrs("web")))]);
    state.pending = vec![pending(
        "web",
        PendingOperation::Create {
            token: "3f1c2a9e-01JDQ2W5R8C9A7Z3KXG4M6N0PD".into(),
            attributes: Box::new(attrs("web")),
            image_id: Some("img-new".into()),
            job_id: Some("job-7".into()),
            replaces: Some("img-old".into()),
        },
    )];
    let view = view_with(&state, |v| {
        v.images.insert(
            "img-new".into(),
            remote("img-new", &attrs("web"), ImageStatus::Saving),
        );
    });
    let desired = manifests([spec("web", attrs("web"))]);
    let plan = make(&desired, &state, &view, &PlanOptions::default());
    let rendered = render_all(&plan);
    assert!(!rendered.contains("No changes"), "{rendered}");
    insta::assert_snapshot!(rendered);
}

/// Images of this lineage that the state does not know: reported, adopted or deleted.
#[test]
fn untracked_images() {
    let state = state([("kept", record("img-k", attrs("kept")))]);
    let view = view_with(&state, |v| {
        for (id, key, status) in [
            ("img-web", "web", ImageStatus::Active),
            ("img-lost", "lost", ImageStatus::Queued),
        ] {
            let mut image = remote(id, &attrs(key), status);
            image.tags.insert(
                "imsform-token".into(),
                format!(
                    "3f1c2a9e-01JDQ2W5R8C9A7Z3KXG4M6N{}",
                    &id[4..7].to_uppercase()
                ),
            );
            v.untracked.insert(id.into(), image);
        }
    });
    let desired = manifests([spec("kept", attrs("kept")), spec("web", attrs("web"))]);
    let reported = make(&desired, &state, &view, &PlanOptions::default());
    let acted = make(
        &desired,
        &state,
        &view,
        &PlanOptions {
            adopt_untracked: true,
            delete_untracked: true,
            ..PlanOptions::default()
        },
    );
    insta::assert_snapshot!(format!(
        "=== reported ===\n{}\n=== adopted and deleted ===\n{}",
        render_all(&reported),
        render_all(&acted)
    ));
}

#[test]
fn destroy_heavy() {
    let keys = ["a1", "a2", "b1", "b2", "c1", "c2"];
    let state = state(keys.map(|k| (k, record(&format!("img-{k}"), attrs(k)))));
    let options = PlanOptions {
        destroy: true,
        ..Default::default()
    };
    let plan = make(
        &manifests(keys.map(|k| spec(k, attrs(k)))),
        &state,
        &view_of(&state),
        &options,
    );
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn moved_and_tainted() {
    let mut tainted = record("img-t", attrs("t"));
    tainted.tainted = Some(Taint {
        code: Some("IMG.0031".into()),
        reason: "registration failed".into(),
    });
    let state = state([("old-name", record("img-1", attrs("web"))), ("t", tainted)]);
    let mut desired = manifests([spec("web", attrs("web")), spec("t", attrs("t"))]);
    desired.moved = vec![moved("old-name", "web")];
    let plan = plan_of(&desired, &state);
    insta::assert_snapshot!(render_all(&plan));
}

#[test]
fn every_action_at_once() {
    let state = state([
        ("upd", record("img-u", attrs("upd"))),
        ("cbd", record("img-c", attrs("cbd"))),
        ("dbc", record("img-d", attrs("dbc"))),
        ("del", record("img-x", attrs("del"))),
        ("same", record("img-s", attrs("same"))),
    ]);
    let mut dbc = spec("dbc", with("dbc", |a| a.min_disk = 60));
    dbc.lifecycle.replace_order = ReplaceOrder::DestroyBeforeCreate;
    dbc.lifecycle.ignore_changes = BTreeSet::from([Field::Tags]);
    let desired = manifests([
        spec("new", attrs("new")),
        spec("upd", with("upd", |a| a.tags = BTreeMap::new())),
        spec(
            "cbd",
            with("cbd", |a| a.disk_format = manifest::model::DiskFormat::Vhd),
        ),
        dbc,
        spec("same", attrs("same")),
    ]);
    let plan = plan_of(&desired, &state);
    insta::assert_snapshot!(render_all(&plan));
}

/// A copy in `region` recorded for the image `source_id`.
fn replica(id: &str, name: &str, source_id: &str) -> state::ReplicaRecord {
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

#[test]
fn replicas() {
    // `web` is replaced (its replica follows) and drops one replica; `db` gets a new replica
    // and its other one was renamed and `api`'s deleted outside imsform.
    let mut web = record("img-w", attrs("web"));
    web.replicas
        .insert("cn-south-1".into(), replica("copy-1", "web-image", "img-w"));
    web.replicas.insert(
        "ap-southeast-1".into(),
        replica("copy-2", "web-image", "img-w"),
    );
    let mut db = record("img-d", attrs("db"));
    db.replicas
        .insert("cn-south-1".into(), replica("copy-3", "db-image", "img-d"));
    let mut api = record("img-a", attrs("api"));
    api.replicas
        .insert("cn-south-1".into(), replica("copy-4", "api-image", "img-a"));
    let mut state = state([("web", web), ("db", db), ("api", api)]);
    // An interrupted run was deleting an older copy of `web`.
    let delete = PendingOperation::DeleteReplica {
        region: "ap-southeast-1".into(),
        image_id: "copy-0".into(),
    };
    state.pending = vec![pending("web", delete)];
    let mut web = spec("web", with("web", |a| a.min_disk = 80));
    wants(&mut web, "cn-south-1", None);
    let mut db = spec("db", attrs("db"));
    wants(&mut db, "cn-south-1", None);
    wants(&mut db, "eu-west-0", Some("db-eu"));
    let mut api = spec("api", attrs("api"));
    wants(&mut api, "cn-south-1", None);
    let desired = manifests([web, db, api]);
    let copy = |id: &str, name: &str| {
        let mut image = remote(id, &attrs("web"), ImageStatus::Active);
        image.name = name.into();
        image.description = None;
        (id.to_owned(), image)
    };
    let view = view_with(&state, |view| {
        let south = BTreeMap::from([copy("copy-1", "web-image"), copy("copy-3", "renamed")]);
        view.regions.insert("cn-south-1".into(), south);
        let sg = BTreeMap::from([copy("copy-2", "web-image"), copy("copy-0", "web-image")]);
        view.regions.insert("ap-southeast-1".into(), sg);
        view.regions.insert("eu-west-0".into(), BTreeMap::new());
    });
    let plan = make(&desired, &state, &view, &PlanOptions::default());
    insta::assert_snapshot!(render_all(&plan));
}

/// 5,000 images: most updated, some replaced and destroyed.
fn big_plan() -> Plan {
    let keys: Vec<String> = (0..5000).map(|i| format!("img-{i:05}")).collect();
    let key = |i: usize| -> &'static str { Box::leak(keys[i].clone().into_boxed_str()) };
    let state = state((0..5000).map(|i| (key(i), record(&format!("id-{i}"), attrs(key(i))))));
    let desired = manifests((0..5000).filter(|i| i % 1000 != 7).map(|i| {
        let k = key(i);
        if i % 1000 == 3 {
            spec(k, with(k, |a| a.min_disk = 99))
        } else {
            spec(k, with(k, |a| a.min_ram = 4096))
        }
    }));
    plan_of(&desired, &state)
}

#[test]
fn a_5000_image_plan_is_cut_at_resource_boundaries_within_the_markdown_limit() {
    let plan = big_plan();
    assert_eq!(plan.counts().destroy, 10);
    let limit = imsform::render::markdown::DEFAULT_LIMIT;
    let markdown = imsform::render::markdown::render(&plan, limit);
    assert!(
        markdown.chars().count() <= limit,
        "{} > {limit}",
        markdown.chars().count()
    );
    // The summary is intact: every destroyed and replaced address is listed before the details.
    let details_at = markdown.find("<details>").unwrap();
    for i in (0..5000).filter(|i| i % 1000 == 7 || i % 1000 == 3) {
        assert!(
            markdown[..details_at].contains(&format!("`images.img-{i:05}`")),
            "{i}"
        );
    }
    assert!(markdown.contains(" resource(s) omitted ("));
    // Destroys and replaces come first in the details, so the cut spares them.
    for i in (0..5000).filter(|i| i % 1000 == 7 || i % 1000 == 3) {
        assert!(
            markdown[details_at..].contains(&format!("# images.img-{i:05} ")),
            "{i}"
        );
    }
    // The middle is cut: the first and last details are kept.
    assert!(markdown.contains("# images.img-00000 will be updated in-place"));
    assert!(markdown.contains("# images.img-04999 will be updated in-place"));
    // The cut drops whole resources: a blank line before the marker, a resource header after.
    let marker = markdown.find(" resource(s) omitted (").unwrap();
    let cut_at = markdown[..marker].rfind('\n').unwrap() + 1;
    assert!(
        markdown[..cut_at].ends_with("    }\n\n"),
        "cut inside a resource"
    );
    let after = markdown[cut_at..].lines().nth(2).unwrap();
    assert!(after.starts_with("  # images.img-"), "{after}");
    insta::assert_snapshot!(format!(
        "{}\n[…]\n{}",
        &markdown[..details_at + 400],
        &markdown[cut_at - 300..cut_at + 400]
    ));
}

#[test]
fn warnings_of_a_name_collision_and_of_targeting() {
    let state = state([("db", record("img-db", attrs("db")))]);
    let view = view_with(&state, |view| {
        view.unmanaged_names.insert(
            "web-image".into(),
            vec!["img-by-hand-1".into(), "img-by-hand-2".into()],
        );
    });
    let options = PlanOptions {
        targets: vec!["web".into(), "api".into()],
        excludes: vec!["db".into()],
        ..PlanOptions::default()
    };
    let desired = manifests([
        spec("web", attrs("web")),
        spec("api", attrs("api")),
        spec("db", attrs("db")),
    ]);
    let plan = make(&desired, &state, &view, &options);
    insta::assert_snapshot!(render_all(&plan));
}
