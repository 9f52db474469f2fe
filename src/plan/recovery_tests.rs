//! Table tests of the recovery of pending journal entries, and of what the plan does after it.

use std::collections::BTreeMap;

use super::fixtures::*;
use super::*;
use crate::cloud::ImageStatus;
use crate::manifest::model::ReplaceOrder;
use crate::state::{PendingEntry, PendingOperation, State};

fn recover_one(entry: PendingEntry, view: Option<&RemoteView>, records: State) -> Plan {
    let mut state = records;
    state.pending = vec![entry];
    let desired = manifests([spec("web", attrs("web"))]);
    plan(&desired, Some(&state), view, &PlanOptions::default()).unwrap()
}

fn view(images: &[(&str, ImageStatus)]) -> RemoteView {
    RemoteView {
        images: images
            .iter()
            .map(|(id, status)| ((*id).to_owned(), remote(id, &attrs("web"), status.clone())))
            .collect(),
        by_token: BTreeMap::new(),
        unmanaged_names: BTreeMap::new(),
        untracked: BTreeMap::new(),
        regions: BTreeMap::new(),
        untracked_copies: Vec::new(),
    }
}

#[test]
fn a_create_with_an_image_id_resumes_from_the_real_status() {
    let cases = [
        (
            ImageStatus::Queued,
            RecoveryAction::ResumeRegister {
                image_id: "img-9".into(),
            },
            Action::NoOp,
        ),
        (
            ImageStatus::Saving,
            RecoveryAction::Wait {
                image_id: "img-9".into(),
            },
            Action::NoOp,
        ),
        (
            ImageStatus::Active,
            RecoveryAction::Done {
                image_id: "img-9".into(),
            },
            Action::NoOp,
        ),
        (
            ImageStatus::Killed,
            RecoveryAction::Taint {
                image_id: "img-9".into(),
            },
            Action::Replace {
                order: ReplaceOrder::CreateBeforeDestroy,
            },
        ),
    ];
    for (status, expected, then) in cases {
        let seen = view(&[("img-9", status.clone())]);
        let plan = recover_one(
            pending_create("web", "tok-1", Some("img-9")),
            Some(&seen),
            state([]),
        );
        assert_eq!(plan.image_recovery()[0].action, expected, "{status:?}");
        // The plan diffs against what recovery leaves: the recovered image at the address.
        assert_eq!(plan.image_changes()[0].action, then, "{status:?}");
        assert_eq!(
            plan.image_changes()[0].prior_id.as_deref(),
            Some("img-9"),
            "{status:?}"
        );
    }
}

#[test]
fn a_create_whose_image_vanished_is_dropped_and_planned_again() {
    let plan = recover_one(
        pending_create("web", "tok-1", Some("img-9")),
        Some(&view(&[])),
        state([]),
    );
    assert_eq!(
        plan.image_recovery()[0].action,
        RecoveryAction::Vanished {
            image_id: "img-9".into()
        }
    );
    assert_eq!(plan.image_changes()[0].action, Action::Create);
}

#[test]
fn a_create_without_an_id_is_adopted_by_token_or_dropped() {
    let mut found = view(&[]);
    found.by_token.insert(
        "tok-1".into(),
        vec![remote("img-5", &attrs("web"), ImageStatus::Active)],
    );
    let plan = recover_one(
        pending_create("web", "tok-1", None),
        Some(&found),
        state([]),
    );
    assert_eq!(
        plan.image_recovery()[0].action,
        RecoveryAction::Adopt {
            image_id: "img-5".into(),
            then: Box::new(RecoveryAction::Done {
                image_id: "img-5".into()
            })
        }
    );
    assert_eq!(plan.image_changes()[0].action, Action::NoOp);

    let mut none = view(&[]);
    none.by_token.insert("tok-1".into(), Vec::new());
    let plan = recover_one(pending_create("web", "tok-1", None), Some(&none), state([]));
    assert_eq!(plan.image_recovery()[0].action, RecoveryAction::Drop);
    assert_eq!(plan.image_changes()[0].action, Action::Create);

    let mut two = view(&[]);
    two.by_token.insert(
        "tok-1".into(),
        vec![
            remote("img-5", &attrs("web"), ImageStatus::Active),
            remote("img-6", &attrs("web"), ImageStatus::Active),
        ],
    );
    let plan = recover_one(pending_create("web", "tok-1", None), Some(&two), state([]));
    assert_eq!(
        plan.image_recovery()[0].action,
        RecoveryAction::Ambiguous {
            image_ids: vec!["img-5".into(), "img-6".into()]
        }
    );
}

#[test]
fn without_refresh_recovery_is_looked_up_when_applying() {
    let plan = recover_one(pending_create("web", "tok-1", None), None, state([]));
    assert_eq!(plan.image_recovery()[0].action, RecoveryAction::LookUp);
    assert_eq!(plan.image_changes()[0].action, Action::Create);
    let plan = recover_one(
        pending_create("web", "tok-1", Some("img-9")),
        None,
        state([]),
    );
    assert_eq!(plan.image_recovery()[0].action, RecoveryAction::LookUp);
    assert_eq!(plan.image_changes()[0].prior_id.as_deref(), Some("img-9"));
}

fn replacing(image_id: &str) -> PendingEntry {
    pending(
        "web",
        PendingOperation::Create {
            token: "tok-2".into(),
            attributes: Box::new(attrs("web")),
            image_id: Some(image_id.into()),
            job_id: Some("job-1".into()),
            replaces: Some("img-old".into()),
        },
    )
}

#[test]
fn the_halves_of_an_interrupted_replace_are_resolved() {
    let old = || state([("web", record("img-old", attrs("web")))]);
    // The new half finished: it takes the address; the old one is deleted by recovery.
    let seen = view(&[
        ("img-new", ImageStatus::Active),
        ("img-old", ImageStatus::Active),
    ]);
    let plan = recover_one(replacing("img-new"), Some(&seen), old());
    assert_eq!(
        plan.image_recovery()[0].action,
        RecoveryAction::Done {
            image_id: "img-new".into()
        }
    );
    assert_eq!(plan.image_changes()[0].prior_id.as_deref(), Some("img-new"));
    // The new half was killed: it is discarded and the address keeps the old image.
    let seen = view(&[
        ("img-new", ImageStatus::Killed),
        ("img-old", ImageStatus::Active),
    ]);
    let plan = recover_one(replacing("img-new"), Some(&seen), old());
    assert_eq!(
        plan.image_recovery()[0].action,
        RecoveryAction::DiscardFailedReplacement {
            image_id: "img-new".into()
        }
    );
    assert_eq!(plan.image_changes()[0].prior_id.as_deref(), Some("img-old"));
    assert_eq!(plan.image_changes()[0].action, Action::NoOp);
}

#[test]
fn an_interrupted_delete_is_finished_or_found_done() {
    let entry = || {
        pending(
            "web",
            PendingOperation::Delete {
                image_id: "img-old".into(),
            },
        )
    };
    let records = || state([("web", record("img-1", attrs("web")))]);
    let seen = view(&[
        ("img-1", ImageStatus::Active),
        ("img-old", ImageStatus::Active),
    ]);
    let plan = recover_one(entry(), Some(&seen), records());
    assert_eq!(
        plan.image_recovery()[0].action,
        RecoveryAction::Delete {
            image_id: "img-old".into()
        }
    );
    let seen = view(&[("img-1", ImageStatus::Active)]);
    let plan = recover_one(entry(), Some(&seen), records());
    assert_eq!(
        plan.image_recovery()[0].action,
        RecoveryAction::AlreadyDeleted {
            image_id: "img-old".into()
        }
    );
    assert_eq!(plan.image_changes()[0].action, Action::NoOp);
    assert!(plan.has_changes(), "recovery changes the state");
}

/// A create of `web` journaled with an image id, replacing `img-old`.
fn replacing_create() -> PendingEntry {
    let mut entry = pending_create("web", "tok", Some("img-new"));
    if let PendingOperation::Create { replaces, .. } = &mut entry.operation {
        *replaces = Some("img-old".into());
    }
    entry
}

#[test]
fn recovered_work_counts_in_the_plan_and_its_deletes_are_never_no_changes() {
    let old = || state([("web", record("img-old", attrs("web")))]);
    // The new half is saving: one to add, and the replaced image to destroy.
    let saving = view(&[
        ("img-new", ImageStatus::Saving),
        ("img-old", ImageStatus::Active),
    ]);
    let plan = recover_one(replacing_create(), Some(&saving), old());
    assert_eq!(actions(&plan), [("web".into(), Action::NoOp, None)]);
    assert_eq!(
        plan.counts(),
        Counts {
            import: 0,
            add: 1,
            change: 0,
            destroy: 1
        }
    );
    assert!(plan.destroys_anything() && plan.changes_images());
    // A refresh-only plan leaves that work to the next apply: nothing counted.
    let mut journaled = old();
    journaled.pending = vec![replacing_create()];
    let desired = manifests([spec("web", attrs("web"))]);
    let refresh_only = PlanOptions {
        refresh_only: true,
        ..PlanOptions::default()
    };
    let left = super::plan(&desired, Some(&journaled), Some(&saving), &refresh_only).unwrap();
    assert_eq!(left.counts(), Counts::default());
    assert!(!left.destroys_anything() && !left.changes_images());
    // The new half was killed: it is discarded (one image destroyed), the old one stays.
    let killed = view(&[
        ("img-new", ImageStatus::Killed),
        ("img-old", ImageStatus::Active),
    ]);
    let plan = recover_one(replacing_create(), Some(&killed), old());
    assert_eq!((plan.counts().add, plan.counts().destroy), (0, 1));
    // An interrupted delete alone still destroys an image.
    let delete = pending(
        "web",
        PendingOperation::Delete {
            image_id: "img-old".into(),
        },
    );
    let current = state([("web", record("img-new", attrs("web")))]);
    let both = view(&[
        ("img-new", ImageStatus::Active),
        ("img-old", ImageStatus::Active),
    ]);
    let plan = recover_one(delete.clone(), Some(&both), current.clone());
    assert_eq!((plan.counts().add, plan.counts().destroy), (0, 1));
    assert!(plan.changes_images());
    // Already gone: nothing left to do to any image.
    let gone = view(&[("img-new", ImageStatus::Active)]);
    let plan = recover_one(delete, Some(&gone), current);
    assert_eq!(plan.counts(), Counts::default());
    assert!(!plan.changes_images() && plan.has_changes());
}
