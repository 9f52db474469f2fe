//! Crash safety of replicas against a two-region emulator (design.md section 10): a copy
//! whose answer is lost is found in the destination region and adopted, and an apply killed
//! at any moment around a copy is finished by ONE apply, with no orphan and no duplicate copy.

use std::time::Duration;

use imsform::emulator::Faults;
use imsform::manifest::model::Address;
use imsform::state::{PendingOperation, Store};

use crate::env::{REPLICA_MANIFEST, SOUTH, TestEnv, text, two_regions};

const COPY_ROUTE: &str = "POST /v1/cloudimages/{image_id}/cross_region_copy";

/// A directory with [`REPLICA_MANIFEST`] and the two regions' configuration, jobs of `job`.
async fn replica_env(job: Duration) -> TestEnv {
    let (builder, cloud) = two_regions();
    let apply =
        "[apply]\nrequests_per_second = 200\njob_timeout = \"2m\"\npoll_interval = \"50ms\"\n";
    let env = TestEnv::start_with(builder, job, &cloud, apply).await;
    env.manifest(REPLICA_MANIFEST);
    env
}

/// The state's replica and the live copies of the source in [`SOUTH`]: exactly one, the
/// recorded one, active and tagged; nothing pending.
fn assert_one_copy(env: &TestEnv) {
    let state = env.state();
    assert!(state.pending.is_empty(), "{:?}", state.pending);
    let record = &state.images[&Address::parse("images.web").unwrap()];
    let replica = &record.replicas[SOUTH];
    assert_eq!(replica.source_id, record.id);
    let origin = format!("image,cn-north-4,{}", record.id);
    let copies: Vec<_> = env
        .live_images()
        .into_values()
        .filter(|i| i["__data_origin"] == origin.as_str())
        .collect();
    assert_eq!(copies.len(), 1, "no orphan, no duplicate: {copies:#?}");
    assert_eq!(copies[0]["id"], replica.id.as_str());
    assert_eq!(copies[0]["status"], "active");
    assert_eq!(copies[0]["name"], "web-sg");
    assert!(
        copies[0]["tags"].to_string().contains("imsform-token"),
        "{}",
        copies[0]
    );
    let live = env.live_images();
    let images: Vec<_> = live
        .values()
        .filter(|i| {
            i["__data_origin"]
                .as_str()
                .is_some_and(|o| o.starts_with("file,"))
        })
        .collect();
    assert_eq!(images.len(), 1, "one source image: {live:#?}");
}

#[tokio::test]
async fn a_lost_copy_answer_is_found_by_origin_name_and_time_and_adopted() {
    let env = replica_env(Duration::from_millis(200)).await;
    env.emulator.set_faults(Faults {
        drop_routes: [(COPY_ROUTE.to_owned(), 1)].into(),
        ..Faults::default()
    });
    let out = env.apply_converges().await;
    assert!(out.contains("Apply complete! Resources: 2 added"), "{out}");
    assert_eq!(
        env.emulator.stats()[COPY_ROUTE],
        1,
        "the copy was never re-sent"
    );
    assert_one_copy(&env);
}

#[tokio::test]
async fn an_apply_killed_around_the_copy_is_finished_by_one_apply() {
    // The kills are spread over an uninterrupted apply's duration, measured here, so that
    // they land in the copy (the second half of the apply) however fast the machine is.
    let warm = replica_env(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    warm.apply_converges().await;
    let typical = started.elapsed();
    let mut copies_in_flight = 0;
    for percent in [20, 40, 55, 65, 75, 85, 95] {
        let delay = typical * percent / 100;
        let env = replica_env(Duration::from_millis(500)).await;
        env.apply_killed_after(delay).await;
        // A kill before the first save leaves no state at all.
        let killed = Store::read(&env.path().join("imsform.state.json")).unwrap();
        copies_in_flight += killed.map_or(0, |state| {
            state
                .pending
                .iter()
                .filter(|e| matches!(e.operation, PendingOperation::Copy { .. }))
                .count()
        });
        let output = env.run(&["apply", "--auto-approve"]).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "after {delay:?}:\n{}",
            text(&output)
        );
        env.assert_no_changes().await;
        assert_one_copy(&env);
        assert!(
            env.emulator.stats().get(COPY_ROUTE).copied().unwrap_or(0) <= 2,
            "after {delay:?}"
        );
    }
    assert!(
        copies_in_flight > 0,
        "no kill landed while a copy was journaled (an apply took {typical:?})"
    );
}

/// A client of the emulator's south region, acting outside imsform.
fn south(env: &TestEnv) -> imsform::cloud::Client {
    let uri = env.emulator.uri_of(SOUTH).unwrap();
    let project = env.emulator.project_named(SOUTH).unwrap();
    let config = imsform::cli::config::CloudConfig::at_endpoint(&uri, SOUTH, Some(project));
    let credentials =
        imsform::cloud::Credentials::ak_sk(env.emulator.access_key(), env.emulator.secret_key());
    imsform::cloud::Client::new(&config, credentials, Default::default()).unwrap()
}

const LIST: &str = "GET /v2/cloudimages";

#[tokio::test]
async fn refresh_lists_each_region_once_and_copies_changed_outside_are_repaired() {
    use imsform::cloud::{AttrUpdate, CloudApi};
    let env = replica_env(Duration::from_millis(100)).await;
    let three: String = ["a", "b", "c"]
        .iter()
        .map(|key| {
            REPLICA_MANIFEST
                .trim_start_matches("images:\n")
                .replace("  web:", &format!("  {key}:"))
                .replace("name: web", &format!("name: {key}"))
                .replace("name: web-sg", &format!("name: {key}-sg"))
        })
        .collect();
    env.manifest(&format!("images:\n{three}"));
    env.apply_converges().await;
    // One list per region for three replicas: the configured region and the south.
    let before = env.emulator.stats().get(LIST).copied().unwrap_or(0);
    env.assert_no_changes().await;
    let after = env.emulator.stats().get(LIST).copied().unwrap_or(0);
    assert_eq!(after - before, 2, "{:?}", env.emulator.stats());
    // Outside imsform, through the south region's API: one copy deleted, one renamed.
    let state = env.state();
    let copy = |key: &str| {
        let address = Address::parse(&format!("images.{key}")).unwrap();
        state.images[&address].replicas[SOUTH].id.clone()
    };
    let cloud = south(&env);
    cloud.delete(&copy("a")).await.unwrap();
    let renamed = [AttrUpdate::Name("renamed-by-hand".into())];
    cloud.update(&copy("b"), &renamed).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    cloud.wait_gone(&[copy("a")], deadline).await.unwrap();
    let plan = env.ok(&["plan", "--no-color"], 0).await;
    for text in [
        "# images.a.replicas[\"ap-southeast-1\"] has been deleted",
        "# images.b.replicas[\"ap-southeast-1\"] has changed",
        "# images.a.replicas[\"ap-southeast-1\"] will be created",
        "# images.b.replicas[\"ap-southeast-1\"] will be updated in-place",
        "Plan: 1 to add, 1 to change, 0 to destroy.",
    ] {
        assert!(plan.contains(text), "{text:?} in\n{plan}");
    }
    env.apply_converges().await;
    let live = env.live_images();
    let copies = live.values().filter(|i| {
        i["__data_origin"]
            .as_str()
            .is_some_and(|o| o.starts_with("image,"))
    });
    assert_eq!(copies.count(), 3, "one copy an image: {live:#?}");
}

#[tokio::test]
async fn a_copy_the_state_forgot_is_untracked_in_its_region_and_deleted_on_request() {
    let env = replica_env(Duration::from_millis(100)).await;
    env.apply_converges().await;
    env.ok(&["state", "rm", "images.web"], 0).await;
    env.manifest("images: {}\n");
    let plan = env.ok(&["plan", "--no-color"], 0).await;
    let copy_line = plan
        .lines()
        .find(|line| line.contains(&format!(" in {SOUTH} \"web-sg\"")))
        .unwrap_or_else(|| panic!("the copy is reported untracked in its region:\n{plan}"));
    assert!(
        copy_line.contains("left alone; --delete-untracked deletes it"),
        "{copy_line}"
    );
    let json = env.ok(&["plan", "--json"], 0).await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let regions: Vec<&serde_json::Value> = json["untracked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["region"])
        .collect();
    assert_eq!(
        regions,
        [&serde_json::Value::Null, &serde_json::json!(SOUTH)]
    );
    let out = env
        .ok(&["apply", "--auto-approve", "--delete-untracked"], 0)
        .await;
    assert!(out.contains("0 added, 0 changed, 2 destroyed"), "{out}");
    assert!(env.live_images().is_empty(), "{:#?}", env.live_images());
}

#[tokio::test]
async fn more_copies_than_the_five_cross_region_slots_converge_in_one_apply() {
    // Jobs of 1 s: the seven copy requests, sent together, all overlap even on a busy machine.
    let env = replica_env(Duration::from_millis(1000)).await;
    let seven: String = (0..7)
        .map(|n| {
            REPLICA_MANIFEST
                .trim_start_matches("images:\n")
                .replace("  web:", &format!("  img{n}:"))
                .replace("name: web", &format!("name: img{n}"))
        })
        .collect();
    env.manifest(&format!("images:\n{seven}"));
    let out = env.apply_converges().await;
    assert!(out.contains("Resources: 14 added"), "{out}");
    let copies = env
        .live_images()
        .into_values()
        .filter(|i| {
            i["__data_origin"]
                .as_str()
                .is_some_and(|o| o.starts_with("image,"))
        })
        .count();
    assert_eq!(copies, 7);
    // Every copy request was taken once or refused (IMG.0060) and sent again: never lost.
    assert!(
        env.emulator.stats()[COPY_ROUTE] > 7,
        "{:?}",
        env.emulator.stats()
    );
}

#[tokio::test]
async fn a_failed_copy_job_leaves_no_image_behind_and_the_next_apply_copies_again() {
    let env = replica_env(Duration::from_millis(100)).await;
    let no_replica = REPLICA_MANIFEST.replace(
        "    replicas:\n      ap-southeast-1: { name: web-sg }\n",
        "",
    );
    env.manifest(&no_replica);
    env.apply_converges().await;
    env.manifest(REPLICA_MANIFEST);
    env.emulator.set_faults(Faults {
        job_failure_rate: 1.0,
        ..Faults::default()
    });
    let failed = env.run(&["apply", "--auto-approve"]).await;
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(text(&failed).contains("copy job"), "{}", text(&failed));
    let state = env.state();
    assert!(state.pending.is_empty(), "{:?}", state.pending);
    let copies = |env: &TestEnv| {
        env.live_images()
            .into_values()
            .filter(|i| {
                i["__data_origin"]
                    .as_str()
                    .is_some_and(|o| o.starts_with("image,"))
            })
            .count()
    };
    assert_eq!(copies(&env), 0, "the failed copy was deleted");
    env.emulator.set_faults(Faults::default());
    env.apply_converges().await;
    assert_one_copy(&env);
}
