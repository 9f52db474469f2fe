//! Replicas on the PostgreSQL backend: a replica is part of its image's row (the records are
//! stored as JSON, so nothing else is needed), a journaled copy is a journal row keyed by its
//! token, and an apply killed while a copy is journaled is finished by one apply.

use std::time::Duration;

use crate::base::{REPLICA_MANIFEST, SOUTH, TestEnv, two_regions};
use crate::env::{PgEnv, text};

async fn env() -> Option<PgEnv> {
    let (builder, cloud) = two_regions();
    let env = PgEnv::start(builder, Duration::from_millis(500), &cloud).await?;
    env.manifest(REPLICA_MANIFEST);
    Some(env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_lives_in_its_image_row_and_a_killed_copy_is_finished_by_one_apply() {
    let Some(env) = env().await else {
        return;
    };
    // Killed (SIGKILL) as soon as a journal row holds the copy, while its job runs.
    let sql = env.sql().await;
    let schema = &env.schema;
    let mut child = env.spawn(&["apply", "--auto-approve"]);
    let copying =
        format!("SELECT count(*) FROM {schema}.journal WHERE entry->'operation'->>'kind' = 'copy'");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = match sql.query_one(&copying, &[]).await {
            Ok(row) => row.get::<_, i64>(0),
            // The schema does not exist until the apply's first save.
            Err(_) => 0,
        };
        if found > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no copy was journaled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    TestEnv::wait(child).await;
    let killed = env.state().await;
    let copies = killed
        .pending
        .iter()
        .filter(|e| matches!(e.operation, imsform::state::PendingOperation::Copy { .. }))
        .count();
    assert_eq!(
        copies, 1,
        "the kill landed while the copy was journaled: {killed:?}"
    );
    let output = env.run(&["apply", "--auto-approve"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    env.ok(&["plan", "--detailed-exitcode"], 0).await;
    let state = env.state().await;
    assert!(state.pending.is_empty(), "{:?}", state.pending);
    let record = state.images.values().next().unwrap();
    let replica = &record.replicas[SOUTH];
    assert_eq!(replica.source_id, record.id);
    let copies: Vec<_> = env
        .live_images()
        .into_values()
        .filter(|i| i["__data_origin"].as_str() == Some(&format!("image,cn-north-4,{}", record.id)))
        .collect();
    assert_eq!(copies.len(), 1, "no orphan, no duplicate: {copies:#?}");
    assert_eq!(copies[0]["id"], replica.id.as_str());
    // The image's row holds its replica; the journal has no row left.
    let row = sql
        .query_one(
            &format!("SELECT data FROM {schema}.resources WHERE address = 'images.web'"),
            &[],
        )
        .await
        .unwrap();
    let data: serde_json::Value = row.get(0);
    assert_eq!(data["replicas"][SOUTH]["id"], replica.id.as_str());
    let journal = sql
        .query_one(&format!("SELECT count(*) FROM {schema}.journal"), &[])
        .await
        .unwrap();
    assert_eq!(journal.get::<_, i64>(0), 0);
}
