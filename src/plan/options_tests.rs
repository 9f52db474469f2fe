//! Table tests of drift, lifecycle, moved entries and the plan options.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::fixtures::*;
use super::*;
use crate::cloud::ImageStatus;
use crate::manifest::model::Field;

#[test]
fn drift_is_listed_once_and_repaired_by_the_plan() {
    let applied = attrs("web");
    let mut seen = applied.clone();
    seen.name = "renamed-by-hand".into();
    seen.tags.insert("owner".into(), "bob".into());
    let state = state([("web", record("img-1", applied.clone()))]);
    let view = RemoteView {
        images: BTreeMap::from([("img-1".into(), remote("img-1", &seen, ImageStatus::Active))]),
        by_token: BTreeMap::new(),
        unmanaged_names: BTreeMap::new(),
        untracked: BTreeMap::new(),
        regions: BTreeMap::new(),
        untracked_copies: Vec::new(),
    };
    let desired = manifests([spec("web", applied.clone())]);
    let plan = plan(&desired, Some(&state), Some(&view), &PlanOptions::default()).unwrap();
    assert_eq!(plan.image_drift().len(), 1);
    let drift = &plan.image_drift()[0];
    let fields: Vec<Field> = drift.field_changes.iter().map(|c| c.field).collect();
    assert_eq!(fields, [Field::Name, Field::Tags]);
    assert_eq!(drift.after.as_ref().unwrap().name, "renamed-by-hand");
    let change = &plan.image_changes()[0];
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.field_changes[0].before, json!("renamed-by-hand"));
    assert_eq!(change.field_changes[0].after, json!("web-image"));
    assert_eq!(change.tag_updates().1, ["owner"]);
}

#[test]
fn images_deleted_outside_are_drift_and_recreated_or_forgotten() {
    let state = state([
        ("a", record("img-a", attrs("a"))),
        ("gone", record("img-g", attrs("gone"))),
    ]);
    let mut view = view_of(&state);
    view.images.clear();
    view.images.insert(
        "img-g".into(),
        remote("img-g", &attrs("gone"), ImageStatus::Deleted),
    );
    let desired = manifests([spec("a", attrs("a"))]);
    let plan = plan(&desired, Some(&state), Some(&view), &PlanOptions::default()).unwrap();
    assert_eq!(
        actions(&plan),
        [(
            "a".into(),
            Action::Create,
            Some(Reason::RecreateBecauseDeletedOutside)
        )]
    );
    assert!(plan.image_changes()[0].prior_id.is_none());
    let deleted: Vec<_> = plan
        .image_drift()
        .iter()
        .map(|d| (d.address.key(), d.deleted()))
        .collect();
    assert_eq!(deleted, [("a", true), ("gone", true)]);
}

#[test]
fn without_refresh_the_state_is_trusted_and_nothing_drifts() {
    let state = state([("a", record("img-a", attrs("a")))]);
    let plan = plan(
        &manifests([spec("a", attrs("a"))]),
        Some(&state),
        None,
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(actions(&plan), [("a".into(), Action::NoOp, None)]);
    assert!(plan.image_drift().is_empty());
}

#[test]
fn ignore_changes_hides_drift_and_edits_of_its_fields() {
    let applied = attrs("web");
    let mut seen = applied.clone();
    seen.tags.insert("owner".into(), "bob".into());
    let mut wanted = spec("web", applied.clone());
    wanted.attrs.name = "edited".into();
    wanted.attrs.image_url = "images:web/new.qcow2".into();
    wanted.lifecycle.ignore_changes = BTreeSet::from([Field::Tags, Field::Name, Field::ImageUrl]);
    let state = state([("web", record("img-1", applied))]);
    let view = RemoteView {
        images: BTreeMap::from([("img-1".into(), remote("img-1", &seen, ImageStatus::Active))]),
        by_token: BTreeMap::new(),
        unmanaged_names: BTreeMap::new(),
        untracked: BTreeMap::new(),
        regions: BTreeMap::new(),
        untracked_copies: Vec::new(),
    };
    let plan = plan(
        &manifests([wanted]),
        Some(&state),
        Some(&view),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(actions(&plan), [("web".into(), Action::NoOp, None)]);
    assert!(plan.image_drift().is_empty());
}

#[test]
fn moved_entries_rename_without_replacing() {
    let mut desired = manifests([spec("new", attrs("old"))]);
    desired.moved = vec![moved("old", "new"), moved("never", "elsewhere")];
    let state = state([("old", record("img-1", attrs("old")))]);
    let plan = run(&desired, &state, &PlanOptions::default()).unwrap();
    assert_eq!(actions(&plan), [("new".into(), Action::NoOp, None)]);
    assert_eq!(plan.image_changes()[0].moved_from, Some(addr("old")));
    assert_eq!(plan.image_changes()[0].prior_id.as_deref(), Some("img-1"));
    assert_eq!(
        plan.moves,
        [Move {
            from: addr("old"),
            to: addr("new")
        }]
    );
    assert!(plan.has_changes());
}

#[test]
fn moved_conflicts_are_errors() {
    let state = state([
        ("a", record("img-a", attrs("a"))),
        ("b", record("img-b", attrs("b"))),
    ]);
    let cases = [
        (
            vec![moved("a", "b")],
            "the state already has an image at images.b",
        ),
        (
            vec![moved("a", "c"), moved("a", "d")],
            "images.a is moved more than once",
        ),
        (
            vec![moved("a", "c"), moved("b", "c")],
            "two entries move to images.c",
        ),
        (vec![moved("a", "a")], "cannot move to itself"),
    ];
    for (entries, expected) in cases {
        let mut desired = manifests([spec("c", attrs("c"))]);
        desired.moved = entries;
        let error = run(&desired, &state, &PlanOptions::default()).unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
    let mut desired = manifests([spec("a", attrs("a")), spec("c", attrs("c"))]);
    desired.moved = vec![moved("a", "c")];
    let error = run(&desired, &state, &PlanOptions::default()).unwrap_err();
    assert!(
        error.to_string().contains("images.a is still declared"),
        "{error}"
    );
}

#[test]
fn targets_and_excludes_select_addresses_by_glob() {
    let desired = manifests(["web-1", "web-2", "db"].map(|k| spec(k, attrs(k))));
    let state = state([]);
    let cases: [(&[&str], &[&str], &[&str]); 4] = [
        (&["images.web-*"], &[], &["web-1", "web-2"]),
        (&["web-*"], &["images.web-2"], &["web-1"]),
        (&[], &["db"], &["web-1", "web-2"]),
        (&["images.db", "web-2"], &[], &["db", "web-2"]),
    ];
    for (targets, excludes, expected) in cases {
        let options = PlanOptions {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            excludes: excludes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let plan = run(&desired, &state, &options).unwrap();
        let keys: Vec<_> = plan
            .image_changes()
            .iter()
            .map(|c| c.address.key())
            .collect();
        assert_eq!(keys, expected, "{targets:?} {excludes:?}");
    }
    let options = PlanOptions {
        targets: vec!["web-[".into()],
        ..Default::default()
    };
    let error = run(&desired, &state, &options).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid --target pattern `web-[`"),
        "{error}"
    );
}

#[test]
fn refresh_only_accepts_drift_and_changes_nothing_in_the_cloud() {
    let applied = attrs("web");
    let mut seen = applied.clone();
    seen.min_ram = 4096;
    let state = state([("web", record("img-1", applied))]);
    let view = RemoteView {
        images: BTreeMap::from([("img-1".into(), remote("img-1", &seen, ImageStatus::Active))]),
        by_token: BTreeMap::new(),
        unmanaged_names: BTreeMap::new(),
        untracked: BTreeMap::new(),
        regions: BTreeMap::new(),
        untracked_copies: Vec::new(),
    };
    // The manifests also want a new image: refresh-only ignores that.
    let mut wanted = attrs("web");
    wanted.min_disk = 100;
    let options = PlanOptions {
        refresh_only: true,
        ..Default::default()
    };
    let plan = plan(
        &manifests([spec("web", wanted)]),
        Some(&state),
        Some(&view),
        &options,
    )
    .unwrap();
    assert_eq!(plan.mode, PlanMode::RefreshOnly);
    assert!(plan.image_changes().is_empty());
    assert_eq!(plan.image_drift().len(), 1);
    assert_eq!(plan.image_drift()[0].after.as_ref().unwrap().min_ram, 4096);
    assert!(plan.has_changes());
}

#[test]
fn plans_are_deterministic_and_ordered_by_address() {
    let keys = ["zeta", "alpha", "mid", "beta"];
    let desired = manifests(keys.map(|k| spec(k, attrs(k))));
    let state = state([("omega", record("img-o", attrs("omega")))]);
    let first = run(&desired, &state, &PlanOptions::default()).unwrap();
    let second = run(&desired, &state, &PlanOptions::default()).unwrap();
    assert_eq!(first, second);
    let order: Vec<_> = first
        .image_changes()
        .iter()
        .map(|c| c.address.key())
        .collect();
    assert_eq!(order, ["alpha", "beta", "mid", "omega", "zeta"]);
}

#[test]
fn plans_survive_a_serde_round_trip() {
    let state = state([("a", record("img-a", attrs("a")))]);
    let mut wanted = attrs("a");
    wanted.min_disk = 50;
    let plan = run(
        &manifests([spec("a", wanted)]),
        &state,
        &PlanOptions::default(),
    )
    .unwrap();
    let text = serde_json::to_string(&plan).unwrap();
    assert_eq!(serde_json::from_str::<Plan>(&text).unwrap(), plan);
}
