//! SIGKILL of `imsform apply` at random moments with the state in PostgreSQL, then ONE apply:
//! it must converge with no orphan and no duplicate. The killed run's session ends with the
//! process, so the server frees its lock as soon as it sees the socket close (the recovering
//! apply waits for that with `--lock-timeout`). `IMSFORM_PG_CRASH_RUNS` sets the number of
//! kills (default 10).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::env::{PgEnv, manifest, text};

fn generation(run: usize) -> Vec<&'static str> {
    if run.is_multiple_of(2) {
        vec!["alpha", "bravo", "charlie", "delta"]
    } else {
        vec!["alpha", "charlie", "echo", "foxtrot", "golf"]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_moment_then_one_apply_converges_without_orphans_or_duplicates() {
    let Some(env) = PgEnv::new(Duration::from_millis(300)).await else {
        return;
    };
    let runs = std::env::var("IMSFORM_PG_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut typical = Duration::ZERO;
    for run in 0..2 {
        env.manifest(&manifest(&generation(run)));
        let started = Instant::now();
        env.ok(&["apply", "--auto-approve"], 0).await;
        typical = typical.max(started.elapsed());
    }
    let (mut orphans, mut duplicates, mut journaled) = (0, 0, 0);
    for run in 0..runs {
        let names = generation(run);
        env.manifest(&manifest(&names));
        env.apply_killed_after(rand::rng().random_range(Duration::ZERO..=typical))
            .await;

        let killed = env.state().await;
        journaled += usize::from(!killed.pending.is_empty());
        // The server frees the killed run's lock when it sees the socket close, a few
        // milliseconds later: the one recovering apply may have to wait that long.
        let out = env
            .run(&["apply", "--auto-approve", "--lock-timeout=30s"])
            .await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {run}: one apply converges\n{}",
            text(&out)
        );
        let state = env.state().await;
        assert!(state.pending.is_empty(), "run {run}: {:?}", state.pending);
        let live = env.live_images();
        let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
        for image in live.values() {
            *by_name.entry(image["name"].as_str().unwrap()).or_default() += 1;
        }
        duplicates += by_name.values().filter(|count| **count > 1).count();
        orphans += live
            .keys()
            .filter(|id| !state.images.values().any(|record| &record.id == *id))
            .count();
        let mut wanted = names.clone();
        wanted.sort_unstable();
        assert_eq!(
            by_name.keys().copied().collect::<Vec<_>>(),
            wanted,
            "run {run}"
        );
    }
    println!(
        "pg crash test: runs {runs} / orphans {orphans} / duplicates {duplicates} ({journaled} \
         kills left a journal to recover)"
    );
    assert_eq!((orphans, duplicates), (0, 0));
}
