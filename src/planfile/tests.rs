//! Saved plans: the file is the JSON plan plus an envelope; the plan read back is the plan
//! written; an edited file is refused; the freshness gate.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::cloud::ImageStatus;
use crate::manifest::model::ReplaceOrder;
use crate::plan::fixtures::*;
use crate::plan::{Action, NameCollision, PlanOptions, Targeting, UntrackedAction, plan};
use crate::state::CloudKind;

fn identity(project: &str) -> Identity {
    Identity {
        kind: CloudKind::Cloud,
        region: "cn-north-4".into(),
        project_id: project.into(),
    }
}

fn saved_of(plan: Plan) -> SavedPlan {
    let manifests = manifests_digest(&[("images.yaml", "images: {}")]);
    SavedPlan::new(
        plan,
        manifests,
        config_digest("cn-north-4", "p1", "https://ims"),
        identity("p1"),
        None,
    )
}

fn saved(state: Option<&State>) -> SavedPlan {
    let desired = manifests([spec("web", attrs("web"))]);
    saved_of(plan(&desired, state, None, &PlanOptions::default()).unwrap())
}

/// A plan with every action, drift (a rename and a deletion), a recovery, a move, a name
/// collision, targeting, a timestamp, a taint and untracked images (adopted and reported, or
/// deleted).
fn rich_plan() -> Plan {
    rich_plan_with(true)
}

fn rich_plan_with(adopt: bool) -> Plan {
    let mut tainted = record("img-t", attrs("tnt"));
    tainted.tainted = Some(crate::state::Taint {
        code: Some("IMG.0057".into()),
        reason: "the image file could not be read".into(),
    });
    let mut state = state([
        ("upd", record("img-u", attrs("upd"))),
        ("cbd", record("img-c", attrs("cbd"))),
        ("dbc", record("img-d", attrs("dbc"))),
        ("del", record("img-x", attrs("del"))),
        ("same", record("img-s", attrs("same"))),
        ("old", record("img-o", attrs("moved"))),
        ("gone", record("img-g", attrs("gone"))),
        ("skip", record("img-k", attrs("skip"))),
        ("tnt", tainted),
    ]);
    state.pending = vec![pending_create("rec", "tok-rec", Some("img-r"))];
    let mut view = view_of(&state);
    view.images.remove("img-g");
    if let Some(image) = view.images.get_mut("img-s") {
        image.name = "renamed".into();
    }
    let mut seen = remote("img-r", &attrs("rec"), ImageStatus::Saving);
    seen.tags.clear();
    view.images.insert("img-r".into(), seen);
    view.unmanaged_names
        .insert("new-image".into(), vec!["img-n1".into(), "img-n2".into()]);
    for (id, key, n) in [("img-orphan", "adopt-me", 1), ("img-stray", "stray", 2)] {
        let mut image = remote(id, &attrs(key), ImageStatus::Active);
        let token = format!("3f1c2a9e-01JDQ2W5R8C9A7Z3KXG4M6N00{n}");
        image
            .tags
            .insert(crate::manifest::model::TOKEN_TAG.into(), token);
        view.untracked.insert(id.into(), image);
    }
    let mut dbc = spec("dbc", attrs("dbc"));
    dbc.attrs.min_disk = 60;
    dbc.lifecycle.replace_order = ReplaceOrder::DestroyBeforeCreate;
    let mut cbd = spec("cbd", attrs("cbd"));
    cbd.attrs.min_disk = 80;
    let mut upd = spec("upd", attrs("upd"));
    upd.attrs.tags = BTreeMap::from([("k".into(), "v".into())]);
    let mut desired = manifests([
        spec("new", attrs("new")),
        upd,
        cbd,
        dbc,
        spec("same", attrs("same")),
        spec("moved", attrs("moved")),
        spec("gone", attrs("gone")),
        spec("rec", attrs("rec")),
        spec("tnt", attrs("tnt")),
        spec("adopt-me", attrs("adopt-me")),
    ]);
    desired.moved = vec![moved("old", "moved")];
    let options = PlanOptions {
        excludes: vec!["sk*".into()],
        adopt_untracked: adopt,
        delete_untracked: !adopt,
        ..PlanOptions::default()
    };
    let mut plan = plan(&desired, Some(&state), Some(&view), &options).unwrap();
    plan.timestamp = Some("2026-12-02T13:00:00Z".into());
    plan
}

#[test]
fn the_rich_plan_has_every_part_the_file_must_carry() {
    let plan = rich_plan();
    let kinds: Vec<Action> = plan.image_changes().iter().map(|c| c.action).collect();
    for action in [
        Action::Create,
        Action::Update,
        Action::NoOp,
        Action::Replace {
            order: ReplaceOrder::CreateBeforeDestroy,
        },
        Action::Replace {
            order: ReplaceOrder::DestroyBeforeCreate,
        },
        Action::Delete,
    ] {
        assert!(kinds.contains(&action), "{action:?} missing: {kinds:?}");
    }
    assert!(plan.image_drift().iter().any(|d| d.deleted()) && plan.image_drift().len() >= 2);
    assert!(!plan.image_recovery().is_empty() && !plan.moves.is_empty());
    assert!(plan.image_changes().iter().any(|c| c.taint.is_some()));
    let untracked: Vec<_> = plan.untracked.iter().map(|u| &u.action).collect();
    assert!(
        matches!(
            untracked[..],
            [
                UntrackedAction::Adopt { .. },
                UntrackedAction::Report { matches: None }
            ]
        ),
        "{untracked:?}"
    );
    let deleted = rich_plan_with(false);
    assert!(
        deleted
            .untracked
            .iter()
            .all(|u| u.action == UntrackedAction::Delete)
    );
    assert_eq!(
        plan.name_collisions,
        [NameCollision {
            address: addr("new"),
            name: "new-image".into(),
            image_ids: vec!["img-n1".into(), "img-n2".into()],
        }]
    );
    assert_eq!(
        plan.targeting,
        Some(Targeting {
            targets: vec![],
            excludes: vec!["sk*".into()],
        })
    );
}

#[test]
fn the_plan_read_back_from_the_json_plan_is_the_plan_written() {
    let mut importing = rich_plan();
    for change in &mut importing.changes {
        if let crate::plan::Change::Image(change) = change
            && change.action == Action::Update
        {
            change.importing = change.prior_id.clone();
        }
    }
    assert!(importing.imports().next().is_some());
    for plan in [
        rich_plan(),
        rich_plan_with(false),
        saved(None).plan,
        importing,
    ] {
        let value = crate::render::json::to_value(&plan);
        let document = JsonPlan::deserialize(value).unwrap();
        assert_eq!(read::plan(document).unwrap(), plan);
    }
}

#[test]
fn a_saved_plan_is_the_json_plan_at_the_top_level_in_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let original = saved_of(rich_plan());
    original.write(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let read = SavedPlan::read(&path).unwrap();
    assert_eq!(read, original);
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let rendered = crate::render::json::to_value(&original.plan);
    for (key, value) in rendered.as_object().unwrap() {
        assert_eq!(&file[key], value, "{key} differs from `plan --json`");
    }
    assert_eq!(file["kind"], "imsform-plan");
    assert_eq!(file["identity"]["project_id"], "p1");
    assert_eq!(file["lineage"], "3f1c2a9e-0000-4000-8000-000000000001");
    assert_eq!(file["serial"], 7);
    assert!(file["recorded_inputs"].is_object());
    // Only the plan file is left in the directory: the temporary file was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_edited_plan_file_is_refused_whatever_was_edited() {
    let original = saved_of(rich_plan());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    original.write(&path).unwrap();
    let good: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    type Edit = fn(&mut Value);
    let edits: [(&str, Edit); 5] = [
        ("an after value", |v| {
            v["resource_changes"][0]["change"]["after"]["name"] = "edited".into();
        }),
        ("an action", |v| {
            v["resource_changes"][0]["change"]["actions"] = serde_json::json!(["delete"]);
        }),
        ("the summary", |v| v["summary"]["add"] = 99.into()),
        ("a derived field", |v| v["applyable"] = false.into()),
        ("the digest", |v| v["plan_sha256"] = "0".repeat(64).into()),
    ];
    for (what, edit) in edits {
        let mut value = good.clone();
        edit(&mut value);
        let bytes = serde_json::to_vec(&value).unwrap();
        let error = SavedPlan::from_slice(&path, &bytes).unwrap_err();
        assert!(
            matches!(error, SavedPlanError::Tampered { .. }),
            "{what}: {error}"
        );
        assert!(error.to_string().contains("was changed after it was saved"));
    }
    // Re-serialising the same document in another layout is not an edit.
    let compact = serde_json::to_vec(&good).unwrap();
    assert_eq!(SavedPlan::from_slice(&path, &compact).unwrap(), original);
}

#[test]
fn variables_are_recorded_inputs_read_back_and_outside_the_plan_digest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plain = saved(None);
    plain.write(&path).unwrap();
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file["recorded_inputs"], serde_json::json!({}));
    assert!(SavedPlan::read(&path).unwrap().variables().is_empty());
    let values = BTreeMap::from([
        ("build".to_owned(), "41".to_owned()),
        ("os".to_owned(), "ubuntu".to_owned()),
    ]);
    let with = saved(None).with_variables(&values);
    assert_eq!(with.envelope.plan_sha256, plain.envelope.plan_sha256);
    with.write(&path).unwrap();
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        file["recorded_inputs"],
        serde_json::json!({ "variables": { "build": "41", "os": "ubuntu" } })
    );
    let read = SavedPlan::read(&path).unwrap();
    assert_eq!(read, with);
    assert_eq!(read.variables(), values);
    // Recorded values that are not strings by name are refused, not applied.
    for bad in [
        serde_json::json!({ "variables": { "build": 41 } }),
        serde_json::json!({ "variables": ["41"] }),
    ] {
        let mut value = file.clone();
        value["recorded_inputs"] = bad;
        let error = SavedPlan::from_slice(&path, &serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert!(matches!(error, SavedPlanError::Malformed { .. }), "{error}");
    }
}

#[test]
fn malformed_truncated_and_foreign_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    saved(None).write(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let truncated = &good[..good.len() / 2];
    let error = SavedPlan::from_slice(&path, truncated).unwrap_err();
    assert!(matches!(error, SavedPlanError::Malformed { .. }), "{error}");
    assert!(error.to_string().contains("may be truncated"), "{error}");
    let error = SavedPlan::from_slice(&path, b"{\"planfile_version\": 2}").unwrap_err();
    assert!(
        error.to_string().contains("no \"kind\": \"imsform-plan\""),
        "{error}"
    );
    let mut value: Value = serde_json::from_slice(&good).unwrap();
    value["planfile_version"] = 99.into();
    let error = SavedPlan::from_slice(&path, &serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(
        matches!(error, SavedPlanError::WrongVersion { found: 99, .. }),
        "{error}"
    );
    value["planfile_version"] = 2.into();
    value["imsform_version"] = "0.0.1".into();
    let error = SavedPlan::from_slice(&path, &serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(
        matches!(error, SavedPlanError::OtherImsform { .. }),
        "{error}"
    );
    value["imsform_version"] = env!("CARGO_PKG_VERSION").into();
    value["resource_changes"] = "nonsense".into();
    let error = SavedPlan::from_slice(&path, &serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(matches!(error, SavedPlanError::Malformed { .. }), "{error}");
    let error = SavedPlan::read(Path::new("/nonexistent/plan.json")).unwrap_err();
    assert!(matches!(error, SavedPlanError::Read { .. }), "{error}");
}

#[test]
fn digests_depend_on_every_part_and_not_on_file_order() {
    let a = manifests_digest(&[("a.yaml", "x"), ("b.yaml", "y")]);
    assert_eq!(a, manifests_digest(&[("b.yaml", "y"), ("a.yaml", "x")]));
    assert_ne!(a, manifests_digest(&[("a.yaml", "x"), ("b.yaml", "z")]));
    assert_ne!(a, manifests_digest(&[("a.yaml", "xb.yaml"), ("", "y")]));
    assert_eq!(a.len(), 64);
    let c = config_digest("cn-north-4", "p1", "https://ims");
    assert_ne!(c, config_digest("cn-north-4", "p2", "https://ims"));
    assert_ne!(c, config_digest("cn-north-1", "p1", "https://ims"));
    assert_ne!(c, config_digest("cn-north-4", "p1", "https://other"));
}

#[test]
fn check_fresh_refuses_every_kind_of_stale_plan() {
    let config = config_digest("cn-north-4", "p1", "https://ims");
    let here = identity("p1");
    let state0 = state([("web", record("img-1", attrs("web")))]);
    let mut later = state0.clone();
    later.serial += 1;
    let mut other = state0.clone();
    other.lineage = "another-lineage".into();
    let with_state = saved(Some(&state0));
    let without = saved(None);
    assert_eq!(
        check_fresh(&with_state, Some(&state0), &config, &here, None),
        Ok(())
    );
    assert_eq!(check_fresh(&without, None, &config, &here, None), Ok(()));
    let cases = [
        (&without, Some(&state0), "state (lineage 3f1c2a9e"),
        (&with_state, None, "there is no state now"),
        (&with_state, Some(&other), "now has lineage another-lineage"),
        (
            &with_state,
            Some(&later),
            "serial 7, but the state is at serial 8",
        ),
    ];
    for (plan, current, expected) in cases {
        let stale = check_fresh(plan, current, &config, &here, None).unwrap_err();
        assert!(stale.to_string().contains(expected), "{stale}");
        assert!(
            stale.to_string().starts_with("Saved plan is stale"),
            "{stale}"
        );
    }
    let elsewhere = config_digest("cn-north-4", "p2", "https://ims");
    let stale = check_fresh(
        &with_state,
        Some(&state0),
        &elsewhere,
        &identity("p2"),
        None,
    )
    .unwrap_err();
    let text = stale.to_string();
    assert!(
        text.contains("made for the cloud (region cn-north-4, project p1)")
            && text.contains("points at the cloud (region cn-north-4, project p2)"),
        "{text}"
    );
}

#[test]
fn check_fresh_refuses_a_plan_of_another_postgresql_workspace() {
    let config = config_digest("cn-north-4", "p1", "https://ims");
    let here = identity("p1");
    let state0 = state([("web", record("img-1", attrs("web")))]);
    let local = saved(Some(&state0));
    let mut pg = local.clone();
    pg.envelope.state_workspace = Some("imsform/default".into());
    let check =
        |plan: &SavedPlan, workspace| check_fresh(plan, Some(&state0), &config, &here, workspace);
    assert_eq!(check(&pg, Some("imsform/default")), Ok(()));
    let cases = [
        (
            &pg,
            Some("imsform/staging"),
            "PostgreSQL workspace imsform/default, but the state now is PostgreSQL workspace imsform/staging",
        ),
        (&pg, None, "but the state now is a state file"),
        (
            &local,
            Some("imsform/default"),
            "made from a state file, but",
        ),
    ];
    for (plan, workspace, expected) in cases {
        let stale = check(plan, workspace).unwrap_err();
        let text = stale.to_string();
        assert!(
            text.starts_with("Saved plan is stale") && text.contains(expected),
            "{text}"
        );
    }
    // Recorded in the file (absent for a state file, so such plans are unchanged).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    pg.write(&path).unwrap();
    assert_eq!(SavedPlan::read(&path).unwrap(), pg);
    local.write(&path).unwrap();
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("state_workspace")
    );
}
