//! Reliability runs of the real binary, parameterised by environment variables (small defaults so
//! CI stays fast; the README's "Reliability and performance" gives larger settings):
//!
//! - fault soak: `imsform apply --auto-approve` against an in-test emulator injecting every fault
//!   kind at once (429, 5xx, IMG.0060, dropped responses, failed jobs), re-applied until it
//!   converges; then the cloud must hold exactly one active image per address, the plan must be
//!   empty, and the figures (runs, requests by route, retries logged) are printed.
//!   IMSFORM_SOAK_IMAGES (default 8), IMSFORM_SOAK_ERROR_RATE (0.2), IMSFORM_SOAK_DROP_RATE
//!   (0.05), IMSFORM_SOAK_JOB_FAILURE_RATE (0.1), IMSFORM_SOAK_SEED (1), IMSFORM_SOAK_RUNS (12).
//! - lock contention: IMSFORM_CONTENTION_PROCESSES (default 4) processes apply the same
//!   manifests on one local cloud at once, with and without `--lock-timeout`: each either
//!   applies, finds nothing to do, or is refused with the holder named; never a duplicate image,
//!   never a corrupt state.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use imsform::emulator::{Emulator, Faults, RateLimit};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn manifest(count: usize) -> String {
    let mut text = String::from("images:\n");
    for index in 0..count {
        text.push_str(&format!(
            "  img-{index}:\n    name: img-{index}\n    image_url: bucket:img-{index}.qcow2\n    \
             os_version: Ubuntu 22.04 server 64bit\n    min_disk: 20\n    description: soak\n"
        ));
    }
    text
}

fn imsform(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imsform"))
        .env_remove("HW_AUTH_TOKEN")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_soak_converges_to_exactly_the_manifests() {
    let count: usize = setting("IMSFORM_SOAK_IMAGES", 8);
    let max_runs: usize = setting("IMSFORM_SOAK_RUNS", 12);
    let faults = Faults {
        seed: Some(setting("IMSFORM_SOAK_SEED", 1)),
        error_rate: setting("IMSFORM_SOAK_ERROR_RATE", 0.2),
        drop_rate: setting("IMSFORM_SOAK_DROP_RATE", 0.05),
        job_failure_rate: setting("IMSFORM_SOAK_JOB_FAILURE_RATE", 0.1),
        rate_limit: Some(RateLimit {
            per_second: 40.0,
            burst: 8.0,
        }),
        max_running_jobs: Some(3),
        ..Faults::default()
    };
    let emulator = Emulator::builder()
        .job_duration(std::time::Duration::from_millis(100))
        .faults(faults.clone())
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("images.yaml"), manifest(count)).unwrap();
    let config = format!(
        "[cloud]\nregion = \"{}\"\nproject_id = \"{}\"\nendpoint = \"{}\"\n\n[apply]\nrequests_per_second = 1000\n",
        emulator.region(),
        emulator.project_id(),
        emulator.uri()
    );
    std::fs::write(dir.path().join("imsform.toml"), config).unwrap();
    let env = [
        ("HW_ACCESS_KEY", emulator.access_key().to_owned()),
        ("HW_SECRET_KEY", emulator.secret_key().to_owned()),
    ];
    let path = dir.path().to_owned();
    let (runs, retries, outcomes) = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (mut retries, mut outcomes) = (0, Vec::new());
        for run in 1..=max_runs {
            let output = imsform(&path, &env, &["-vv", "apply", "--auto-approve"]);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!stderr.contains("panicked"), "{}", text(&output));
            retries += stderr.matches("retrying").count();
            outcomes.push(output.status.code().unwrap_or(-1));
            if output.status.success() {
                return (run, retries, outcomes);
            }
        }
        panic!("no convergence in {max_runs} applies: exits {outcomes:?}");
    })
    .await
    .unwrap();

    // Converged under faults; now check without them.
    emulator.set_faults(Faults::default());
    let images = emulator.images();
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for image in &images {
        if image["status"] == "active" {
            let name = image["name"].as_str().unwrap_or_default().to_owned();
            by_name
                .entry(name)
                .or_default()
                .push(image["id"].to_string());
        }
    }
    assert_eq!(by_name.len(), count, "{by_name:?}");
    assert!(
        by_name.values().all(|ids| ids.len() == 1),
        "duplicates: {by_name:?}"
    );
    let env = [
        ("HW_ACCESS_KEY", emulator.access_key()),
        ("HW_SECRET_KEY", emulator.secret_key()),
    ];
    let plan = imsform(dir.path(), &env, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let stats = emulator.stats();
    let requests: u64 = stats.values().sum();
    println!(
        "fault soak: {count} images, faults {faults:?}\n  converged after {runs} applies \
         (exits {outcomes:?}); {requests} requests; {retries} retries logged; {} images left in \
         the cloud in any status (failed registrations are replaced)\n  by route: {stats:?}",
        images.len()
    );
}

/// Starts `processes` applies at once in `dir`; returns their outputs.
fn apply_concurrently(dir: &Path, processes: usize, extra: &[&str]) -> Vec<Output> {
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_imsform"))
                .env("NO_COLOR", "1")
                .arg("-C")
                .arg(dir)
                .args(["apply", "--auto-approve"])
                .args(extra)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

/// The local cloud's active images by name, read from its world file.
fn local_cloud_names(dir: &Path) -> BTreeMap<String, usize> {
    let world = std::fs::read_to_string(dir.join(".imsform/local-cloud.json")).unwrap();
    let world: serde_json::Value = serde_json::from_str(&world).unwrap();
    let mut names = BTreeMap::new();
    let images = world["images"].as_array().cloned().unwrap_or_default();
    for image in &images {
        if image["status"] != "deleted" {
            let name = image["name"].as_str().unwrap_or_default().to_owned();
            *names.entry(name).or_insert(0) += 1;
        }
    }
    names
}

fn assert_converged(dir: &Path, count: usize, outputs: &[Output]) {
    let state = std::fs::read(dir.join("imsform.state.json")).unwrap();
    let parsed = imsform::state::format::parse(Path::new("state"), &state).unwrap();
    assert_eq!(parsed.state.images.len(), count);
    assert!(parsed.state.pending.is_empty());
    let names = local_cloud_names(dir);
    assert_eq!(names.len(), count, "{names:?}");
    assert!(
        names.values().all(|n| *n == 1),
        "duplicate images: {names:?}"
    );
    let plan = imsform(dir, &[], &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    for output in outputs {
        assert!(!text(output).contains("panicked"), "{}", text(output));
    }
}

#[test]
fn concurrent_applies_serialise_on_the_lock() {
    let processes: usize = setting("IMSFORM_CONTENTION_PROCESSES", 4);
    let count = 3;
    // With --lock-timeout: every process waits its turn and succeeds.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imsform.toml"), "[cloud]\nlocal = true\n").unwrap();
    std::fs::write(dir.path().join("images.yaml"), manifest(count)).unwrap();
    let outputs = apply_concurrently(dir.path(), processes, &["--lock-timeout=120s"]);
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{}", text(output));
    }
    let applied = outputs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains("3 added"))
        .count();
    assert_eq!(applied, 1, "exactly one process creates the images");
    assert_converged(dir.path(), count, &outputs);

    // Without: the first takes the lock, the others are refused, naming the holder.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imsform.toml"), "[cloud]\nlocal = true\n").unwrap();
    std::fs::write(dir.path().join("images.yaml"), manifest(count)).unwrap();
    let outputs = apply_concurrently(dir.path(), processes, &[]);
    let mut succeeded = 0;
    for output in &outputs {
        match output.status.code() {
            Some(0) => succeeded += 1,
            Some(1) => assert!(text(output).contains("locked by"), "{}", text(output)),
            _ => panic!("{}", text(output)),
        }
    }
    assert!(succeeded >= 1, "no process applied");
    // Whoever was refused changed nothing; one more apply is a no-op or finishes the work.
    let last = imsform(dir.path(), &[], &["apply", "--auto-approve"]);
    assert_eq!(last.status.code(), Some(0), "{}", text(&last));
    assert_converged(dir.path(), count, &outputs);
    println!(
        "lock contention: {processes} concurrent applies; without --lock-timeout {succeeded} \
         applied and {} were refused",
        processes - succeeded
    );
}
