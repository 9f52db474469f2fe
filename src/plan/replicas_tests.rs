//! The replica diff and the recovery of journaled copies, through the engine: what each
//! combination of manifests, state, source change and refreshed region gives.

use super::fixtures::*;
use super::*;
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::{ImageAttrs, ImageSpec, Location, ReplaceOrder, ReplicaSpec};
use crate::state::{PendingOperation, ReplicaRecord, State};

const SOUTH: &str = "cn-south-1";

fn with_replica(mut spec: ImageSpec, name: Option<&str>) -> ImageSpec {
    let replica = ReplicaSpec {
        name: name.map(str::to_owned),
        description: None,
        location: Location {
            file: "images.yaml".into(),
            line: 9,
            column: 7,
        },
    };
    spec.replicas.insert(SOUTH.to_owned(), replica);
    spec
}

fn replica(id: &str, name: &str, source_id: &str) -> ReplicaRecord {
    ReplicaRecord {
        id: id.into(),
        project: Some(SOUTH.into()),
        name: name.into(),
        description: None,
        source_id: source_id.into(),
        observed: None,
    }
}

/// A state with image `web` (`img-1`) and its south replica `copy-1` named `name`.
fn state_with_replica(name: &str, source_id: &str) -> State {
    let mut web = record("img-1", attrs("web"));
    web.replicas
        .insert(SOUTH.into(), replica("copy-1", name, source_id));
    state([("web", web)])
}

/// The south region holding `images`, the home region the state's records.
fn view(state: &State, images: Vec<RemoteImage>) -> RemoteView {
    let mut view = view_of(state);
    let region = images.into_iter().map(|i| (i.id.clone(), i)).collect();
    view.regions.insert(SOUTH.into(), region);
    view
}

fn copy_image(id: &str, name: &str, created_at: &str) -> RemoteImage {
    let mut image = remote(id, &attrs("web"), ImageStatus::Active);
    image.name = name.into();
    image.created_at = Some(created_at.into());
    image.copied_from = Some(("cn-north-4".into(), "img-1".into()));
    image
}

fn planned(desired: &[ImageSpec], state: Option<&State>, view: Option<&RemoteView>) -> Plan {
    plan(
        &manifests(desired.to_vec()),
        state,
        view,
        &PlanOptions::default(),
    )
    .unwrap()
}

fn actions(plan: &Plan) -> Vec<(String, Action, Option<Reason>)> {
    plan.replica_changes()
        .iter()
        .map(|c| (c.address().to_string(), c.action, c.reason))
        .collect()
}

const ADDRESS: &str = "images.web.replicas[\"cn-south-1\"]";

#[test]
fn a_new_replica_of_a_new_image_copies_a_source_known_after_apply() {
    let plan = planned(&[with_replica(spec("web", attrs("web")), None)], None, None);
    assert_eq!(actions(&plan), [(ADDRESS.into(), Action::Create, None)]);
    let after = plan.replica_changes()[0].after.as_ref().unwrap();
    assert_eq!(
        (after.name.as_str(), after.source_id.as_ref()),
        ("web-image", None)
    );
    assert_eq!(after.project, SOUTH, "the region's default project");
    assert_eq!(plan.counts().add, 2);
}

#[test]
fn a_replica_kept_unchanged_is_a_no_op_and_a_name_edit_is_an_update() {
    let state = state_with_replica("web-image", "img-1");
    let copy = copy_image("copy-1", "web-image", "2026-01-01T00:00:00Z");
    let seen = view(&state, vec![copy]);
    let desired = with_replica(spec("web", attrs("web")), None);
    let plan = planned(&[desired], Some(&state), Some(&seen));
    assert_eq!(actions(&plan), [(ADDRESS.into(), Action::NoOp, None)]);
    assert!(!plan.has_changes());
    let renamed = with_replica(spec("web", attrs("web")), Some("web-sg"));
    let plan = planned(&[renamed], Some(&state), Some(&seen));
    assert_eq!(actions(&plan), [(ADDRESS.into(), Action::Update, None)]);
    assert_eq!(plan.replica_changes()[0].field_changes[0].after, "web-sg");
}

#[test]
fn replicas_leave_with_their_manifest_entry_or_their_source() {
    let state = state_with_replica("web-image", "img-1");
    let seen = view(
        &state,
        vec![copy_image("copy-1", "web-image", "2026-01-01T00:00:00Z")],
    );
    let gone_entry = planned(&[spec("web", attrs("web"))], Some(&state), Some(&seen));
    let reason = Some(Reason::DeleteBecauseNoResourceConfig);
    assert_eq!(
        actions(&gone_entry),
        [(ADDRESS.into(), Action::Delete, reason)]
    );
    let gone_image = planned(&[], Some(&state), Some(&seen));
    assert_eq!(
        actions(&gone_image),
        [(ADDRESS.into(), Action::Delete, reason)]
    );
    assert_eq!(gone_image.counts().destroy, 2);
}

#[test]
fn a_replaced_source_replaces_its_replicas_in_its_own_order() {
    let state = state_with_replica("web-image", "img-1");
    let seen = view(
        &state,
        vec![copy_image("copy-1", "web-image", "2026-01-01T00:00:00Z")],
    );
    let mut wanted: ImageAttrs = attrs("web");
    wanted.min_disk = 80;
    let mut desired = with_replica(spec("web", wanted), None);
    desired.lifecycle.replace_order = ReplaceOrder::DestroyBeforeCreate;
    let plan = planned(&[desired], Some(&state), Some(&seen));
    let order = ReplaceOrder::DestroyBeforeCreate;
    let reason = Some(Reason::ReplaceBecauseSourceReplaced);
    assert_eq!(
        actions(&plan),
        [(ADDRESS.into(), Action::Replace { order }, reason)]
    );
    // A record copied from another source than the current one is replaced too.
    let stale = state_with_replica("web-image", "img-0");
    let seen = view(
        &stale,
        vec![copy_image("copy-1", "web-image", "2026-01-01T00:00:00Z")],
    );
    let desired = with_replica(spec("web", attrs("web")), None);
    let plan = planned(&[desired], Some(&stale), Some(&seen));
    assert_eq!(plan.replica_changes()[0].reason, reason);
}

#[test]
fn a_replica_deleted_or_renamed_outside_is_drift_that_the_plan_repairs() {
    let state = state_with_replica("web-image", "img-1");
    let desired = with_replica(spec("web", attrs("web")), None);
    let deleted = view(&state, vec![]);
    let plan = planned(std::slice::from_ref(&desired), Some(&state), Some(&deleted));
    assert_eq!(plan.replica_drift().len(), 1);
    assert!(plan.replica_drift()[0].after.is_none());
    let reason = Some(Reason::RecreateBecauseDeletedOutside);
    assert_eq!(actions(&plan), [(ADDRESS.into(), Action::Create, reason)]);
    let renamed = view(
        &state,
        vec![copy_image("copy-1", "by-hand", "2026-01-01T00:00:00Z")],
    );
    let plan = planned(&[desired], Some(&state), Some(&renamed));
    assert_eq!(plan.replica_drift()[0].field_changes[0].before, "web-image");
    assert_eq!(plan.replica_drift()[0].field_changes[0].after, "by-hand");
    assert_eq!(actions(&plan), [(ADDRESS.into(), Action::Update, None)]);
}

/// A state of `web` without replicas and a journaled copy to the south without an image id.
fn lost_copy(sent_at: &str) -> State {
    let mut state = state([("web", record("img-1", attrs("web")))]);
    let operation = PendingOperation::Copy {
        token: "3f1c2a9e-01JDQ2W5R8C9A7Z3KXG4M6N001".into(),
        source_id: "img-1".into(),
        source_region: "cn-north-4".into(),
        region: SOUTH.into(),
        project: SOUTH.into(),
        name: "web-image".into(),
        description: None,
        sent_at: sent_at.into(),
        image_id: None,
        job_id: None,
        replaces: None,
    };
    state.pending = vec![pending("web", operation)];
    state
}

#[test]
fn a_lost_copy_is_the_one_of_its_origin_and_name_made_since_it_was_sent() {
    let state = lost_copy("2026-06-01T12:00:00Z");
    let mut other_source = copy_image("other-source", "web-image", "2026-06-01T12:00:05Z");
    other_source.copied_from = Some(("cn-north-4".into(), "img-9".into()));
    let images = vec![
        copy_image("too-old", "web-image", "2026-06-01T11:50:00Z"),
        copy_image("other-name", "db-image", "2026-06-01T12:00:05Z"),
        other_source,
        copy_image("the-copy", "web-image", "2026-06-01T12:00:03Z"),
        // Within the skew: the cloud's clock may run behind this host's.
        copy_image("skewed", "web-image", "2026-06-01T11:58:00Z"),
    ];
    let seen = view(&state, images);
    let found: Vec<&str> = candidates(&state.pending[0].operation, &seen, &state.images)
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(found, ["skewed", "the-copy"], "oldest first");
    let desired = with_replica(spec("web", attrs("web")), None);
    let plan = planned(&[desired], Some(&state), Some(&seen));
    let adopted = ReplicaRecoveryAction::Adopt {
        image_id: "skewed".into(),
        others: vec!["the-copy".into()],
    };
    assert_eq!(plan.replica_recovery()[0].action, adopted);
    assert_eq!(
        actions(&plan),
        [(ADDRESS.into(), Action::NoOp, None)],
        "the adopted copy is the replica"
    );
}

#[test]
fn a_lost_copy_nowhere_to_be_found_was_not_taken_and_is_planned_again() {
    let state = lost_copy("2026-06-01T12:00:00Z");
    let seen = view(&state, vec![]);
    let desired = with_replica(spec("web", attrs("web")), None);
    let plan = planned(std::slice::from_ref(&desired), Some(&state), Some(&seen));
    assert_eq!(
        plan.replica_recovery()[0].action,
        ReplicaRecoveryAction::Drop
    );
    assert_eq!(actions(&plan), [(ADDRESS.into(), Action::Create, None)]);
    // An image another replica record owns is never the lost copy.
    let mut owner = state.clone();
    let mut db = record("img-2", attrs("db"));
    db.replicas
        .insert(SOUTH.into(), replica("the-copy", "web-image", "img-1"));
    owner.images.insert(addr("db"), db);
    let seen = view(
        &owner,
        vec![copy_image("the-copy", "web-image", "2026-06-01T12:00:03Z")],
    );
    assert!(candidates(&owner.pending[0].operation, &seen, &owner.images).is_empty());
    // Without refresh it is looked up when applying.
    let plan = planned(&[desired], Some(&state), None);
    assert_eq!(
        plan.replica_recovery()[0].action,
        ReplicaRecoveryAction::LookUp
    );
}

#[test]
fn replicas_follow_their_image_in_targeting_and_destroy() {
    let state = state_with_replica("web-image", "img-1");
    let seen = view(
        &state,
        vec![copy_image("copy-1", "web-image", "2026-01-01T00:00:00Z")],
    );
    let desired = manifests([
        with_replica(spec("web", attrs("web")), Some("web-sg")),
        spec("db", attrs("db")),
    ]);
    let other = PlanOptions {
        targets: vec!["db".into()],
        ..PlanOptions::default()
    };
    let planned = plan(&desired, Some(&state), Some(&seen), &other).unwrap();
    assert!(
        planned.replica_changes().is_empty(),
        "not selected with web left out"
    );
    let web = PlanOptions {
        targets: vec!["web".into()],
        ..PlanOptions::default()
    };
    let planned = plan(&desired, Some(&state), Some(&seen), &web).unwrap();
    assert_eq!(actions(&planned), [(ADDRESS.into(), Action::Update, None)]);
    let destroy = PlanOptions {
        destroy: true,
        ..PlanOptions::default()
    };
    let planned = plan(&desired, Some(&state), Some(&seen), &destroy).unwrap();
    let reason = Some(Reason::DeleteByRequest);
    assert_eq!(
        actions(&planned),
        [(ADDRESS.into(), Action::Delete, reason)]
    );
}

#[test]
fn a_replica_moved_to_another_project_is_replaced() {
    let state = state_with_replica("web-image", "img-1");
    let seen = view(
        &state,
        vec![copy_image("copy-1", "web-image", "2026-01-01T00:00:00Z")],
    );
    let desired = manifests([with_replica(spec("web", attrs("web")), None)]);
    let options = PlanOptions::default();
    let elsewhere = |_: &str| "cn-south-1_platform".to_owned();
    let planned =
        plan_with_projects(&desired, Some(&state), Some(&seen), &options, &elsewhere).unwrap();
    let order = ReplaceOrder::CreateBeforeDestroy;
    let reason = Some(Reason::ReplaceBecauseCannotUpdate);
    assert_eq!(
        actions(&planned),
        [(ADDRESS.into(), Action::Replace { order }, reason)]
    );
    assert_eq!(
        planned.replica_changes()[0].after.as_ref().unwrap().project,
        "cn-south-1_platform"
    );
}
