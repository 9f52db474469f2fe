//! The lock across processes: children of this test binary and the real binary contend for one
//! state; hold intervals never overlap, waiters fail naming the holder, a SIGKILLed holder never
//! blocks, and force-unlock refuses or clears as it should.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use imsform::state::lock::read_holder;
use imsform::state::{LockInfo, LockOptions, Store};

use crate::support::{Dir, KillOnDrop, ROLE, child, fill, now_micros, var};

const HOLD: &str = "lock::child_hold_lock";

/// Child body: take the lock (`TIMEOUT_MS` if set), hold it `HOLD_MS`, append one line to `LOG`:
/// `ok START END ID` (microseconds, END taken before release) or `err MESSAGE`.
#[test]
fn child_hold_lock() {
    if std::env::var(ROLE).as_deref() != Ok("hold") {
        return;
    }
    let state = PathBuf::from(var("STATE"));
    let timeout = std::env::var("TIMEOUT_MS")
        .ok()
        .map(|ms| Duration::from_millis(ms.parse().unwrap()));
    let hold = Duration::from_millis(var("HOLD_MS").parse().unwrap());
    let options = LockOptions {
        operation: "test hold",
        timeout,
    };
    let line = match Store::open(&state, options) {
        Ok(store) => {
            let start = now_micros();
            std::thread::sleep(hold);
            let end = now_micros();
            format!("ok {start} {end} {}\n", store.lock_info().id)
        }
        Err(error) => format!("err {error}\n"),
    };
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(var("LOG"))
        .unwrap();
    log.write_all(line.as_bytes()).unwrap();
}

fn spawn_holder(dir: &Dir, hold_ms: u64, timeout_ms: Option<u64>) -> KillOnDrop {
    let mut command = child(HOLD, "hold");
    command
        .env("STATE", dir.state())
        .env("HOLD_MS", hold_ms.to_string())
        .env("LOG", dir.path().join("log"))
        .stdout(Stdio::null());
    if let Some(timeout) = timeout_ms {
        command.env("TIMEOUT_MS", timeout.to_string());
    }
    KillOnDrop(command.spawn().unwrap())
}

fn log_lines(dir: &Dir) -> Vec<String> {
    let text = std::fs::read_to_string(dir.path().join("log")).unwrap();
    text.lines().map(str::to_owned).collect()
}

/// Waits until the lock file names `pid` as its holder.
fn wait_for_holder(lock: &Path, pid: u32) -> LockInfo {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(info) = read_holder(lock).filter(|info| info.pid == pid) {
            return info;
        }
        assert!(Instant::now() < deadline, "pid {pid} never took the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn concurrent_processes_hold_the_lock_one_at_a_time() {
    let dir = Dir::new();
    let children: Vec<KillOnDrop> = (0..5)
        .map(|_| spawn_holder(&dir, 150, Some(30_000)))
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut holds: Vec<(u128, u128, String)> = log_lines(&dir)
        .iter()
        .map(|line| {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts[0], "ok", "{line}");
            (
                parts[1].parse().unwrap(),
                parts[2].parse().unwrap(),
                parts[3].to_owned(),
            )
        })
        .collect();
    assert_eq!(holds.len(), 5);
    holds.sort();
    for pair in holds.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping holds: {pair:?}");
        assert_ne!(pair[0].2, pair[1].2, "lock ids are unique");
    }
}

#[test]
fn without_a_timeout_the_others_fail_naming_the_holder() {
    let dir = Dir::new();
    let children: Vec<KillOnDrop> = (0..4).map(|_| spawn_holder(&dir, 4000, None)).collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let lines = log_lines(&dir);
    let winners: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("ok "))
        .collect();
    assert_eq!(winners.len(), 1, "{lines:#?}");
    let id = winners[0].rsplit(' ').next().unwrap();
    for line in lines.iter().filter(|line| line.starts_with("err ")) {
        let expected = format!("err the state is locked by lock {id} (operation \"test hold\", ");
        assert!(line.starts_with(&expected), "{line}");
        assert!(
            line.contains(", pid ") && line.contains(", since "),
            "{line}"
        );
        assert!(
            line.ends_with("retry with --lock-timeout DURATION"),
            "{line}"
        );
    }
}

#[test]
fn state_commands_started_at_once_all_apply_without_lost_updates() {
    let dir = Dir::new();
    let mut store = Store::open(&dir.state(), options()).unwrap();
    let mut state = store.state_or_new();
    fill(&mut state, 6, "start");
    store.save(&state).unwrap();
    drop(store);
    let binary = assert_cmd::cargo::cargo_bin("imsform");
    let children: Vec<Child> = (0..6)
        .map(|i| {
            std::process::Command::new(&binary)
                .arg("-C")
                .arg(dir.path())
                .args([
                    "state",
                    "rm",
                    &format!("images.img-{i:05}"),
                    "--lock-timeout",
                    "30s",
                ])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let state = Store::read(&dir.state()).unwrap().unwrap();
    assert!(state.images.is_empty(), "{:?}", state.images.keys());
    assert_eq!(state.serial, 7);
    let backup = Store::read(&dir.file(".backup")).unwrap().unwrap();
    assert_eq!(
        (backup.serial, backup.images.len()),
        (6, 1),
        "the last run's state as read"
    );
}

#[test]
fn the_binary_names_the_holder_then_waits_with_lock_timeout() {
    let dir = Dir::with_fixture("valid.json");
    let mut holder = spawn_holder(&dir, 3000, None);
    let info = wait_for_holder(&dir.file(".lock"), holder.id());
    let output = dir
        .imsform(&["state", "rm", "images.web"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let expected = format!(
        "Error: the state is locked by lock {} (operation \"test hold\", {}, pid {}, since {});",
        info.id, info.who, info.pid, info.created
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    let started = Instant::now();
    dir.imsform(&["state", "rm", "images.web", "--lock-timeout", "20s"])
        .assert()
        .success()
        .stderr(format!(
            "Acquiring state lock… held by {info}; waiting up to 20s.\n\
             Removed images.web from the state; the image itself is untouched.\n"
        ));
    assert!(
        started.elapsed() > Duration::from_millis(200),
        "it waited for the holder"
    );
    assert!(holder.wait().unwrap().success());
}

#[test]
fn a_killed_holder_never_blocks_and_force_unlock_checks_its_holder() {
    let dir = Dir::with_fixture("valid.json");
    let lock = dir.file(".lock");
    let mut holder = spawn_holder(&dir, 600_000, None);
    let info = wait_for_holder(&lock, holder.id());

    let refused = dir.imsform(&["force-unlock", &info.id]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.contains(&format!("the holder is still running ({info}")),
        "{stderr}"
    );
    let wrong = dir
        .imsform(&["force-unlock", "not-the-id"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(wrong.stderr).unwrap();
    assert!(
        stderr.contains(&format!("the lock id is {}, not not-the-id", info.id)),
        "{stderr}"
    );
    assert_eq!(
        read_holder(&lock),
        Some(info.clone()),
        "refusals leave the lock alone"
    );

    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    assert_eq!(
        read_holder(&lock),
        Some(info.clone()),
        "the dead holder's info is stale"
    );
    dir.imsform(&["force-unlock", &info.id])
        .assert()
        .success()
        .stderr(format!(
            "Removed {info}: its holder was gone. The state is unlocked.\n"
        ));
    assert_eq!(std::fs::read(&lock).unwrap(), b"");
    dir.imsform(&["force-unlock", &info.id])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("there is no lock to remove"));
}

#[test]
fn a_sigkilled_holder_lets_the_next_run_proceed_at_once() {
    let dir = Dir::with_fixture("valid.json");
    let mut holder = spawn_holder(&dir, 600_000, None);
    wait_for_holder(&dir.file(".lock"), holder.id());
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    dir.imsform(&["state", "mv", "images.web", "images.www"])
        .assert()
        .success()
        .stderr("Moved images.web to images.www.\n");
    assert_eq!(
        std::fs::read(dir.file(".lock")).unwrap(),
        b"",
        "stale info replaced, then cleared"
    );
}

#[test]
fn force_unlock_refuses_while_the_os_lock_is_held_from_elsewhere() {
    let dir = Dir::new();
    let mut holder = spawn_holder(&dir, 600_000, None);
    let mut info = wait_for_holder(&dir.file(".lock"), holder.id());
    // Pretend the holder lives on another host: its pid cannot be checked from here.
    info.who = "someone@another-host".to_owned();
    std::fs::write(dir.file(".lock"), serde_json::to_vec(&info).unwrap()).unwrap();
    let output = dir.imsform(&["force-unlock", &info.id]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("is still held by a live process (lock"),
        "{stderr}"
    );
    assert!(stderr.contains("someone@another-host"), "{stderr}");
    holder.kill().unwrap();
    holder.wait().unwrap();
}

fn options() -> LockOptions<'static> {
    LockOptions {
        operation: "test",
        timeout: None,
    }
}
