//! Apply throughput against the in-process emulator with a fixed job duration: N creates at
//! parallelism P, wall time against the bound ceil(N/P) x job duration (design.md section 7:
//! within 1.3x), and requests per image from the emulator's statistics (target: about 3 besides
//! the job polls' floor). Run with `cargo bench --bench apply`; `IMSFORM_BENCH_IMAGES` (default
//! 500) and `IMSFORM_BENCH_JOB_MS` (default 1000) scale it. Prints figures; asserts nothing.
//!
//! The job-poll cadence is scaled with the job duration: from a twentieth of a job up to a tenth
//! (50-100 ms for 1 s jobs). Against real IMS, registration jobs take minutes and the default
//! 1-10 s cadence is at most a tenth of a 100 s job, so this is the production proportion or a
//! harsher one. Polls are amortised: one list request reports every image in flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use imsform::apply::{self, ApplyOptions, Shutdown, Silent};
use imsform::cli::config::CloudConfig;
use imsform::cloud::{Client, ClientOptions, Credentials, WatchConfig};
use imsform::emulator::Emulator;
use imsform::plan::{self, PlanOptions};
use imsform::state::{LockOptions, Store};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn manifest(images: usize) -> String {
    let mut yaml = String::from("images:\n");
    for i in 0..images {
        yaml.push_str(&format!(
            "  img-{i}:\n    name: bench-{i}\n    image_url: bench:img-{i}.qcow2\n    \
             os_version: Ubuntu 22.04 server 64bit\n    min_disk: 40\n"
        ));
    }
    yaml
}

async fn run(images: usize, parallelism: usize, job: Duration) {
    let emulator = Emulator::builder()
        .job_duration(job)
        .delete_linger(Duration::from_millis(100))
        .image_quota(images + 10)
        .start()
        .await
        .expect("the emulator starts");
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("images.yaml"), manifest(images)).expect("write manifest");
    let loaded = imsform::manifest::load(&[], dir.path(), &imsform::manifest::VarInput::default())
        .expect("the manifest loads");
    let plan = plan::plan(&loaded.manifests, None, None, &PlanOptions::default()).expect("plan");
    let lock = LockOptions {
        operation: "bench",
        timeout: None,
    };
    let store = Store::open(&dir.path().join("imsform.state.json"), lock).expect("state");
    let config = CloudConfig::at_endpoint(
        &emulator.uri(),
        emulator.region(),
        Some(emulator.project_id()),
    );
    let credentials = Credentials::ak_sk(emulator.access_key(), emulator.secret_key());
    let client_options = ClientOptions {
        requests_per_second: 0,
        ..ClientOptions::default()
    };
    let client = Arc::new(Client::new(&config, credentials, client_options).expect("client"));
    let options = ApplyOptions {
        parallelism,
        watch: WatchConfig {
            min_interval: job / 20,
            max_interval: job / 10,
            progress_every: None,
        },
        ..ApplyOptions::default()
    };
    let started = Instant::now();
    let (report, _store) = apply::execute(
        &plan,
        store,
        client,
        options,
        Arc::new(Silent),
        Shutdown::never(),
    )
    .await
    .expect("the apply runs");
    let wall = started.elapsed();
    assert_eq!(report.added, images, "{report:?}");
    let waves = images.div_ceil(parallelism) as u32;
    let bound = job * waves;
    let stats = emulator.stats();
    let total: u64 = stats.values().sum();
    let polls: u64 = stats
        .iter()
        .filter(|(route, _)| route.starts_with("GET "))
        .map(|(_, n)| n)
        .sum();
    println!(
        "apply of {images} creates at parallelism {parallelism}, job {job:?}: wall {wall:.2?}, \
         bound ceil(N/P) x job = {bound:?}, ratio {:.2}; requests per image {:.2} ({:.2} \
         without the GET polls); {stats:?}",
        wall.as_secs_f64() / bound.as_secs_f64(),
        total as f64 / images as f64,
        (total - polls) as f64 / images as f64,
    );
}

fn main() {
    let images = env_number("IMSFORM_BENCH_IMAGES", 500) as usize;
    let job = Duration::from_millis(env_number("IMSFORM_BENCH_JOB_MS", 1000));
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    for parallelism in [10, 20] {
        runtime.block_on(run(images, parallelism, job));
    }
}
