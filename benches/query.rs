//! `imsform query` and `imsform query --generate-config-out` over 1,000 existing images (issue
//! 21, "Cost"): the real binary against the emulator with 75 ms injected into every request,
//! printing the wall time and the requests by route. The target: at most 2 s, with
//! ceil(images / 1000) + 2 list requests (the region, what it shares through
//! `__imagetype=shared`, the replica region) plus one member list per image really shared.
//! The world is made through the API: 1,000 registered images, 10 of them shared, 5 copied to a
//! second region. `cargo bench --bench query` (IMSFORM_BENCH_IMAGES, IMSFORM_BENCH_LATENCY_MS
//! change the defaults; IMSFORM_BENCH_FALLBACK=1 also times `--no-shared-filter`, one member
//! list per image under the default rate limit of 20 requests a second). Prints figures;
//! asserts only that the runs succeed.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imsform::cloud::distribution::CopyToRegion;
use imsform::cloud::{Client, CloudApi, CreateImage, ImageStatus, WatchConfig};
use imsform::emulator::{Emulator, Faults};

// The fixtures file names these modules through `crate::`.
use imsform::{cloud, emulator, manifest};

#[path = "../src/cloud/emulated.rs"]
mod emulated;

use emulated::{client_of, ubuntu_image};

const SOUTH: &str = "cn-south-1";
const CONSUMER: &str = "5f3c0e1d2b4a49f6a8e7c6d5b4a39281";
const SHARED: usize = 10;
const COPIES: usize = 5;
const IN_FLIGHT: usize = 32;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Creates and registers `count` images, `IN_FLIGHT` at a time; waits until all are active.
async fn seed(client: &Arc<Client>, count: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for index in 0..count {
        if tasks.len() >= IN_FLIGHT
            && let Some(done) = tasks.join_next().await
        {
            ids.push(done.expect("seeding task"));
        }
        let client = client.clone();
        tasks.spawn(async move {
            let create = CreateImage {
                min_ram: if index % 3 == 0 { 1024 } else { 0 },
                ..ubuntu_image(&format!("app-{index:04}"))
            };
            let image = client.create_metadata(&create).await.expect("create");
            let url = format!("bench:app-{index:04}.qcow2");
            client.register(&image.id, &url).await.expect("register");
            image.id
        });
    }
    while let Some(done) = tasks.join_next().await {
        ids.push(done.expect("seeding task"));
    }
    while !client
        .images_in_status(&ImageStatus::Saving)
        .await
        .expect("list")
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ids.sort();
    ids
}

async fn wait(client: &Client, job: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let cadence = WatchConfig::local(Some(Duration::from_millis(20)));
    let report = client.wait_job(job, &cadence, deadline).await.expect("job");
    assert_eq!(report.job.status, imsform::cloud::JobStatus::Success);
}

/// Shares the first [`SHARED`] images and copies the first [`COPIES`] to [`SOUTH`].
async fn distribute(client: &Client, ids: &[String]) {
    let shared = ids[..SHARED].to_vec();
    let job = client
        .add_members(&shared, &[CONSUMER.to_owned()])
        .await
        .expect("share");
    wait(client, &job).await;
    for id in &ids[..COPIES] {
        let copy = CopyToRegion {
            name: "copy".into(),
            description: None,
            region: SOUTH.into(),
            project_name: SOUTH.into(),
            agency_name: "ims_admin_agency".into(),
        };
        let job = client.copy_to_region(id, &copy).await.expect("copy");
        wait(client, &job).await;
    }
}

/// A working directory configured for `emulator` and its replica region.
fn workspace(root: &Path, name: &str, emulator: &Emulator) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).expect("workspace");
    let (uri, south) = (emulator.uri(), emulator.uri_of(SOUTH).expect("south"));
    let config = format!(
        "[cloud]\nregion = \"{}\"\nproject_id = \"{}\"\nendpoint = \"{uri}\"\n\
         iam_endpoint = \"{uri}\"\ncopy_agency = \"ims_admin_agency\"\n\n\
         [cloud.regions.{SOUTH}]\nendpoint = \"{south}\"\niam_endpoint = \"{south}\"\n",
        emulator.region(),
        emulator.project_id(),
    );
    std::fs::write(dir.join("imsform.toml"), config).expect("config");
    dir
}

/// The list requests among `requests`: of the configured region's private images, of what it
/// shares, and of other projects' (the replica region's) private images.
fn lists(requests: &[imsform::emulator::RecordedRequest], home: &str) -> (usize, usize, usize) {
    let listed = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/v2/cloudimages");
    let (mut private, mut shared, mut elsewhere) = (0, 0, 0);
    for request in listed {
        if request.query.contains("__imagetype=shared") {
            shared += 1;
        } else if request.query.contains(&format!("owner={home}")) {
            private += 1;
        } else {
            elsewhere += 1;
        }
    }
    (private, shared, elsewhere)
}

/// Runs `imsform -C DIR query ARGS` and prints the wall time and the requests by route.
fn run(dir: &Path, emulator: &Emulator, args: &[&str], images: usize) {
    let before = emulator.stats();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_imsform"))
        .env("HW_ACCESS_KEY", emulator.access_key())
        .env("HW_SECRET_KEY", emulator.secret_key())
        .arg("-C")
        .arg(dir)
        .arg("query")
        .args(args)
        .output()
        .expect("spawn");
    let wall = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sent: Vec<(String, u64)> = emulator
        .stats()
        .into_iter()
        .map(|(route, count)| {
            let sent = count - before.get(&route).copied().unwrap_or(0);
            (route, sent)
        })
        .filter(|(_, sent)| *sent > 0)
        .collect();
    let routes: Vec<String> = sent.iter().map(|(r, n)| format!("{r}: {n}")).collect();
    // The emulator keeps the latest requests: this run's are the last ones.
    let requests = emulator.requests();
    let total = sent.iter().map(|(_, n)| *n as usize).sum::<usize>();
    let this_run = &requests[requests.len().saturating_sub(total)..];
    let (private, shared, elsewhere) = lists(this_run, emulator.project_id());
    println!(
        "`imsform query {}` over {images} images: wall {wall:.2?}; list requests: {private} of \
         the region's private images + {shared} of what it shares = {} (bound ceil({images}/1000) \
         + 2 = {}), + {elsewhere} of the replica region; all requests [{}] ({SHARED} images \
         shared)",
        args.join(" "),
        private + shared,
        images.div_ceil(1000) + 2,
        routes.join(", "),
    );
}

#[tokio::main]
async fn main() {
    let images = setting("IMSFORM_BENCH_IMAGES", 1000) as usize;
    let latency = setting("IMSFORM_BENCH_LATENCY_MS", 75);
    let emulator = Emulator::builder()
        .region("cn-north-4")
        .region(SOUTH)
        .project_with_id("cn-north-4_consumer", CONSUMER)
        .image_quota(images + COPIES + 1)
        .job_duration(Duration::from_millis(1))
        .start()
        .await
        .expect("emulator");
    let client = Arc::new(client_of(&emulator));
    let started = Instant::now();
    let ids = seed(&client, images).await;
    distribute(&client, &ids).await;
    println!(
        "made {images} images ({SHARED} shared, {COPIES} copied to {SOUTH}) in {:.2?}",
        started.elapsed()
    );
    emulator.set_faults(Faults {
        latency_ms: latency,
        ..Faults::default()
    });
    println!("{latency} ms injected into every request:");
    let root = tempfile::tempdir().expect("temp dir");
    let list = workspace(root.path(), "list", &emulator);
    let emulator = Arc::new(emulator);
    let run_in = |dir: std::path::PathBuf, args: &'static [&'static str]| {
        let emulator = emulator.clone();
        tokio::task::spawn_blocking(move || run(&dir, &emulator, args, images))
    };
    run_in(list, &[]).await.expect("query");
    let generate = workspace(root.path(), "generate", &emulator);
    run_in(generate, &["--generate-config-out", "adopted.yaml"])
        .await
        .expect("query --generate-config-out");
    if std::env::var_os("IMSFORM_BENCH_FALLBACK").is_some() {
        let fallback = workspace(root.path(), "fallback", &emulator);
        let args = &[
            "--generate-config-out",
            "adopted.yaml",
            "--no-shared-filter",
        ];
        run_in(fallback, args).await.expect("fallback");
    }
}
