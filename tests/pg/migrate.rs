//! Migration between backends (`state push` / `state pull`), stale saved plans (of another
//! serial or another workspace), the state commands on a workspace (`state rebind` too), and
//! refusals of bad configuration.

use std::time::Duration;

use crate::env::{PgEnv, manifest, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_local_state_pulls_back_byte_for_byte_and_pushes_are_guarded() {
    let Some(env) = PgEnv::new(Duration::from_millis(100)).await else {
        return;
    };
    env.manifest(&manifest(&["web", "db"]));
    // Apply with the local backend first: this is the state a team migrates.
    let config = std::fs::read_to_string(env.path().join("imsform.toml")).unwrap();
    let local = config.replace("backend = \"pg\"", "backend = \"local\"");
    std::fs::write(env.path().join("imsform.toml"), &local).unwrap();
    env.ok(&["apply", "--auto-approve"], 0).await;
    let file = std::fs::read_to_string(env.path().join("imsform.state.json")).unwrap();
    std::fs::write(env.path().join("imsform.toml"), &config).unwrap();

    let nothing = env.run(&["state", "pull"]).await;
    assert_eq!(nothing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&nothing.stderr)
            .contains("there is no state at workspace `default`")
    );
    let out = env.run(&["state", "push", "imsform.state.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        env.ok(&["state", "pull"], 0).await,
        file,
        "pull of a pushed state equals it"
    );
    assert_eq!(
        env.ok(&["state", "list"], 0).await,
        "images.db\nimages.web\n"
    );
    env.ok(&["plan", "--detailed-exitcode"], 0).await;

    // Same again: a no-op. Another lineage, or an older serial: refused unless --force.
    env.ok(&["state", "push", "imsform.state.json"], 0).await;
    let mut other: serde_json::Value = serde_json::from_str(&file).unwrap();
    other["lineage"] = "0b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11".into();
    std::fs::write(env.path().join("other.json"), other.to_string()).unwrap();
    let refused = env.run(&["state", "push", "other.json"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("they are different states"));
    env.ok(&["state", "rm", "images.db"], 0).await;
    let older = env.run(&["state", "push", "imsform.state.json"]).await;
    assert_eq!(older.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&older.stderr).contains("the stored state is at serial"),
        "{}",
        text(&older)
    );
    env.ok(&["state", "push", "--force", "imsform.state.json"], 0)
        .await;
    let forced: serde_json::Value =
        serde_json::from_str(&env.ok(&["state", "pull"], 0).await).unwrap();
    let pushed: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(forced["images"], pushed["images"]);
    assert!(
        forced["serial"].as_u64() > pushed["serial"].as_u64(),
        "a forced push moves past both"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_refused_after_another_apply_moved_the_serial() {
    let Some(env) = PgEnv::new(Duration::from_millis(100)).await else {
        return;
    };
    env.manifest(&manifest(&["web"]));
    env.ok(&["plan", "-out", "first.json"], 0).await;
    env.ok(&["plan", "-out", "second.json"], 0).await;
    let out = env.ok(&["apply", "first.json"], 0).await;
    assert!(out.contains("1 added"), "{out}");
    let before = env.ok(&["state", "pull"], 0).await;
    let stale = env.run(&["apply", "second.json"]).await;
    assert_eq!(stale.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(
        stderr.contains("the plan was made without a state, but a state"),
        "{stderr}"
    );

    env.manifest(&manifest(&["web", "db"]));
    env.ok(&["plan", "-out", "grow.json"], 0).await;
    env.ok(&["state", "mv", "images.web", "images.www"], 0)
        .await;
    let stale = env.run(&["apply", "grow.json"]).await;
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("serial"),
        "{}",
        text(&stale)
    );
    assert_eq!(env.live_images().len(), 1, "nothing reached the cloud");
    let after: serde_json::Value =
        serde_json::from_str(&env.ok(&["state", "pull"], 0).await).unwrap();
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(
        after["serial"].as_u64(),
        before["serial"].as_u64().map(|s| s + 1),
        "only the mv"
    );
    let show = env.ok(&["state", "show", "images.www"], 0).await;
    assert!(show.contains("name"), "{show}");

    // The workspace keeps the cloud identity (in `meta`), and a saved plan records its
    // workspace: applied with another one, it is stale.
    assert!(after["identity"]["region"].is_string(), "{after}");
    env.ok(&["plan", "-out", "here.json"], 0).await;
    let planfile = std::fs::read_to_string(env.path().join("here.json")).unwrap();
    assert!(planfile.contains("\"state_workspace\""), "{planfile}");
    let mut elsewhere = env.command(&["apply", "here.json"]);
    elsewhere.env("IMSFORM_WORKSPACE", "elsewhere");
    let out = tokio::task::spawn_blocking(move || elsewhere.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Saved plan is stale: the plan was made from PostgreSQL workspace")
            && stderr.contains("/elsewhere"),
        "{stderr}"
    );
    assert_eq!(env.live_images().len(), 1, "nothing reached the cloud");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_imsform_toml_is_refused_without_printing_it() {
    let Some(env) = PgEnv::new(Duration::from_millis(100)).await else {
        return;
    };
    let config = std::fs::read_to_string(env.path().join("imsform.toml")).unwrap();
    let with_password = config.replace("postgres://postgres@", "postgres://postgres:hunter2@");
    std::fs::write(env.path().join("imsform.toml"), with_password).unwrap();
    env.manifest(&manifest(&["web"]));
    let out = env.run(&["plan"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a password does not belong in imsform.toml"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2") && out.stdout.is_empty());
    assert!(
        env.emulator.requests().is_empty(),
        "nothing reached the cloud"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_rebind_moves_a_workspace_to_the_configured_identity() {
    let Some(env) = PgEnv::new(Duration::from_millis(100)).await else {
        return;
    };
    env.manifest(&manifest(&["web"]));
    env.ok(&["apply", "--auto-approve"], 0).await;
    let before = env.state().await;
    let other = "0123456789abcdef0123456789abcdef";
    // Rebound to another project (configured, so nothing is asked of the cloud)...
    let mut rebind = env.command(&["state", "rebind", "--auto-approve"]);
    rebind.env("HW_PROJECT_ID", other);
    let out = tokio::task::spawn_blocking(move || rebind.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let moved = env.state().await;
    let identity = moved.identity.clone().unwrap();
    assert_eq!(identity.project_id, other);
    assert_eq!(
        (moved.serial, &moved.lineage, &moved.images),
        (before.serial + 1, &before.lineage, &before.images)
    );
    // ...the workspace is refused by the configuration it was made with, pointing at rebind...
    let refused = env.run(&["plan"]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("project {other}")) && stderr.contains("`imsform state rebind`"),
        "{stderr}"
    );
    // ...until it is rebound: then plan works again, with nothing to change.
    env.ok(&["state", "rebind", "--auto-approve"], 0).await;
    let back = env.state().await;
    assert_eq!(back.identity, before.identity);
    assert_eq!(back.serial, before.serial + 2);
    let plan = env.ok(&["plan"], 0).await;
    assert!(plan.contains("No changes"), "{plan}");
}
