//! Table tests of the engine: every action and every reason.

use std::collections::BTreeMap;

use super::fixtures::*;
use super::*;
use crate::cloud::{AttrUpdate, ImageStatus};
use crate::manifest::model::{DiskFormat, Field, ReplaceOrder};
use crate::state::Taint;

#[test]
fn creates_what_the_state_lacks_and_keeps_what_matches() {
    let desired = manifests([spec("a", attrs("a")), spec("b", attrs("b"))]);
    let state = state([("b", record("img-b", attrs("b")))]);
    let plan = run(&desired, &state, &PlanOptions::default()).unwrap();
    assert_eq!(
        actions(&plan),
        [
            ("a".into(), Action::Create, None),
            ("b".into(), Action::NoOp, None)
        ]
    );
    let create = &plan.image_changes()[0];
    assert_eq!(create.after.as_ref(), Some(&attrs("a")));
    assert!(create.before.is_none() && create.prior_id.is_none());
    assert_eq!(
        plan.counts(),
        Counts {
            import: 0,
            add: 1,
            change: 0,
            destroy: 0
        }
    );
    assert!(plan.has_changes());
    assert!(plan.image_drift().is_empty());
}

#[test]
fn no_state_plans_creates_and_records_no_lineage() {
    let desired = manifests([spec("a", attrs("a"))]);
    let plan = plan(
        &desired,
        None,
        Some(&RemoteView::default()),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(actions(&plan), [("a".into(), Action::Create, None)]);
    assert_eq!(plan.prior_state, None);
}

#[test]
fn an_unchanged_plan_has_no_changes() {
    let desired = manifests([spec("a", attrs("a"))]);
    let state = state([("a", record("img-a", attrs("a")))]);
    let plan = run(&desired, &state, &PlanOptions::default()).unwrap();
    assert!(!plan.has_changes());
    assert_eq!(
        plan.prior_state,
        Some(StateRef {
            lineage: state.lineage.clone(),
            serial: 7
        })
    );
}

#[test]
fn in_place_fields_update_with_field_level_changes() {
    let base = attrs("web");
    let cases: Vec<(&str, Edit, Field)> = vec![
        ("name", |a| a.name = "web-2".into(), Field::Name),
        ("min_ram", |a| a.min_ram = 2048, Field::MinRam),
        (
            "description",
            |a| a.description = Some("Web tier".into()),
            Field::Description,
        ),
        (
            "tags",
            |a| drop(a.tags.insert("tier".into(), "web".into())),
            Field::Tags,
        ),
    ];
    for (label, edit, field) in cases {
        let mut wanted = base.clone();
        edit(&mut wanted);
        let change = one(base.clone(), Some(base.clone()), wanted.clone());
        assert_eq!(change.action, Action::Update, "{label}");
        assert_eq!(change.reason, None, "{label}");
        assert_eq!(change.prior_id.as_deref(), Some("img-1"), "{label}");
        assert_eq!(change.field_changes.len(), 1, "{label}");
        assert_eq!(change.field_changes[0].field, field, "{label}");
        assert!(!change.field_changes[0].forces_replacement, "{label}");
        assert_eq!(change.after, Some(wanted), "{label}");
    }
}

#[test]
fn tag_changes_list_added_removed_and_changed_keys_only() {
    let mut applied = attrs("web");
    applied.tags = BTreeMap::from([
        ("keep".into(), "1".into()),
        ("old".into(), "x".into()),
        ("tier".into(), "a".into()),
    ]);
    let mut wanted = applied.clone();
    wanted.tags.remove("old");
    wanted.tags.insert("tier".into(), "b".into());
    wanted.tags.insert("env".into(), "prod".into());
    let change = one(applied.clone(), Some(applied), wanted);
    let tags = &change.field_changes[0].tags;
    let keys: Vec<_> = tags
        .iter()
        .map(|t| (t.key.as_str(), t.before.as_deref(), t.after.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            ("env", None, Some("prod")),
            ("old", Some("x"), None),
            ("tier", Some("a"), Some("b"))
        ]
    );
    let (set, remove) = change.tag_updates();
    assert_eq!(
        set,
        BTreeMap::from([("env".into(), "prod".into()), ("tier".into(), "b".into())])
    );
    assert_eq!(remove, ["old"]);
}

#[test]
fn attr_updates_carry_only_the_changed_fields() {
    let base = attrs("web");
    let mut wanted = base.clone();
    wanted.name = "renamed".into();
    wanted.description = Some("d".into());
    let change = one(base.clone(), Some(base), wanted);
    assert_eq!(
        change.attr_updates(),
        [
            AttrUpdate::Name("renamed".into()),
            AttrUpdate::Description(Some("d".into()))
        ]
    );
}

#[test]
fn the_token_tag_is_never_drift_and_never_removed() {
    let base = attrs("web");
    // `remote` adds an imsform-token tag that neither the state nor the manifests hold.
    let change = one(base.clone(), Some(base.clone()), base);
    assert_eq!(change.action, Action::NoOp);
}

#[test]
fn replace_fields_force_replacement() {
    let base = attrs("web");
    let cases: Vec<(Edit, Field)> = vec![
        (
            |a| a.image_url = "images:web/disk-2.qcow2".into(),
            Field::ImageUrl,
        ),
        (
            |a| a.os_version = "Ubuntu 24.04 server 64bit".into(),
            Field::OsVersion,
        ),
        (|a| a.disk_format = DiskFormat::Raw, Field::DiskFormat),
        (|a| a.min_disk = 80, Field::MinDisk),
    ];
    for (edit, field) in cases {
        let mut wanted = base.clone();
        edit(&mut wanted);
        let change = one(base.clone(), Some(base.clone()), wanted);
        assert_eq!(
            change.action,
            Action::Replace {
                order: ReplaceOrder::CreateBeforeDestroy
            },
            "{field}"
        );
        assert_eq!(
            change.reason,
            Some(Reason::ReplaceBecauseCannotUpdate),
            "{field}"
        );
        assert!(change.forces(field), "{field}");
    }
}

#[test]
fn replace_order_follows_the_lifecycle() {
    let mut wanted = spec("web", attrs("web"));
    wanted.attrs.min_disk = 100;
    wanted.lifecycle.replace_order = ReplaceOrder::DestroyBeforeCreate;
    let state = state([("web", record("img-1", attrs("web")))]);
    let plan = run(&manifests([wanted]), &state, &PlanOptions::default()).unwrap();
    assert_eq!(
        plan.image_changes()[0].action,
        Action::Replace {
            order: ReplaceOrder::DestroyBeforeCreate
        }
    );
    assert_eq!(
        plan.counts(),
        Counts {
            import: 0,
            add: 1,
            change: 0,
            destroy: 1
        }
    );
}

#[test]
fn create_time_fields_compare_with_the_state_not_the_cloud() {
    // The cloud reports disk_format zvhd2 for a qcow2 upload and no os_version change matters.
    let base = attrs("web");
    let mut seen = base.clone();
    seen.os_version = "Other".into();
    let change = one(base.clone(), Some(seen), base);
    assert_eq!(change.action, Action::NoOp);
}

#[test]
fn tainted_killed_and_requested_replacements_have_their_reason() {
    let desired = manifests([
        spec("t", attrs("t")),
        spec("k", attrs("k")),
        spec("r", attrs("r")),
    ]);
    let mut tainted = record("img-t", attrs("t"));
    tainted.tainted = Some(Taint {
        code: Some("IMG.0001".into()),
        reason: "job failed".into(),
    });
    let state = state([
        ("t", tainted),
        ("k", record("img-k", attrs("k"))),
        ("r", record("img-r", attrs("r"))),
    ]);
    let mut view = view_of(&state);
    view.images.get_mut("img-k").unwrap().status = ImageStatus::Killed;
    let options = PlanOptions {
        replace: vec![addr("r")],
        ..Default::default()
    };
    let plan = plan(&desired, Some(&state), Some(&view), &options).unwrap();
    let cbd = Action::Replace {
        order: ReplaceOrder::CreateBeforeDestroy,
    };
    assert_eq!(
        actions(&plan),
        [
            ("k".into(), cbd, Some(Reason::ReplaceBecauseKilled)),
            ("r".into(), cbd, Some(Reason::ReplaceByRequest)),
            ("t".into(), cbd, Some(Reason::ReplaceBecauseTainted)),
        ]
    );
    // The killed image is also drift: its status changed outside imsform.
    assert_eq!(plan.image_drift().len(), 1);
    let status = plan.image_drift()[0].status.as_ref().unwrap();
    assert_eq!(
        (status.before.as_str(), status.after.as_str()),
        ("active", "killed")
    );
}

#[test]
fn without_refresh_a_killed_observation_still_replaces() {
    let mut killed = record("img-1", attrs("web"));
    killed.observed.as_mut().unwrap().status = "killed".into();
    let state = state([("web", killed)]);
    let plan = plan(
        &manifests([spec("web", attrs("web"))]),
        Some(&state),
        None,
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(
        plan.image_changes()[0].reason,
        Some(Reason::ReplaceBecauseKilled)
    );
    assert!(!plan.refreshed);
}

#[test]
fn replace_of_an_unknown_address_is_an_error() {
    let state = state([]);
    let options = PlanOptions {
        replace: vec![addr("ghost")],
        ..Default::default()
    };
    let error = run(&manifests([]), &state, &options).unwrap_err();
    assert!(
        matches!(error, PlanError::UnknownReplaceAddress { .. }),
        "{error}"
    );
}

#[test]
fn destroys_what_left_the_manifests_and_everything_with_destroy() {
    let state = state([
        ("a", record("img-a", attrs("a"))),
        ("b", record("img-b", attrs("b"))),
    ]);
    let desired = manifests([spec("a", attrs("a")), spec("c", attrs("c"))]);
    let plan = run(&desired, &state, &PlanOptions::default()).unwrap();
    assert_eq!(
        actions(&plan),
        [
            ("a".into(), Action::NoOp, None),
            (
                "b".into(),
                Action::Delete,
                Some(Reason::DeleteBecauseNoResourceConfig)
            ),
            ("c".into(), Action::Create, None),
        ]
    );
    assert_eq!(plan.image_changes()[1].prior_id.as_deref(), Some("img-b"));
    assert!(plan.image_changes()[1].after.is_none());
    let options = PlanOptions {
        destroy: true,
        ..Default::default()
    };
    let plan = run(&desired, &state, &options).unwrap();
    assert_eq!(plan.mode, PlanMode::Destroy);
    assert_eq!(
        actions(&plan),
        [
            ("a".into(), Action::Delete, Some(Reason::DeleteByRequest)),
            (
                "b".into(),
                Action::Delete,
                Some(Reason::DeleteBecauseNoResourceConfig)
            ),
        ]
    );
}

#[test]
fn protected_changes_are_refused_unless_the_image_is_replaced() {
    let mut wanted = attrs("web");
    wanted.protected = true;
    let state = state([("web", record("img-1", attrs("web")))]);
    let desired = manifests([spec("web", wanted)]);
    let error = run(&desired, &state, &PlanOptions::default()).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("images.web: `protected` changes from false to true"),
        "{text}"
    );
    assert!(text.contains("--replace images.web"), "{text}");
    // Unprotecting: a protected image cannot be deleted, so --replace is no way out.
    let mut protected = attrs("web");
    protected.protected = true;
    let unprotect = super::fixtures::state([("web", record("img-1", protected))]);
    let error = run(
        &manifests([spec("web", attrs("web"))]),
        &unprotect,
        &PlanOptions::default(),
    );
    let text = error.unwrap_err().to_string();
    assert!(text.contains("unprotect the image by hand"), "{text}");
    assert!(text.contains("imsform state rm images.web"), "{text}");
    assert!(!text.contains("--replace"), "{text}");
    let options = PlanOptions {
        replace: vec![addr("web")],
        ..Default::default()
    };
    let plan = run(&desired, &state, &options).unwrap();
    assert_eq!(
        plan.image_changes()[0].reason,
        Some(Reason::ReplaceByRequest)
    );
    assert!(
        plan.image_changes()[0]
            .field_changes
            .iter()
            .any(|c| c.field == Field::Protected)
    );
}

#[test]
fn prevent_destroy_refuses_replace_and_destroy_naming_the_address_and_reason() {
    let mut guarded = spec("db", attrs("db"));
    guarded.lifecycle.prevent_destroy = true;
    guarded.attrs.min_disk = 200;
    let state = state([("db", record("img-db", attrs("db")))]);
    let error = run(
        &manifests([guarded.clone()]),
        &state,
        &PlanOptions::default(),
    )
    .unwrap_err();
    let PlanError::Refused { problems } = &error else {
        panic!("{error}")
    };
    assert_eq!(
        problems,
        &[Problem::PreventDestroy {
            address: addr("db"),
            replace: true,
            reason: Reason::ReplaceBecauseCannotUpdate
        }]
    );
    assert!(
        error
            .to_string()
            .contains("images.db has lifecycle.prevent_destroy set")
    );
    guarded.attrs.min_disk = 40;
    let options = PlanOptions {
        destroy: true,
        ..Default::default()
    };
    let error = run(&manifests([guarded]), &state, &options).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("would destroy it because of the --destroy option"),
        "{error}"
    );
    // Removing the image from the manifests removes its protection, as in Terraform.
    let plan = run(&manifests([]), &state, &PlanOptions::default()).unwrap();
    assert_eq!(plan.image_changes()[0].action, Action::Delete);
}

#[test]
fn protected_images_are_never_planned_for_deletion() {
    let mut guarded = attrs("web");
    guarded.protected = true;
    let state = state([("web", record("img-1", guarded.clone()))]);
    let mut wanted = guarded.clone();
    wanted.min_disk = 80;
    let error = run(
        &manifests([spec("web", wanted.clone())]),
        &state,
        &PlanOptions::default(),
    )
    .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("images.web is protected"), "{text}");
    assert!(
        text.contains("would replace it because a field that forces"),
        "{text}"
    );
    let error = run(&manifests([]), &state, &PlanOptions::default()).unwrap_err();
    assert!(error.to_string().contains("would destroy it"), "{error}");
    // Unprotected by hand: the refreshed view decides, and the replacement is planned.
    let mut view = view_of(&state);
    view.images.get_mut("img-1").unwrap().protected = false;
    let desired = manifests([spec("web", wanted)]);
    let plan = plan(&desired, Some(&state), Some(&view), &PlanOptions::default()).unwrap();
    assert_eq!(
        plan.image_changes()[0].reason,
        Some(Reason::ReplaceBecauseCannotUpdate)
    );
}
