//! Apply throughput against the in-process emulator with a fixed job duration and a round trip
//! injected into every request (the emulator's `latency_ms` fault), side by side with a peer
//! that replays the request pattern of Terraform with Huawei's provider through the same client
//! (create, register, a job poll one poll interval after the register and every interval after,
//! a read of the image at the end; `parallelism` images at a time).
//!
//! For each point it prints the wall time against the ideal bound, ceil(N / P) x (job + 3 round
//! trips: create, register, one read that sees the end), and the requests per image by route.
//! Jobs are scaled down from a real registration job of 95 s; both poll cadences are scaled with
//! them: imsform's adaptive floor (1 s real) and the peer's 10 s. The last point keeps every
//! real proportion (the round trip scaled too) to show the requests per image of a 95 s job.
//!
//! `cargo bench --bench apply`; the sizes come from the environment:
//! `IMSFORM_BENCH_IMAGES` (default 200), `IMSFORM_BENCH_LATENCY_MS` (75),
//! `IMSFORM_BENCH_JOBS_MS` (`1000,3000`), `IMSFORM_BENCH_PARALLELISM` (`10,50`),
//! `IMSFORM_BENCH_REAL_IMAGES` (50; 0 skips the real-proportions point),
//! `IMSFORM_BENCH_REAL_SCALE` (25: 95 s jobs and 75 ms run 25 times faster). Prints figures;
//! asserts only that every image was created.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imsform::apply::{self, ApplyOptions, Shutdown, Silent};
use imsform::cloud::{Client, CloudApi, JobStatus, WatchConfig};
use imsform::emulator::{Emulator, Faults};
use imsform::plan::{self, PlanOptions};
use imsform::state::{LockOptions, Store};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

// The fixtures file is shared with the executor's unit tests, which name these modules through
// `crate::`.
use imsform::{cloud, emulator, manifest};

#[path = "../src/cloud/emulated.rs"]
mod emulated;

use emulated::{client_of, ubuntu_image};

/// The real registration job the scaled jobs stand for.
const REAL_JOB: Duration = Duration::from_secs(95);
/// The provider's job poll: 10 s after the register, then every 10 s.
const PEER_POLL: Duration = Duration::from_secs(10);
/// Round trips every image pays on its slot's path whatever the client does.
const UNAVOIDABLE_TRIPS: u32 = 3;

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn numbers(name: &str, default: &[u64]) -> Vec<u64> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<u64>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// One point of the bench.
#[derive(Debug, Clone, Copy)]
struct Point {
    images: usize,
    parallelism: usize,
    job: Duration,
    latency: Duration,
}

impl Point {
    /// How much faster than real time this point runs.
    fn scale(&self) -> f64 {
        REAL_JOB.as_secs_f64() / self.job.as_secs_f64()
    }

    fn ideal(&self) -> Duration {
        let waves = self.images.div_ceil(self.parallelism) as u32;
        (self.job + self.latency * UNAVOIDABLE_TRIPS) * waves
    }
}

/// What one run took: wall time and the emulator's requests by route.
struct Figures {
    wall: Duration,
    requests: BTreeMap<String, u64>,
}

async fn emulator(point: Point) -> (Emulator, Arc<Client>) {
    let faults = Faults {
        latency_ms: point.latency.as_millis() as u64,
        ..Faults::default()
    };
    let emulator = Emulator::builder()
        .job_duration(point.job)
        .image_quota(point.images + 10)
        .faults(faults)
        .start()
        .await
        .expect("the emulator starts");
    let client = client_of(&emulator);
    (emulator, Arc::new(client))
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

/// `imsform apply` of N creates, through the library, state on disk, no progress display.
async fn imsform(point: Point) -> Figures {
    let (emulator, client) = emulator(point).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("images.yaml"), manifest(point.images)).expect("manifest");
    let loaded = imsform::manifest::load(&[], dir.path(), &imsform::manifest::VarInput::default())
        .expect("the manifest loads");
    let plan = plan::plan(&loaded.manifests, None, None, &PlanOptions::default()).expect("plan");
    let lock = LockOptions {
        operation: "bench",
        timeout: None,
    };
    let store = Store::open(&dir.path().join("imsform.state.json"), lock).expect("state");
    let floor = WatchConfig::CLOUD_POLL_FLOOR.div_f64(point.scale());
    let options = ApplyOptions {
        parallelism: point.parallelism,
        watch: WatchConfig {
            poll_interval: floor,
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
    assert_eq!(report.added, point.images, "{report:?}");
    Figures {
        wall,
        requests: emulator.stats(),
    }
}

/// The provider's pattern for one image.
async fn peer_image(client: &Client, index: usize, poll: Duration) {
    let create = ubuntu_image(&format!("peer-{index}"));
    let image = client.create_metadata(&create).await.expect("create");
    let url = format!("bench:peer-{index}.qcow2");
    let job = client.register(&image.id, &url).await.expect("register");
    loop {
        tokio::time::sleep(poll).await;
        let status = client.job(&job).await.expect("job").status;
        if matches!(status, JobStatus::Success | JobStatus::Fail) {
            break;
        }
    }
    client
        .get_image(&image.id)
        .await
        .expect("read")
        .expect("exists");
}

/// The peer: the same images, `parallelism` at a time, through the same client.
async fn peer(point: Point) -> Figures {
    let (emulator, client) = emulator(point).await;
    let poll = PEER_POLL.div_f64(point.scale());
    let slots = Arc::new(Semaphore::new(point.parallelism));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for index in 0..point.images {
        let permit = slots.clone().acquire_owned().await.expect("open");
        let client = client.clone();
        tasks.spawn(async move {
            peer_image(&client, index, poll).await;
            drop(permit);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a peer image");
    }
    Figures {
        wall: started.elapsed(),
        requests: emulator.stats(),
    }
}

fn line(who: &str, point: Point, figures: &Figures) -> String {
    let ideal = point.ideal();
    let images = point.images as f64;
    let total: u64 = figures.requests.values().sum();
    let routes: Vec<String> = (figures.requests.iter())
        .map(|(route, n)| format!("{route} {:.2}", *n as f64 / images))
        .collect();
    format!(
        "  {who:<8} wall {:>8.2?}  {:.3}x ideal  {:.2} requests/image [{}]",
        figures.wall,
        figures.wall.as_secs_f64() / ideal.as_secs_f64(),
        total as f64 / images,
        routes.join(", ")
    )
}

fn report(title: &str, point: Point, ours: &Figures, theirs: &Figures) {
    println!(
        "{title}: {} images, parallelism {}, job {:?} (a {:?} job scaled 1/{:.1}), {:?} per \
         request; ideal ceil(N/P) x (job + {UNAVOIDABLE_TRIPS} x {:?}) = {:.2?}",
        point.images,
        point.parallelism,
        point.job,
        REAL_JOB,
        point.scale(),
        point.latency,
        point.latency,
        point.ideal()
    );
    println!("{}", line("imsform", point, ours));
    println!("{}", line("peer", point, theirs));
    println!(
        "  imsform / peer wall: {:.3}",
        ours.wall.as_secs_f64() / theirs.wall.as_secs_f64()
    );
}

async fn compare(title: &str, point: Point) {
    let ours = imsform(point).await;
    let theirs = peer(point).await;
    report(title, point, &ours, &theirs);
}

#[tokio::main]
async fn main() {
    let images = number("IMSFORM_BENCH_IMAGES", 200) as usize;
    let latency = Duration::from_millis(number("IMSFORM_BENCH_LATENCY_MS", 75));
    for job in numbers("IMSFORM_BENCH_JOBS_MS", &[1000, 3000]) {
        for parallelism in numbers("IMSFORM_BENCH_PARALLELISM", &[10, 50]) {
            let point = Point {
                images,
                parallelism: parallelism as usize,
                job: Duration::from_millis(job),
                latency,
            };
            compare("scaled job", point).await;
        }
    }
    let real_images = number("IMSFORM_BENCH_REAL_IMAGES", 50) as usize;
    if real_images > 0 {
        let scale = number("IMSFORM_BENCH_REAL_SCALE", 25).max(1) as u32;
        let point = Point {
            images: real_images,
            parallelism: 10,
            job: REAL_JOB / scale,
            latency: latency / scale,
        };
        compare("real proportions", point).await;
    }
}
