//! The lock holder's connection terminated in the middle of an apply (`pg_terminate_backend`,
//! as a failover or an administrator would): that run starts no cloud call it could not
//! journal and exits 1 saying so; the next run converges with no duplicate and no lost entry.

use std::time::Duration;

use imsform::state::{PendingOperation, State};

use crate::env::{PgEnv, manifest, text};

const KEYS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

/// Every image in the cloud is known to the stored state: by id in `images` or `pending`, or
/// by the token of a pending create. An image outside it would be a cloud call made without a
/// durable journal entry.
pub(crate) fn assert_everything_journaled(env: &PgEnv, state: &State) {
    for (id, image) in env.live_images() {
        let rendered = image.to_string();
        let known = state.images.values().any(|record| record.id == id)
            || state.pending.iter().any(|entry| match &entry.operation {
                PendingOperation::Create {
                    token, image_id, ..
                } => image_id.as_deref() == Some(id.as_str()) || rendered.contains(token.as_str()),
                PendingOperation::Delete { image_id }
                | PendingOperation::Members { image_id, .. } => image_id == &id,
                // Images of other regions: these tests have no replicas.
                PendingOperation::Copy { .. } | PendingOperation::DeleteReplica { .. } => false,
            });
        assert!(
            known,
            "image {id} is not in the stored state: {image}\n{state:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_lock_connection_stops_the_run_and_the_next_one_converges() {
    let Some(env) = PgEnv::new(Duration::from_millis(800)).await else {
        return;
    };
    env.manifest(&manifest(&KEYS));
    let apply = env
        .command(&["apply", "--auto-approve", "--parallelism", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while env.live_images().len() < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sql = env.sql().await;
    let terminated = sql
        .query_one(
            &format!(
                "SELECT pg_terminate_backend(backend_pid) FROM {}.lock_holders",
                env.schema
            ),
            &[],
        )
        .await
        .unwrap();
    assert!(terminated.get::<_, bool>(0));
    let creates_at_loss = env
        .emulator
        .stats()
        .get("POST /v2/images")
        .copied()
        .unwrap_or(0);
    let out = tokio::task::spawn_blocking(move || apply.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("The connection to the state database was lost"),
        "{stderr}"
    );
    let creates_after = env
        .emulator
        .stats()
        .get("POST /v2/images")
        .copied()
        .unwrap_or(0);
    // At parallelism 2, at most the two creates whose journal entry was already committed can
    // still have been on their way; nothing new starts once the loss is seen.
    assert!(
        creates_after <= creates_at_loss + 2,
        "{creates_at_loss} -> {creates_after}"
    );
    assert!(
        creates_after < KEYS.len() as u64,
        "the run went on creating: {creates_after}"
    );
    let stopped = env.state().await;
    assert_everything_journaled(&env, &stopped);

    let out = env.ok(&["apply", "--auto-approve"], 0).await;
    assert!(out.contains("Apply complete!"), "{out}");
    let state = env.state().await;
    assert!(state.pending.is_empty(), "{:?}", state.pending);
    let live = env.live_images();
    let mut names: Vec<&str> = live.values().map(|i| i["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names, KEYS,
        "one image per address, no duplicate, no orphan"
    );
    let mut ids: Vec<&String> = state.images.values().map(|r| &r.id).collect();
    ids.sort();
    assert_eq!(ids, live.keys().collect::<Vec<_>>());
    assert!(state.serial > stopped.serial);
    let plan = env.ok(&["plan", "--detailed-exitcode"], 0).await;
    assert!(plan.contains("No changes."), "{plan}");
}
