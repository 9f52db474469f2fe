//! SIGKILL during saves: a child process saves large states in a loop and is killed at random
//! moments, many times. After every kill the file must be a complete state, old or new, never a
//! mix and never empty; the next run clears the temporary files killed writers left behind.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use imsform::state::{LockOptions, State, Store};

use crate::support::{Dir, KillOnDrop, ROLE, child, fill, var};

const SAVER: &str = "crash::child_save_loop";
/// At least this many kills, and at least [`MID_WRITE_KILLS`] of them during a write…
const KILLS: usize = 40;
const MID_WRITE_KILLS: usize = 3;
/// …within this many.
const MAX_KILLS: usize = 300;

/// Generation `n` of the saved states: its size alternates so that a mix of two generations
/// cannot parse as either.
fn images_of_generation(n: u64) -> usize {
    if n.is_multiple_of(2) { 400 } else { 700 }
}

fn marker(pid: u32, n: u64) -> String {
    format!("{pid}/{n}/{}", "x".repeat(64))
}

/// Child body: open the state at `STATE` and save ever new generations until killed.
#[test]
fn child_save_loop() {
    if std::env::var(ROLE).as_deref() != Ok("save") {
        return;
    }
    let options = LockOptions {
        operation: "save loop",
        timeout: Some(Duration::from_secs(30)),
    };
    let mut store = Store::open(&PathBuf::from(var("STATE")), options).unwrap();
    let mut state = store.state_or_new();
    for n in 1.. {
        fill(
            &mut state,
            images_of_generation(n),
            &marker(std::process::id(), n),
        );
        store.save(&state).unwrap();
    }
}

/// Every record carries the same marker `pid/n/…`, and the count fits generation `n`.
fn assert_complete(state: &State) {
    let markers: std::collections::BTreeSet<&str> = state
        .images
        .values()
        .map(|record| record.attributes.description.as_deref().unwrap())
        .collect();
    assert_eq!(
        markers.len(),
        1,
        "a mix of generations: {:?}",
        markers.len()
    );
    let marker = markers.into_iter().next().unwrap();
    let n: u64 = marker.split('/').nth(1).unwrap().parse().unwrap();
    assert_eq!(
        state.images.len(),
        images_of_generation(n),
        "generation {n} is incomplete"
    );
}

#[test]
fn sigkill_during_saves_always_leaves_a_complete_state() {
    let dir = Dir::new();
    let mut store = Store::open(
        &dir.state(),
        LockOptions {
            operation: "init",
            timeout: None,
        },
    )
    .unwrap();
    let mut state = store.state_or_new();
    fill(&mut state, images_of_generation(0), &marker(0, 0));
    store.save(&state).unwrap();
    drop(store);

    let mut serials = Vec::new();
    let mut interrupted_writes = 0;
    while serials.len() < KILLS || interrupted_writes < MID_WRITE_KILLS {
        assert!(
            serials.len() < MAX_KILLS,
            "only {interrupted_writes} kills landed mid-write"
        );
        let temps_before = temp_files(&dir);
        let mut saver = KillOnDrop(
            child(SAVER, "save")
                .env("STATE", dir.state())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        std::thread::sleep(Duration::from_millis(rand::random_range(50..400)));
        saver.kill().unwrap(); // SIGKILL
        assert!(
            !saver.wait().unwrap().success(),
            "the saver was killed, not finished"
        );
        let left_behind = temp_files(&dir);
        interrupted_writes += usize::from(!left_behind.is_subset(&temps_before));
        let state = Store::read(&dir.state())
            .unwrap_or_else(|error| panic!("after a kill: {error}"))
            .expect("the state still exists");
        assert_complete(&state);
        if let Some(backup) = Store::read(&dir.file(".backup")).unwrap() {
            assert_complete(&backup);
        }
        serials.push(state.serial);
    }
    assert!(
        serials.windows(2).all(|pair| pair[0] <= pair[1]),
        "{serials:?}"
    );
    assert!(
        serials.last() > serials.first(),
        "the savers made progress: {serials:?}"
    );
    eprintln!(
        "{} kills, {interrupted_writes} mid-write; serials: {serials:?}",
        serials.len()
    );

    // Killed writers may leave temporary files; the next locked open removes them.
    drop(
        Store::open(
            &dir.state(),
            LockOptions {
                operation: "check",
                timeout: None,
            },
        )
        .unwrap(),
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "imsform.state.json",
            "imsform.state.json.backup",
            "imsform.state.json.lock"
        ]
    );
}

/// The temporary files killed writers left next to the state.
fn temp_files(dir: &Dir) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}
