//! The path to the state database goes silent in the middle of an apply: a proxy keeps the TCP
//! connections up and drops every byte, as a stuck pooler, a frozen server or a black-holing
//! load balancer does. The apply exits 1 within its configured bounds (`[state] heartbeat`,
//! `statement_timeout`) saying why, sends no cloud call its stored journal does not hold, and a
//! second runner is refused naming the holder, takes over with `force-unlock` and converges in
//! one apply with no duplicate.

use std::process::Stdio;
use std::time::{Duration, Instant};

use imsform::state::{PendingOperation, State};

use crate::env::{PgEnv, manifest, text};
use crate::loss::assert_everything_journaled;
use crate::proxy::{Proxy, through};

const KEYS: [&str; 10] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
const HEARTBEAT: Duration = Duration::from_secs(1);
const STATEMENT: Duration = Duration::from_secs(3);

/// Every create the cloud received carries a token the stored state knows: as a journaled
/// create, or through the image it made, recorded or journaled. A create outside it would be
/// a cloud call sent after the last commit that could hold it.
fn assert_creates_journaled(env: &PgEnv, state: &State) {
    let journaled: Vec<&str> = state
        .pending
        .iter()
        .filter_map(|entry| match &entry.operation {
            PendingOperation::Create { token, .. } => Some(token.as_str()),
            _ => None,
        })
        .collect();
    let live = env.live_images();
    for request in env.emulator.requests() {
        if request.method != "POST" || request.path != "/v2/images" {
            continue;
        }
        let body = String::from_utf8_lossy(&request.body);
        let token = body
            .split("imsform-token=")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("a create without a token: {body}"));
        let recorded = live.iter().any(|(id, image)| {
            image.to_string().contains(token) && state.images.values().any(|r| &r.id == id)
        });
        assert!(
            journaled.contains(&token) || recorded,
            "a create not in the stored state: {body}\n{state:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_link_ends_the_apply_within_its_bounds_and_the_next_runner_converges() {
    let bounds = "heartbeat = \"1s\"\nstatement_timeout = \"3s\"\n";
    let Some(env) = PgEnv::with_state(Duration::from_millis(800), bounds).await else {
        return;
    };
    let Some((target, _)) = through(&env.server.url, 0) else {
        eprintln!("skipped: the test server is not reached over TCP");
        return;
    };
    let proxy = Proxy::start(target).await;
    let (_, via_proxy) = through(&env.server.url, proxy.port).unwrap();
    env.manifest(&manifest(&KEYS));
    let apply = env
        .command(&["apply", "--auto-approve", "--parallelism", "3"])
        .env("PG_CONN_STR", &via_proxy)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_pid = apply.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.live_images().len() < 3 {
        assert!(Instant::now() < deadline, "the apply created nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.go_silent();
    let cut = Instant::now();
    let creates = || {
        let stats = env.emulator.stats();
        stats.get("POST /v2/images").copied().unwrap_or(0)
    };
    let creates_at_cut = creates();
    let out = tokio::task::spawn_blocking(move || apply.wait_with_output().unwrap())
        .await
        .unwrap();
    let took = cut.elapsed();
    println!("silent state database link: the apply exited {took:.1?} after the cut");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("The connection to the state database was lost (no answer for"),
        "{stderr}"
    );
    // Silent while idle: the heartbeat's tick and its answer; while busy: the statement's
    // bound. A second for starting and ending processes on a loaded machine.
    let bound = STATEMENT + HEARTBEAT * 2 + Duration::from_secs(1);
    assert!(took <= bound, "{took:?} > {bound:?}\n{}", text(&out));
    assert!(
        creates() <= creates_at_cut + 3,
        "at parallelism 3, at most the creates already journaled go out: {creates_at_cut} -> {}",
        creates()
    );
    let stopped = env.state().await;
    assert_everything_journaled(&env, &stopped);
    assert_creates_journaled(&env, &stopped);

    take_over(&env, first_pid).await;
    converges(&env, &KEYS).await;
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_silent_while_jobs_run_is_seen_by_the_heartbeat_and_the_holder_is_named() {
    let bounds = "heartbeat = \"1s\"\nstatement_timeout = \"3s\"\n";
    let Some(env) = PgEnv::with_state(Duration::from_secs(6), bounds).await else {
        return;
    };
    let Some((target, _)) = through(&env.server.url, 0) else {
        eprintln!("skipped: the test server is not reached over TCP");
        return;
    };
    let proxy = Proxy::start(target).await;
    let (_, via_proxy) = through(&env.server.url, proxy.port).unwrap();
    env.manifest(&manifest(&KEYS[..4]));
    let apply = env
        .command(&["apply", "--auto-approve"])
        .env("PG_CONN_STR", &via_proxy)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_pid = apply.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let saving = || {
        let live = env.live_images();
        live.values().filter(|i| i["status"] == "saving").count()
    };
    while saving() < 4 {
        assert!(Instant::now() < deadline, "the apply registered nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The job ids are saved right after the registrations' answers; then only the heartbeat
    // talks to the database until the jobs end.
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.go_silent();
    let cut = Instant::now();
    let out = tokio::task::spawn_blocking(move || apply.wait_with_output().unwrap())
        .await
        .unwrap();
    let took = cut.elapsed();
    println!(
        "silent link while only the heartbeat talks: the apply exited {took:.1?} after the cut"
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "The connection to the state database was lost (no answer for 1 s to the heartbeat)"
        ),
        "{stderr}"
    );
    let bound = HEARTBEAT * 2 + Duration::from_secs(1);
    assert!(took <= bound, "{took:?} > {bound:?}\n{}", text(&out));
    assert!(
        take_over(&env, first_pid).await,
        "the idle session keeps its lock"
    );
    converges(&env, &KEYS[..4]).await;
    drop(proxy);
}

/// One apply completes the manifests: no journal left, one image per address, nothing else.
async fn converges(env: &PgEnv, keys: &[&str]) {
    let out = env.ok(&["apply", "--auto-approve"], 0).await;
    assert!(out.contains("Apply complete!"), "{out}");
    let state = env.state().await;
    assert!(state.pending.is_empty(), "{:?}", state.pending);
    let live = env.live_images();
    let mut names: Vec<&str> = live.values().map(|i| i["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names, keys,
        "one image per address, no duplicate, no orphan"
    );
    let mut ids: Vec<&String> = state.images.values().map(|r| &r.id).collect();
    ids.sort();
    assert_eq!(ids, live.keys().collect::<Vec<_>>());
    let plan = env.ok(&["plan", "--detailed-exitcode"], 0).await;
    assert!(plan.contains("No changes."), "{plan}");
}

/// The stalled session still holds the lock on the server (its client is gone, its link
/// silent): a second runner is refused naming the first, and takes over with `force-unlock`.
/// When the cut fell inside a transaction, the server has already ended the session itself
/// (`idle_in_transaction_session_timeout`), and the lock is free.
async fn take_over(env: &PgEnv, first_pid: u32) -> bool {
    let sql = env.sql().await;
    let held = format!(
        "SELECT count(*) FROM {}.lock_holders h JOIN pg_stat_activity a ON a.pid = h.backend_pid",
        env.schema
    );
    let alive = sql.query_one(&held, &[]).await.unwrap().get::<_, i64>(0) > 0;
    if !alive {
        println!("the server had ended the stalled session: the cut fell inside a transaction");
        return false;
    }
    let out = env.run(&["apply", "--auto-approve"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let refused = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        refused.contains("the state is locked by lock "),
        "{refused}"
    );
    assert!(refused.contains(&format!("pid {first_pid},")), "{refused}");
    let id = refused
        .split("locked by lock ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_owned();
    let unlocked = env.run(&["force-unlock", &id]).await;
    assert_eq!(unlocked.status.code(), Some(0), "{}", text(&unlocked));
    true
}
