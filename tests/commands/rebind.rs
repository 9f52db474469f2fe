//! `imsform state rebind`: the explicit way to move a state to the cloud the configuration
//! points at (design.md section 4), and what it refuses.

use serde_json::Value;

use crate::support::{Cloud, Dir, MANIFESTS, finish};

/// A state applied on the local cloud, with its configuration then pointed at `cloud`.
fn local_state_now_pointing_at(cloud: &Cloud) -> Dir {
    let dir = Dir::local();
    let run = dir.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(dir.state_json()["identity"]["kind"], "local");
    dir.write("imsform.toml", &cloud.toml());
    dir
}

fn state_file(dir: &Dir, name: &str) -> Value {
    serde_json::from_str(&dir.read(name)).unwrap()
}

#[test]
fn a_refused_state_follows_the_configuration_only_through_state_rebind() {
    let cloud = Cloud::start();
    let dir = local_state_now_pointing_at(&cloud);
    let was = dir.state_json();
    let configured = format!(
        "the cloud (region {}, project {})",
        cloud.emulator.region(),
        cloud.emulator.project_id()
    );
    let run = cloud.run(&dir, &["plan"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("points at {configured}"))
            && run.stderr.contains("move it with `imsform state rebind`"),
        "{}",
        run.stderr
    );

    // Authenticated by access key only: the project id is asked of IAM, as plan would.
    let mut command = dir.command(&["state", "rebind", "--auto-approve"]);
    command
        .env("HW_ACCESS_KEY", cloud.emulator.access_key())
        .env("HW_SECRET_KEY", cloud.emulator.secret_key());
    let run = finish(&mut command);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("imsform.state.json belongs to the local cloud")
            && run
                .stderr
                .contains(&format!("The configuration points at {configured}.\n"))
            && run.stderr.contains("The 2 managed image(s) keep their ids")
            && run
                .stderr
                .contains(&format!("imsform.state.json now belongs to {configured}.")),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(cloud.served("GET /v3/projects") >= 1, "IAM was not asked");
    assert!(cloud.writes().is_empty(), "rebind wrote to the cloud");
    let state = dir.state_json();
    assert_eq!(state["identity"]["kind"], "cloud");
    assert_eq!(state["identity"]["region"], cloud.emulator.region());
    assert_eq!(state["identity"]["project_id"], cloud.emulator.project_id());
    assert_eq!(state["lineage"], was["lineage"]);
    assert_eq!(state["images"], was["images"]);
    assert_eq!(state["serial"], was["serial"].as_u64().unwrap() + 1);
    // Written through the store: the state as read is kept as the backup.
    assert_eq!(
        state_file(&dir, "imsform.state.json.backup")["identity"]["kind"],
        "local"
    );

    // Already bound: a no-op that says so and writes nothing.
    let bytes = dir.state();
    let run = cloud.run(&dir, &["state", "rebind", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("already belongs to {configured}: nothing to do")),
        "{}",
        run.stderr
    );
    assert!(dir.state() == bytes, "a no-op rebind wrote the state");

    // The plan now works against the new cloud, where the local cloud's images do not exist.
    let run = cloud.run(&dir, &["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Plan: 2 to add"), "{}", run.stdout);
}

#[test]
fn off_a_terminal_rebind_needs_auto_approve_and_changes_nothing_without_it() {
    let cloud = Cloud::start();
    let dir = local_state_now_pointing_at(&cloud);
    let was = dir.state();
    let requests = cloud.total_requests();
    // Even `yes` on a pipe is no confirmation.
    let mut command = dir.command(&["state", "rebind"]);
    command
        .env("HW_ACCESS_KEY", cloud.emulator.access_key())
        .env("HW_SECRET_KEY", cloud.emulator.secret_key())
        .env("HW_PROJECT_ID", cloud.emulator.project_id())
        .write_stdin("yes\n");
    let run = finish(&mut command);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("belongs to the local cloud")
            && run.stderr.contains("The configuration points at the cloud")
            && run
                .stderr
                .contains("pass --auto-approve; the state was not changed"),
        "{}",
        run.stderr
    );
    assert!(dir.state() == was, "the state changed");
    assert!(!dir.file("imsform.state.json.backup").exists());
    // The project id was configured: nothing was asked of the cloud.
    assert_eq!(cloud.total_requests(), requests);
}

#[test]
fn rebind_refuses_without_a_state_before_asking_the_cloud() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let run = cloud.run(&dir, &["state", "rebind", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "Error: there is no state at {}",
            dir.file("imsform.state.json").display()
        )),
        "{}",
        run.stderr
    );
    assert!(dir.state().is_none());
    assert!(
        !dir.file("imsform.state.json.lock").exists(),
        "the lock was taken"
    );
    assert_eq!(cloud.total_requests(), 0);
}

#[test]
fn rebind_refuses_while_an_operation_is_in_flight() {
    let cloud = Cloud::start();
    let dir = local_state_now_pointing_at(&cloud);
    let mut state = dir.state_json();
    state["pending"] = serde_json::json!([{
        "address": "images.web",
        "operation": {"kind": "delete", "image_id": state["images"]["images.web"]["id"]},
        "started_at": "2026-01-01T00:00:00Z"
    }]);
    dir.write(
        "imsform.state.json",
        &serde_json::to_string_pretty(&state).unwrap(),
    );
    let was = dir.state();
    let run = cloud.run(&dir, &["state", "rebind", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("an operation on images.web is in flight"),
        "{}",
        run.stderr
    );
    assert!(dir.state() == was, "the state changed");
}
