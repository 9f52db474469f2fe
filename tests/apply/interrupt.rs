//! The binary under signals and adoption: the first SIGINT stops at a saved point, releases
//! the lock and exits 1 with a summary, and the next apply converges; `import` then `apply`
//! brings an adopted image to its manifest.

use std::time::{Duration, Instant};

use imsform::emulator::Faults;

use crate::env::{TestEnv, image, manifest, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_sigint_stops_at_a_saved_point_and_the_next_apply_resumes() {
    let env = TestEnv::new().await;
    env.emulator.set_faults(Faults {
        job_duration_ms: Some(3000),
        ..Faults::default()
    });
    env.manifest(&manifest(&[
        image("a", "a", ""),
        image("b", "b", ""),
        image("c", "c", ""),
    ]));
    let child = env
        .command(&["apply", "--auto-approve", "--parallelism", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first registration job is journaled, then interrupt.
    let state_path = env.path().join("imsform.state.json");
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&state_path).unwrap_or_default();
        if text.contains("\"job_id\"") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no job started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let interrupted = Instant::now();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        interrupted.elapsed() < Duration::from_secs(2),
        "stopped without waiting for the job"
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Interrupt received"), "{stderr}");
    assert!(stderr.contains("Stopped: images.a"), "{stderr}");
    assert!(stderr.contains("Not started: images.b"), "{stderr}");
    assert!(stderr.contains("Apply incomplete."), "{stderr}");
    // The lock is released and the journal resumes the interrupted create.
    env.emulator.set_faults(Faults::default());
    let plan = env.ok(&["plan"], 0).await;
    assert!(plan.contains("images.a"), "{plan}");
    env.apply_converges().await;
    env.assert_cloud_matches(&["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_image_is_brought_to_its_manifest() {
    let env = TestEnv::new().await;
    // Created by imsform, forgotten with `state rm` (the image stays), then adopted again.
    env.manifest(&manifest(&[image("legacy", "legacy", "")]));
    env.apply_converges().await;
    let id = env.state().images.values().next().unwrap().id.clone();
    env.ok(&["state", "rm", "images.legacy"], 0).await;
    env.manifest(&manifest(&[image(
        "legacy",
        "legacy-renamed",
        "    min_ram: 1024\n",
    )]));
    let out = env.ok(&["import", "images.legacy", &id], 0).await;
    assert!(out.contains("Import successful!"), "{out}");
    let out = env.apply_converges().await;
    assert!(out.contains("0 added, 1 changed, 0 destroyed."), "{out}");
    env.assert_cloud_matches(&["legacy-renamed"]);
    assert_eq!(
        env.state().images.values().next().unwrap().id,
        id,
        "adopted, not replaced"
    );
}
