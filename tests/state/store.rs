//! The `Store` contract on real files: lineage, serial, backup, mode, lock guard, lineage and
//! on-disk change refusals.

use std::os::unix::fs::PermissionsExt;

use imsform::manifest::model::Address;
use imsform::state::{LockOptions, StateError, Store};

use crate::support::{Dir, fill, fixture, record, with_serial};

fn open(dir: &Dir) -> Store {
    let options = LockOptions {
        operation: "test",
        timeout: None,
    };
    Store::open(&dir.state(), options).unwrap()
}

#[test]
fn a_new_state_gets_a_fresh_lineage_serial_1_and_mode_0600() {
    let dir = Dir::new();
    let mut store = open(&dir);
    assert!(store.state().is_none());
    let state = store.state_or_new();
    assert_eq!(
        store.state_or_new().lineage,
        state.lineage,
        "one lineage per store"
    );
    let lineage = uuid::Uuid::parse_str(&state.lineage).unwrap();
    assert_eq!(lineage.get_version_num(), 4);
    let other = open(&Dir::new()).state_or_new().lineage;
    assert_ne!(other, state.lineage, "lineages are fresh");

    store.save(&state).unwrap();
    let saved = Store::read(&dir.state()).unwrap().unwrap();
    assert_eq!((saved.serial, saved.format_version), (1, 1));
    assert_eq!(saved.imsform_version, env!("CARGO_PKG_VERSION"));
    let mode = std::fs::metadata(dir.state()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let mode = std::fs::metadata(dir.file(".lock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the lock file too");
    assert!(
        !dir.file(".backup").exists(),
        "no state was read, so nothing to back up"
    );
}

#[test]
fn serial_is_bumped_only_when_content_changes() {
    let dir = Dir::new();
    let mut store = open(&dir);
    let mut state = store.state_or_new();
    fill(&mut state, 2, "one");
    store.save(&state).unwrap();
    let bytes = std::fs::read(dir.state()).unwrap();
    // The caller's serial and version are ignored: content decides.
    state.serial = 99;
    state.imsform_version = "9.9.9".to_owned();
    store.save(&state).unwrap();
    assert_eq!(
        std::fs::read(dir.state()).unwrap(),
        bytes,
        "nothing written"
    );
    fill(&mut state, 2, "two");
    store.save(&state).unwrap();
    assert_eq!(store.state().unwrap().serial, 2);
    assert_eq!(Store::read(&dir.state()).unwrap().unwrap().serial, 2);
}

#[test]
fn the_backup_is_the_state_as_read_written_once_per_run() {
    let dir = Dir::with_fixture("valid.json");
    let original = fixture("valid.json");
    {
        let store = open(&dir);
        drop(store);
        assert!(
            !dir.file(".backup").exists(),
            "a run that writes nothing keeps no backup"
        );
    }
    let mut store = open(&dir);
    let mut state = store.state_or_new();
    for marker in ["a", "b", "c"] {
        state
            .images
            .insert(Address::from_key("extra"), record("x", marker));
        store.save(&state).unwrap();
        assert_eq!(std::fs::read(dir.file(".backup")).unwrap(), original);
    }
    assert_eq!(store.state().unwrap().serial, 10);
    drop(store);

    let second_run_start = std::fs::read(dir.state()).unwrap();
    let mut store = open(&dir);
    state.images.clear();
    store.save(&state).unwrap();
    assert_eq!(
        std::fs::read(dir.file(".backup")).unwrap(),
        second_run_start
    );
    let mode = std::fs::metadata(dir.file(".backup"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_lineage_change_is_refused() {
    let dir = Dir::with_fixture("valid.json");
    let mut store = open(&dir);
    let mut state = store.state_or_new();
    state.lineage = uuid::Uuid::new_v4().to_string();
    let error = store.save(&state).unwrap_err();
    assert!(matches!(error, StateError::LineageChange { .. }), "{error}");
    assert_eq!(std::fs::read(dir.state()).unwrap(), fixture("valid.json"));
}

#[test]
fn a_file_changed_on_disk_during_the_run_is_not_overwritten() {
    let dir = Dir::with_fixture("valid.json");
    let mut store = open(&dir);
    let mut state = store.state_or_new();
    let rogue = with_serial(&fixture("valid.json"), 5);
    std::fs::write(dir.state(), &rogue).unwrap();
    fill(&mut state, 1, "mine");
    let error = store.save(&state).unwrap_err().to_string();
    assert!(
        error.contains(
            "changed on disk while this run held the lock (expected serial 7 of \
                        lineage 3f1c9a52-8d1e-4c53-9f0e-2a7b6d4e8c10, found serial 5"
        ),
        "{error}"
    );
    assert_eq!(std::fs::read(dir.state()).unwrap(), rogue);
}

#[test]
fn the_lock_is_exclusive_within_a_process_and_released_on_drop() {
    let dir = Dir::new();
    let store = open(&dir);
    let id = store.lock_info().id.clone();
    let options = LockOptions {
        operation: "second",
        timeout: Some(std::time::Duration::from_millis(200)),
    };
    let error = Store::open(&dir.state(), options).unwrap_err().to_string();
    assert!(
        error.contains(&format!("locked by lock {id} (operation \"test\"")),
        "{error}"
    );
    assert!(
        error.contains(&format!("pid {}", std::process::id())),
        "{error}"
    );
    assert!(
        error.ends_with("gave up after waiting 200ms; retry later or with a longer --lock-timeout"),
        "{error}"
    );
    drop(store);
    assert_eq!(
        std::fs::read(dir.file(".lock")).unwrap(),
        b"",
        "holder info cleared"
    );
    let store = Store::open(&dir.state(), options).unwrap();
    assert_ne!(store.lock_info().id, id);
    assert_eq!(store.lock_info().operation, "second");
}
