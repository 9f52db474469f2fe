//! The store's contract over a recording backend (what each save hands down), and what an
//! [`Edit`] records of what it touched.

use std::sync::{Arc, Mutex};

use super::*;
use crate::state::backend::Opened;
use crate::state::{ImageRecord, PendingEntry, PendingOperation};

/// What one commit handed down: serial, changed, removed, journal changed.
type Seen = (u64, Vec<String>, Vec<String>, bool);

/// What a recording backend saw, and the rows it holds as a row backend would (the changed
/// records upserted, the removed ones deleted, the journal replaced when it changed).
#[derive(Debug, Default)]
struct Log {
    seen: Vec<Seen>,
    images: BTreeMap<Address, ImageRecord>,
    pending: Vec<PendingEntry>,
    /// Refuse every commit from now on.
    fail: bool,
}

#[derive(Debug)]
struct Recording {
    info: LockInfo,
    log: Arc<Mutex<Log>>,
}

impl Backend for Recording {
    fn location(&self) -> String {
        "memory".to_owned()
    }
    fn lock_info(&self) -> &LockInfo {
        &self.info
    }
    fn commit(&mut self, commit: &Commit<'_>) -> Result<(), StateError> {
        let mut log = self.log.lock().unwrap();
        if log.fail {
            return Err(StateError::Invalid("refused".to_owned()));
        }
        let names = |list: &[&Address]| list.iter().map(|a| a.to_string()).collect();
        let seen = (
            commit.serial(),
            names(commit.changed),
            names(commit.removed),
            commit.journal_changed,
        );
        log.seen.push(seen);
        for address in commit.changed {
            let record = commit.state.images[*address].clone();
            log.images.insert((*address).clone(), record);
        }
        for address in commit.removed {
            log.images.remove(*address);
        }
        if commit.journal_changed {
            log.pending.clone_from(&commit.state.pending);
        }
        Ok(())
    }
}

/// A store over a recording backend with no state yet.
fn recording(lineage: Option<&str>) -> (Store, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    let backend = Recording {
        info: crate::state::lock::new_info("test"),
        log: log.clone(),
    };
    let opened = Opened {
        state: None,
        lineage: lineage.map(str::to_owned),
    };
    (Store::new(Box::new(backend), opened), log)
}

fn record(id: &str) -> ImageRecord {
    serde_json::from_value(serde_json::json!({"id": id, "attributes": {
        "name": id, "image_url": "b:o.qcow2", "os_version": "Ubuntu 22.04 server 64bit",
        "disk_format": "qcow2", "min_disk": 40, "min_ram": 0}}))
    .unwrap()
}

#[test]
fn only_what_changed_is_handed_down_and_the_copy_follows() {
    let lineage = "0b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11".to_owned();
    let (mut store, log) = recording(Some(&lineage));
    let mut state = store.state_or_new();
    assert_eq!(
        state.lineage, lineage,
        "a new state takes the backend's lineage"
    );
    for key in ["a", "b", "c"] {
        state.images.insert(Address::from_key(key), record(key));
    }
    store.save(&state).unwrap();
    store.save(&state).unwrap();
    state.images.remove(&Address::from_key("a"));
    state.images.insert(Address::from_key("b"), record("b2"));
    state.pending.push(PendingEntry {
        address: Address::from_key("d"),
        operation: PendingOperation::Delete {
            image_id: "x".to_owned(),
        },
        started_at: "t".to_owned(),
    });
    store.save(&state).unwrap();
    let seen = log.lock().unwrap().seen.clone();
    let all = ["images.a", "images.b", "images.c"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        seen,
        [
            (1, all, vec![], false),
            (
                2,
                vec!["images.b".to_owned()],
                vec!["images.a".to_owned()],
                true
            ),
        ],
        "an unchanged save hands nothing down"
    );
    let current = store.state().unwrap();
    assert_eq!((current.serial, &current.images), (2, &state.images));
    assert_eq!(current.pending, state.pending);
    let mut other = state.clone();
    other.lineage = "1b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11".to_owned();
    assert!(matches!(
        store.save(&other),
        Err(StateError::LineageChange { .. })
    ));
}

#[test]
fn the_bound_identity_reaches_the_backend_and_another_cloud_is_refused() {
    use crate::state::{CloudKind, Identity};
    let (mut store, log) = recording(None);
    let here = Identity {
        kind: CloudKind::Cloud,
        region: "cn-north-4".to_owned(),
        project_id: "p1".to_owned(),
    };
    store.bind_identity(here.clone()).unwrap();
    let mut state = store.state_or_new();
    state.images.insert(Address::from_key("a"), record("a"));
    store.save(&state).unwrap();
    assert_eq!(store.state().unwrap().identity.as_ref(), Some(&here));
    store.save(&state).unwrap();
    assert_eq!(
        log.lock().unwrap().seen.len(),
        1,
        "the filled identity is no change"
    );
    let elsewhere = Identity {
        region: "cn-south-1".to_owned(),
        ..here.clone()
    };
    let refused = store.check_identity(&elsewhere, false).unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("memory belongs to the cloud"),
        "{refused}"
    );
    let other_project = Identity {
        project_id: "p2".to_owned(),
        ..here
    };
    assert!(store.check_identity(&other_project, false).is_ok());
    assert!(store.bind_identity(other_project).is_err());
}

fn delete_entry(key: &str) -> PendingEntry {
    PendingEntry {
        address: Address::from_key(key),
        operation: PendingOperation::Delete {
            image_id: format!("id-{key}"),
        },
        started_at: "t".to_owned(),
    }
}

/// One step's edit.
type Step = Box<dyn Fn(&mut Edit<'_>)>;

/// The steps of an apply, as edits: journal, record, drop the entry, replace, remove, and one
/// that changes nothing.
fn steps() -> Vec<Step> {
    let key = Address::from_key;
    vec![
        Box::new(move |edit| {
            for name in ["a", "b", "c"] {
                edit.insert_image(key(name), record(name));
            }
        }),
        Box::new(|edit| edit.pending_mut().push(delete_entry("d"))),
        Box::new(move |edit| {
            edit.insert_image(key("d"), record("d"));
            edit.pending_mut().clear();
        }),
        Box::new(move |edit| {
            if let Some(record) = edit.image_mut(&key("b")) {
                record.id = "b2".to_owned();
            }
            edit.remove_image(&key("a"));
        }),
        Box::new(move |edit| {
            edit.image_mut(&key("c"));
            edit.pending_mut();
        }),
    ]
}

#[test]
fn a_change_hands_down_only_what_it_touched_and_the_same_as_a_whole_save() {
    let lineage = "0b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11";
    let (mut by_edit, edited) = recording(Some(lineage));
    let (mut whole, saved) = recording(Some(lineage));
    for step in steps() {
        by_edit.change(|edit| step(edit)).unwrap();
        let mut state = whole.state_or_new();
        crate::state::edit::apply(&mut state, |edit| step(edit));
        whole.save(&state).unwrap();
    }
    let (edited, saved) = (edited.lock().unwrap(), saved.lock().unwrap());
    let names = |list: &[&str]| list.iter().map(|key| format!("images.{key}")).collect();
    let expected: Vec<Seen> = vec![
        (1, names(&["a", "b", "c"]), vec![], false),
        (2, vec![], vec![], true),
        (3, names(&["d"]), vec![], true),
        (4, names(&["b"]), names(&["a"]), false),
    ];
    assert_eq!(edited.seen, expected, "the last edit changes nothing");
    assert_eq!(saved.seen, expected, "the whole save hands down the same");
    let state = by_edit.state().unwrap();
    assert_eq!(state, whole.state().unwrap());
    assert_eq!((state.serial, &edited.images), (4, &state.images));
    assert_eq!(edited.pending, state.pending);
    assert_eq!(
        state
            .images
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["images.b", "images.c", "images.d"]
    );
}

#[test]
fn a_failed_change_leaves_the_state_as_it_was_and_the_next_one_hands_down_all_of_it() {
    let (mut store, log) = recording(None);
    let failed = |store: &mut Store, log: &Arc<Mutex<Log>>, step: &dyn Fn(&mut Edit<'_>)| {
        log.lock().unwrap().fail = true;
        let before = store.state().cloned();
        assert!(store.change(step).is_err());
        assert_eq!(store.state(), before.as_ref(), "rolled back");
        log.lock().unwrap().fail = false;
    };
    let steps = steps();
    failed(&mut store, &log, &*steps[0]);
    assert!(store.state().is_none(), "no state before the first commit");
    store.change(|edit| steps[0](edit)).unwrap();
    failed(&mut store, &log, &*steps[1]);
    failed(&mut store, &log, &*steps[3]);
    store
        .change(|edit| {
            steps[1](edit);
            steps[3](edit);
        })
        .unwrap();
    let log = log.lock().unwrap();
    let state = store.state().unwrap();
    assert_eq!(
        log.seen.last().unwrap().0,
        2,
        "a failed commit takes no serial"
    );
    assert_eq!((&log.images, &log.pending), (&state.images, &state.pending));
    assert_eq!(state.pending, [delete_entry("d")]);
}

#[test]
fn the_delta_names_what_differs_and_a_roll_back_restores_everything() {
    let key = Address::from_key;
    let mut state = State::new("l".to_owned());
    for name in ["a", "b", "c"] {
        state.images.insert(key(name), record(name));
    }
    let before = state.clone();
    let mut undo = Undo::default();
    let mut edit = undo.edit(&mut state);
    edit.remove_image(&key("a"));
    if let Some(record) = edit.image_mut(&key("b")) {
        record.id = "b2".to_owned();
    }
    edit.insert_image(key("d"), record("d"));
    // Touched but left as it was: no change.
    if let Some(record) = edit.image_mut(&key("c")) {
        record.id = "c2".to_owned();
        record.id = "c".to_owned();
    }
    edit.image_mut(&key("nowhere"));
    edit.insert_image(key("e"), record("e"));
    edit.remove_image(&key("e"));
    edit.pending_mut().push(PendingEntry {
        address: key("d"),
        operation: PendingOperation::Delete {
            image_id: "x".to_owned(),
        },
        started_at: "t".to_owned(),
    });
    let delta = undo.delta(&state);
    let names = |list: &[&Address]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&delta.changed), ["images.b", "images.d"]);
    assert_eq!(names(&delta.removed), ["images.a"]);
    assert!(delta.journal_changed);
    undo.roll_back(&mut state);
    assert_eq!(state, before);
}

#[test]
fn a_journal_set_back_to_what_it_held_is_no_change() {
    let mut state = State::new("l".to_owned());
    let mut undo = Undo::default();
    undo.edit(&mut state).pending_mut().clear();
    let delta = undo.delta(&state);
    assert!(delta.is_empty() && !delta.journal_changed);
}
