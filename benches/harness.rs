//! Whole-process figures of the `imsform` binary: startup (`imsform --version`, median of
//! spawns), and `imsform plan` (refresh + plan) of 10,000 managed images against the emulator
//! with 0 ms and with injected per-request latency: wall time, requests by route, and the
//! child's peak memory (VmHWM from /proc/<pid>/status, polled while it runs).
//! Run with `cargo bench --bench harness` (IMSFORM_BENCH_IMAGES and IMSFORM_BENCH_LATENCY_MS
//! change the defaults). Prints figures; asserts only that the runs succeed.
//! CPU of parsing and planning alone: benches/validate.rs and benches/plan.rs; listing alone:
//! benches/list.rs; apply throughput: benches/apply.rs.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use imsform::emulator::{Emulator, Faults};

const SPAWNS: usize = 50;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn imsform() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imsform"))
}

/// Median and minimum wall time of `imsform --version`.
fn startup() {
    let mut times: Vec<Duration> = (0..SPAWNS)
        .map(|_| {
            let started = Instant::now();
            let status = imsform().arg("--version").output().expect("spawn");
            assert!(status.status.success());
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "startup `imsform --version`: median {:.2?}, min {:.2?} ({SPAWNS} spawns)",
        times[SPAWNS / 2],
        times[0]
    );
}

/// Runs `command` to completion, polling its VmHWM (KiB); returns (success, wall, peak KiB).
fn run_measured(mut command: Command) -> (std::process::Output, Duration, u64) {
    let started = Instant::now();
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let reader = std::thread::spawn(move || {
        let mut peak = 0;
        loop {
            let text = std::fs::read_to_string(&status_file).unwrap_or_default();
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            match hwm {
                Some(kib) => peak = peak.max(kib),
                None if peak > 0 => return peak, // exited (a zombie has no VmHWM)
                None => {}
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let output = child.wait_with_output().expect("wait");
    let wall = started.elapsed();
    (output, wall, reader.join().unwrap_or(0))
}

/// An emulator world file of `count` active images (ids `00000000-…-<index>`), so the
/// emulator starts already holding them.
fn write_world(path: &Path, count: usize) {
    let images: Vec<serde_json::Value> = (0..count)
        .map(|index| {
            serde_json::json!({
                "id": image_id(index), "name": format!("img-{index:05}"), "status": "active",
                "protected": false, "container_format": "bare", "disk_format": "qcow2",
                "min_disk": 40, "min_ram": 0, "os_version": "Ubuntu 22.04 server 64bit",
                "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z",
                "active_at": "2026-11-01T00:00:00Z", "tags": {"team": "platform"}
            })
        })
        .collect();
    let world = serde_json::json!({"version": 1, "images": images, "jobs": []});
    std::fs::write(path, serde_json::to_vec(&world).expect("world")).expect("world file");
}

fn image_id(index: usize) -> String {
    format!("00000000-0000-4000-8000-{index:012}")
}

/// A manifest and a state that manage the `count` images of [`write_world`].
fn write_workspace(dir: &Path, emulator: &Emulator, count: usize) {
    let mut manifest = String::from("images:\n");
    let mut records = serde_json::Map::new();
    for index in 0..count {
        let (id, name) = (image_id(index), format!("img-{index:05}"));
        let _ = write!(
            manifest,
            "  {name}:\n    name: {name}\n    image_url: bench:{name}.qcow2\n    \
             os_version: Ubuntu 22.04 server 64bit\n    min_disk: 40\n    tags: {{ team: platform }}\n"
        );
        let attributes = serde_json::json!({
            "name": name, "image_url": format!("bench:{name}.qcow2"),
            "os_version": "Ubuntu 22.04 server 64bit", "disk_format": "qcow2", "min_disk": 40,
            "min_ram": 0, "tags": {"team": "platform"}, "protected": false
        });
        records.insert(
            format!("images.{name}"),
            serde_json::json!({"id": id, "attributes": attributes}),
        );
    }
    let state = serde_json::json!({
        "format_version": 1, "lineage": "3f1c9a52-8d1e-4c53-9f0e-2a7b6d4e8c10", "serial": 1,
        "imsform_version": "0.1.0", "images": records, "pending": []
    });
    std::fs::write(dir.join("images.yaml"), manifest).expect("manifest");
    std::fs::write(
        dir.join("imsform.state.json"),
        serde_json::to_vec_pretty(&state).expect("state"),
    )
    .expect("state");
    let config = format!(
        "[cloud]\nregion = \"{}\"\nproject_id = \"{}\"\nendpoint = \"{}\"\n\n[apply]\nrequests_per_second = 10000\n",
        emulator.region(),
        emulator.project_id(),
        emulator.uri()
    );
    std::fs::write(dir.join("imsform.toml"), config).expect("config");
}

/// One `imsform plan` over the workspace; prints wall time, requests and peak memory.
async fn plan_once(dir: &Path, emulator: &Emulator, label: &str) {
    let before = emulator.stats();
    let mut command = imsform();
    command
        .env("HW_ACCESS_KEY", emulator.access_key())
        .env("HW_SECRET_KEY", emulator.secret_key())
        .arg("-C")
        .arg(dir)
        .args(["plan", "--json"]);
    let (output, wall, peak_kib) = tokio::task::spawn_blocking(move || run_measured(command))
        .await
        .expect("measure");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = emulator.stats();
    let routes: Vec<String> = after
        .iter()
        .filter_map(|(route, count)| {
            let sent = count - before.get(route).copied().unwrap_or(0);
            (sent > 0).then(|| format!("{route}: {sent}"))
        })
        .collect();
    println!(
        "`imsform plan` of {} managed images, {label}: wall {wall:.2?}, peak memory {:.1} MiB, \
         requests [{}]",
        emulator.images().len(),
        peak_kib as f64 / 1024.0,
        routes.join(", ")
    );
}

#[tokio::main]
async fn main() {
    startup();
    let count = setting("IMSFORM_BENCH_IMAGES", 10_000) as usize;
    let latency = setting("IMSFORM_BENCH_LATENCY_MS", 50);
    let dir = tempfile::tempdir().expect("temp dir");
    let world = dir.path().join("world.json");
    write_world(&world, count);
    let emulator = Emulator::builder()
        .image_quota(count + 1)
        .data_file(&world)
        .start()
        .await
        .expect("emulator");
    let workspace = dir.path().join("workspace");
    std::fs::create_dir(&workspace).expect("workspace");
    write_workspace(&workspace, &emulator, count);
    plan_once(&workspace, &emulator, "no added latency").await;
    emulator.set_faults(Faults {
        latency_ms: latency,
        ..Faults::default()
    });
    plan_once(&workspace, &emulator, &format!("{latency} ms per request")).await;
}
