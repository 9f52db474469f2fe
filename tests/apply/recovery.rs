//! Recovery told the truth: an interrupted create-before-destroy replace is counted and
//! bannered by the next plan and finished (old image deleted) by ONE apply; a registration
//! that imsform's own job failed is a replace with its reason, never drift.

use std::time::{Duration, Instant};

use imsform::emulator::Faults;
use rustix::process::Signal;
use serde_json::Value;

use crate::env::{TestEnv, image, manifest, text};

/// Waits until the state file contains `needle`.
async fn wait_for_state(env: &TestEnv, needle: &str) {
    let state_path = env.path().join("imsform.state.json");
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&state_path).unwrap_or_default();
        if text.contains(needle) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the state never held {needle}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn deletes(env: &TestEnv) -> usize {
    env.emulator
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_killed_during_registration_is_counted_and_finished_by_one_apply() {
    replace_interrupted_during_registration(Signal::KILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_stopped_by_sigint_during_registration_is_finished_by_one_apply() {
    replace_interrupted_during_registration(Signal::INT).await;
}

async fn replace_interrupted_during_registration(signal: Signal) {
    let env = TestEnv::new().await;
    env.manifest(&manifest(&[image("web", "web", "")]));
    env.apply_converges().await;
    let old = env.state().images.values().next().unwrap().id.clone();
    // A new image_url forces a create-before-destroy replace; slow jobs leave time to kill it
    // while the new image registers.
    env.manifest(&manifest(&[
        image("web", "web", "").replace("bucket:web/disk.qcow2", "bucket:web/disk-2.qcow2")
    ]));
    env.emulator.set_faults(Faults {
        job_duration_ms: Some(3000),
        ..Faults::default()
    });
    let child = env.spawn(&["apply", "--auto-approve"]);
    wait_for_state(&env, "\"job_id\"").await;
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), signal).unwrap();
    let status = TestEnv::wait(child).await;
    assert!(
        !status.success(),
        "the interrupted apply does not claim success"
    );
    env.emulator.set_faults(Faults::default());

    let plan = env.ok(&["plan", "--markdown", "plan.md"], 0).await;
    assert!(
        plan.contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{plan}"
    );
    assert!(!plan.contains("No changes"), "{plan}");
    assert!(
        plan.contains(&format!("then delete the replaced image {old}")),
        "{plan}"
    );
    let markdown = std::fs::read_to_string(env.path().join("plan.md")).unwrap();
    assert!(
        markdown.starts_with("### imsform plan: 1 to add, 0 to change, 1 to destroy\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("> [!WARNING]\n> This plan destroys 1 image(s)"),
        "{markdown}"
    );
    let json: Value = serde_json::from_str(&env.ok(&["plan", "--json"], 0).await).unwrap();
    assert_eq!(json["summary"]["add"], 1);
    assert_eq!(json["summary"]["destroy"], 1);
    assert_eq!(json["summary"]["has_changes"], true);

    let before = deletes(&env);
    let out = env.ok(&["apply", "--auto-approve"], 0).await;
    assert!(
        out.contains("Apply complete! Resources: 1 added, 0 changed, 1 destroyed."),
        "{out}"
    );
    assert_eq!(
        deletes(&env),
        before + 1,
        "the one apply deleted the old image"
    );
    env.assert_cloud_matches(&["web"]);
    assert!(!env.live_images().contains_key(&old));
    env.assert_no_changes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_registration_is_a_replace_with_its_reason_not_drift() {
    let env = TestEnv::new().await;
    env.manifest(&manifest(&[image("web", "web", "")]));
    env.emulator.set_faults(Faults {
        fail_urls: vec!["bucket:web/disk.qcow2".into()],
        ..Faults::default()
    });
    let failed = env.run(&["apply", "--auto-approve"]).await;
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let state = env.state();
    let record = state.images.values().next().unwrap();
    let taint = record
        .tainted
        .as_ref()
        .expect("the failed image is tainted");
    let live = env.live_images();
    assert_eq!(live[&record.id]["status"], "killed");
    env.emulator.set_faults(Faults::default());

    // Not drift: a refresh-only plan has nothing to record.
    env.ok(&["plan", "--refresh-only", "--detailed-exitcode"], 0)
        .await;
    let plan = env.ok(&["plan", "--detailed-exitcode"], 2).await;
    assert!(!plan.contains("changed outside imsform"), "{plan}");
    assert!(plan.contains("# images.web must be replaced"), "{plan}");
    let reason = format!(
        "# (because the image is tainted: {}: {})",
        taint.code.as_deref().unwrap(),
        taint.reason
    );
    assert!(plan.contains(&reason), "{reason}\n{plan}");
    let json: Value = serde_json::from_str(&env.ok(&["plan", "--json"], 0).await).unwrap();
    assert_eq!(json["resource_drift"], Value::Array(Vec::new()));
    let change = &json["resource_changes"][0];
    assert_eq!(change["action_reason"], "replace_because_tainted");
    assert_eq!(change["taint"]["code"], taint.code.as_deref().unwrap());
    assert_eq!(change["taint"]["reason"], taint.reason.as_str());

    env.apply_converges().await;
    env.assert_cloud_matches(&["web"]);
}
