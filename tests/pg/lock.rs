//! The workspace lock: four applies at once, one works and the others are refused naming it
//! (or wait with `--lock-timeout`).

use std::time::Duration;

use crate::env::{PgEnv, manifest, text};

const KEYS: [&str; 3] = ["web", "db", "cache"];

/// Starts `imsform ARGS` four times at once and waits for all of them.
async fn four_at_once(env: &PgEnv, args: &[&str]) -> Vec<(u32, std::process::Output)> {
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.command(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| (child.id(), child.wait_with_output().unwrap()))
            .collect()
    })
    .await
    .unwrap()
}

fn assert_three_images(env: &PgEnv) {
    let mut names: Vec<String> = env
        .live_images()
        .values()
        .map(|image| image["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["cache", "db", "web"],
        "one image per address, no duplicate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_concurrent_applies_one_creates_and_the_others_name_it() {
    let Some(env) = PgEnv::new(Duration::from_millis(1500)).await else {
        return;
    };
    env.manifest(&manifest(&KEYS));
    let runs = four_at_once(&env, &["apply", "--auto-approve"]).await;
    let winners: Vec<_> = runs
        .iter()
        .filter(|(_, out)| out.status.success())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{:#?}",
        runs.iter().map(|r| text(&r.1)).collect::<Vec<_>>()
    );
    let (winner_pid, winner) = winners[0];
    assert!(String::from_utf8_lossy(&winner.stdout).contains("Apply complete! Resources: 3 added"));
    for (_, out) in runs.iter().filter(|(_, out)| !out.status.success()) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}", text(out));
        assert!(stderr.contains("the state is locked by lock "), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "(operation \"apply, imsform {}",
                env!("CARGO_PKG_VERSION")
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("pid {winner_pid},")),
            "names the holder: {stderr}"
        );
    }
    assert_three_images(&env);
    let state = env.state().await;
    assert_eq!(state.images.len(), 3);
    assert!(state.pending.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_lock_timeout_they_wait_and_only_the_first_creates() {
    let Some(env) = PgEnv::new(Duration::from_millis(500)).await else {
        return;
    };
    env.manifest(&manifest(&KEYS));
    let runs = four_at_once(&env, &["apply", "--auto-approve", "--lock-timeout=60s"]).await;
    let mut added = 0;
    for (_, out) in &runs {
        assert_eq!(out.status.code(), Some(0), "{}", text(out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.contains("3 added") {
            added += 1;
        } else {
            assert!(stdout.contains("No changes."), "{stdout}");
        }
    }
    assert_eq!(added, 1);
    assert_three_images(&env);
    assert_eq!(env.emulator.stats().get("POST /v2/images"), Some(&3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_unlock_ends_the_named_holder_and_only_it() {
    let Some(env) = PgEnv::new(Duration::from_secs(30)).await else {
        return;
    };
    env.manifest(&manifest(&["slow"]));
    let apply = env
        .command(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (without competing for the lock) until the apply has created its image.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while env.live_images().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply created nothing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = env.run(&["plan"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let refused = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(refused.contains("locked by lock "), "{refused}");
    let id = refused
        .split("locked by lock ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let wrong = env
        .run(&["force-unlock", "00000000-0000-4000-8000-000000000000"])
        .await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains(&format!("the lock id is {id}")));
    let unlocked = env.run(&["force-unlock", &id]).await;
    assert_eq!(unlocked.status.code(), Some(0), "{}", text(&unlocked));
    let out = tokio::task::spawn_blocking(move || apply.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connection to the state database"),
        "{}",
        text(&out)
    );
    let again = env.run(&["force-unlock", &id]).await;
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("there is no lock to remove"),
        "{}",
        text(&again)
    );
}
