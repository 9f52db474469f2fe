//! `share_with` in the engine: the member set diffed against the members refresh read, drift
//! when they changed outside imsform, no drift while imsform's own change is in the journal,
//! the members' statuses carried into the plan, and `ignore_changes`.

use std::collections::{BTreeMap, BTreeSet};

use super::fixtures::*;
use super::*;
use crate::cloud::MemberStatus;
use crate::manifest::model::{Field, ImageAttrs};
use crate::state::{PendingEntry, PendingOperation};

const P1: &str = "11111111111111111111111111111111";
const P2: &str = "22222222222222222222222222222222";
const P3: &str = "33333333333333333333333333333333";

fn sharing(projects: &[&str]) -> ImageAttrs {
    let mut attrs = attrs("web");
    attrs.share_with = projects.iter().map(|p| (*p).to_owned()).collect();
    attrs
}

/// A state recording `recorded`, a cloud whose image has `members`, manifests asking `wanted`.
fn planned(
    recorded: &[&str],
    members: &[(&str, MemberStatus)],
    wanted: &[&str],
    pending: Vec<PendingEntry>,
) -> Plan {
    let mut state = state([("web", record("img-1", sharing(recorded)))]);
    state.pending = pending;
    let mut view = view_of(&state);
    let image = view.images.get_mut("img-1").unwrap();
    let by_project = members.iter().map(|(p, s)| ((*p).to_owned(), s.clone()));
    image.members = Some(by_project.collect());
    let desired = manifests([spec("web", sharing(wanted))]);
    plan(&desired, Some(&state), Some(&view), &PlanOptions::default()).unwrap()
}

#[test]
fn a_created_image_lists_its_members_and_an_unchanged_set_is_no_change() {
    let desired = manifests([spec("web", sharing(&[P1, P2]))]);
    let plan = plan(&desired, None, None, &PlanOptions::default()).unwrap();
    let after = plan.image_changes()[0].after.as_ref().unwrap();
    assert_eq!(after.share_with, BTreeSet::from([P1.into(), P2.into()]));
    let same = planned(&[P1], &[(P1, MemberStatus::Rejected)], &[P1], Vec::new());
    // A rejected share is the consumer's answer, not a change: still a member.
    assert_eq!(same.image_changes()[0].action, Action::NoOp);
    assert!(same.image_drift().is_empty());
}

#[test]
fn members_added_and_removed_are_one_in_place_update_with_statuses() {
    let plan = planned(
        &[P1, P2],
        &[(P1, MemberStatus::Accepted), (P2, MemberStatus::Pending)],
        &[P1, P3],
        Vec::new(),
    );
    let change = &plan.image_changes()[0];
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.field_changes.len(), 1);
    assert_eq!(change.field_changes[0].field, Field::ShareWith);
    assert!(!change.field_changes[0].forces_replacement);
    assert_eq!(change.field_changes[0].after, serde_json::json!([P1, P3]));
    assert_eq!(
        change.member_status,
        BTreeMap::from([
            (P1.into(), "accepted".into()),
            (P2.into(), "pending".into())
        ])
    );
    assert!(plan.image_drift().is_empty());
    assert_eq!(plan.counts().change, 1);
}

#[test]
fn a_member_removed_outside_is_drift_and_added_again() {
    let plan = planned(
        &[P1, P2],
        &[(P1, MemberStatus::Accepted)],
        &[P1, P2],
        Vec::new(),
    );
    assert_eq!(plan.image_drift().len(), 1);
    let drift = &plan.image_drift()[0].field_changes[0];
    assert_eq!(drift.field, Field::ShareWith);
    assert_eq!(drift.before, serde_json::json!([P1, P2]));
    assert_eq!(drift.after, serde_json::json!([P1]));
    assert_eq!(plan.image_changes()[0].action, Action::Update);
    assert_eq!(
        plan.image_changes()[0]
            .before
            .as_ref()
            .unwrap()
            .share_with
            .len(),
        1
    );
}

#[test]
fn a_member_change_in_the_journal_is_not_drift_and_is_planned_again() {
    let entry = pending(
        "web",
        PendingOperation::Members {
            image_id: "img-1".into(),
            add: vec![P2.into(), P3.into()],
            remove: Vec::new(),
        },
    );
    // The interrupted run added P2 but not P3.
    let plan = planned(
        &[P1],
        &[(P1, MemberStatus::Accepted), (P2, MemberStatus::Pending)],
        &[P1, P2, P3],
        vec![entry],
    );
    assert!(plan.image_drift().is_empty(), "{:?}", plan.image_drift());
    assert_eq!(
        plan.image_recovery()[0].action,
        RecoveryAction::Replan {
            image_id: "img-1".into(),
            members: Some(BTreeSet::from([P1.into(), P2.into()])),
        }
    );
    assert_eq!(plan.image_recovery()[0].counts(), Counts::default());
    let change = &plan.image_changes()[0];
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.field_changes[0].before, serde_json::json!([P1, P2]));
    assert_eq!(
        change.field_changes[0].after,
        serde_json::json!([P1, P2, P3])
    );
}

#[test]
fn ignored_members_are_neither_drift_nor_changed() {
    let mut state = state([("web", record("img-1", sharing(&[P1])))]);
    state.pending = Vec::new();
    let mut view = view_of(&state);
    view.images.get_mut("img-1").unwrap().members =
        Some(BTreeMap::from([(P2.to_owned(), MemberStatus::Accepted)]));
    let mut wanted = spec("web", sharing(&[P3]));
    wanted.lifecycle.ignore_changes.insert(Field::ShareWith);
    let plan = plan(
        &manifests([wanted]),
        Some(&state),
        Some(&view),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(plan.image_changes()[0].action, Action::NoOp);
    assert!(plan.image_drift().is_empty());
}
