//! How long an apply takes to stop when a link goes silent mid-run, with the default bounds and
//! with shorter ones, measured with the release binary (issue 23's "done when" figures):
//!
//! - **PostgreSQL**: 10 images against the emulator, state in a throwaway server reached
//!   through a proxy (`tests/pg/proxy.rs`) that goes silent while the apply writes (busy) or
//!   while it only waits for jobs (idle). Defaults (`heartbeat` 5 s, `statement_timeout` 30 s):
//!   the goal is at most 45 s; and `2s`/`10s`, which should end proportionally sooner.
//! - **IMS**: the emulator's `silent` fault with `request_timeout = "10s"`,
//!   `unresponsive_timeout = "30s"`: the goal is at most 60 s, with a message saying so.
//!
//! After each stall the next runner (after `force-unlock` when the stalled session still holds
//! the lock) applies once; the bench asserts it converges with no duplicate and no orphan.
//! Prints the figures and the stopped run's last lines. `IMSFORM_BENCH_IMS_DEFAULTS=1` adds
//! the IMS case with the default bounds (60 s / 3 min: about four minutes).

#[path = "../tests/apply/env.rs"]
#[allow(dead_code, reason = "shared with the tests, which use all of it")]
mod base;
#[path = "../tests/pg/env.rs"]
#[allow(dead_code, reason = "shared with the tests, which use all of it")]
mod env;
#[path = "../tests/pg/proxy.rs"]
mod proxy;
#[path = "../tests/pg/server.rs"]
#[allow(
    dead_code,
    reason = "the bench needs the server's address, not its TLS port"
)]
mod server;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use imsform::emulator::{Emulator, Faults};

use base::{TestEnv, image, manifest};
use env::PgEnv;
use proxy::{Proxy, through};

const IMAGES: usize = 10;

fn keys() -> Vec<String> {
    (0..IMAGES).map(|i| format!("img-{i:02}")).collect()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut rows = Vec::new();
        for (heartbeat, statement) in [(5, 30), (2, 10)] {
            for busy in [true, false] {
                rows.push(pg_stall(heartbeat, statement, busy).await);
            }
        }
        rows.push(ims_stall(10, 30).await);
        if std::env::var("IMSFORM_BENCH_IMS_DEFAULTS").as_deref() == Ok("1") {
            rows.push(ims_stall(60, 180).await);
        }
        println!("\n| stall | bounds | cut while | exit | stopped after | recovery |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for row in rows.into_iter().flatten() {
            println!("{row}");
        }
    });
}

/// The last lines of a stopped run's stderr, for the record.
fn tail(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// A PostgreSQL link silent mid-apply; `busy`: cut while the apply creates images, else while
/// it only waits for registration jobs.
async fn pg_stall(heartbeat: u64, statement: u64, busy: bool) -> Option<String> {
    let bounds = format!("heartbeat = \"{heartbeat}s\"\nstatement_timeout = \"{statement}s\"\n");
    let job = Duration::from_secs(if busy { 2 } else { 60 });
    let env = PgEnv::with_state(job, &bounds).await?;
    let (target, _) = through(&env.server.url, 0)?;
    let proxy = Proxy::start(target).await;
    let (_, via_proxy) = through(&env.server.url, proxy.port)?;
    let keys = keys();
    let images: Vec<String> = keys.iter().map(|k| image(k, k, "")).collect();
    env.manifest(&manifest(&images));
    let parallelism = if busy { "3" } else { "10" };
    let child = env
        .command(&["apply", "--auto-approve", "--parallelism", parallelism])
        .env("PG_CONN_STR", &via_proxy)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (wanted, status) = if busy {
        (3, None)
    } else {
        (IMAGES, Some("saving"))
    };
    wait_for_images(&env, wanted, status).await;
    if !busy {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    proxy.go_silent();
    let cut = Instant::now();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join");
    let took = cut.elapsed();
    println!(
        "\n== PostgreSQL silent ({heartbeat} s / {statement} s, {}): exit {:?} after {took:.1?}\n{}",
        if busy { "busy" } else { "idle" },
        output.status.code(),
        tail(&output)
    );
    let recovery = recover(&env, &keys).await;
    drop(proxy);
    Some(format!(
        "| PostgreSQL link | heartbeat {heartbeat} s, statement {statement} s | {} | {:?} | {took:.1?} | {recovery} |",
        if busy { "writing" } else { "waiting for jobs" },
        output.status.code()
    ))
}

/// After a stall: take the lock over when the stalled session still holds it, apply once and
/// check the cloud against the state.
async fn recover(env: &PgEnv, keys: &[String]) -> String {
    let out = env.run(&["apply", "--auto-approve"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut how = "one apply";
    if let Some(rest) = stderr.split("locked by lock ").nth(1) {
        let id = rest.split(' ').next().unwrap_or_default().to_owned();
        let unlocked = env.run(&["force-unlock", &id]).await;
        assert!(unlocked.status.success(), "{}", env::text(&unlocked));
        how = "refused naming the holder, force-unlock, one apply";
        let again = env.run(&["apply", "--auto-approve"]).await;
        assert!(again.status.success(), "{}", env::text(&again));
    } else {
        assert!(out.status.success(), "{}", env::text(&out));
    }
    let state = env.state().await;
    check_cloud(
        env,
        keys,
        state.images.values().map(|r| r.id.clone()).collect(),
    );
    format!("{how}: converged, 0 duplicates, 0 orphans")
}

/// IMS silent mid-apply with these bounds; then the fault is lifted and one apply converges.
async fn ims_stall(request: u64, unresponsive: u64) -> Option<String> {
    let cloud = move |_: &Emulator| {
        format!("request_timeout = \"{request}s\"\nunresponsive_timeout = \"{unresponsive}s\"\n")
    };
    let apply = "[apply]\nrequests_per_second = 200\njob_timeout = \"10m\"\n";
    let env = TestEnv::start_with(Emulator::builder(), Duration::from_secs(5), &cloud, apply).await;
    let keys = keys();
    let images: Vec<String> = keys.iter().map(|k| image(k, k, "")).collect();
    env.manifest(&manifest(&images));
    let child = env
        .command(&["apply", "--auto-approve", "--parallelism", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_images(&env, 3, None).await;
    env.emulator.set_faults(Faults {
        silent: true,
        ..Faults::default()
    });
    let cut = Instant::now();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join");
    let took = cut.elapsed();
    println!(
        "\n== IMS silent ({request} s / {unresponsive} s): exit {:?} after {took:.1?}\n{}",
        output.status.code(),
        tail(&output)
    );
    env.emulator.set_faults(Faults::default());
    let out = env.run(&["apply", "--auto-approve"]).await;
    assert!(out.status.success(), "{}", env::text(&out));
    let state = env.state();
    check_cloud(
        &env,
        &keys,
        state.images.values().map(|r| r.id.clone()).collect(),
    );
    Some(format!(
        "| IMS | request {request} s, unresponsive {unresponsive} s | creating and waiting | {:?} | {took:.1?} | one apply: converged, 0 duplicates, 0 orphans |",
        output.status.code()
    ))
}

async fn wait_for_images(env: &TestEnv, wanted: usize, status: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let live = env.live_images();
        let count = live
            .values()
            .filter(|i| status.is_none_or(|s| i["status"] == s))
            .count();
        if count >= wanted {
            return;
        }
        assert!(Instant::now() < deadline, "the apply made {count} images");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One live image per key, each the one the state records: no duplicate, no orphan.
fn check_cloud(env: &TestEnv, keys: &[String], mut recorded: Vec<String>) {
    let live = env.live_images();
    let mut names: Vec<String> = live
        .values()
        .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, keys, "one image per address");
    recorded.sort();
    assert_eq!(
        recorded,
        live.keys().cloned().collect::<Vec<_>>(),
        "no orphan"
    );
}
