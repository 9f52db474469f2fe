//! Fault injection: throttling, the job cap, seeded 5xx, latency, dropped responses and an
//! endpoint that stops answering.

use std::time::Duration;

use imsform::emulator::{Emulator, Faults, RateLimit};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn throttling_answers_429_with_retry_after_per_access_key() {
    let faults = Faults {
        rate_limit: Some(RateLimit {
            per_second: 0.5,
            burst: 2.0,
        }),
        ..Faults::default()
    };
    let api = Api::start(Emulator::builder().faults(faults).auth_token("tok")).await;
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    let throttled = api.send("GET", "/v2/cloudimages", &[], None).await;
    assert_gateway(&throttled, 429, "APIG.0308");
    assert_eq!(throttled.headers["retry-after"], "2");
    // Another principal has its own bucket.
    let mut other = Api::new(Emulator::builder().start().await.unwrap());
    other.emulator = api.emulator;
    other.access_key = other.emulator.access_key().to_owned();
    other.secret_key = other.emulator.secret_key().to_owned();
    other.project = Some(other.pid());
    other.auth_token = Some("tok".into());
    assert_eq!(
        other.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    // An empty fault set lifts the limit.
    other.admin("POST", "faults", Some(json!({}))).await;
    other.auth_token = None;
    assert_eq!(
        other.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
}

#[tokio::test]
async fn the_job_concurrency_cap_answers_img_0060() {
    let faults = Faults {
        max_running_jobs: Some(1),
        ..Faults::default()
    };
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_millis(1000))
            .faults(faults),
    )
    .await;
    let first = api.create_ok("one").await;
    let second = api.create_ok("two").await;
    let job = api.register(&first, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let capped = api.register(&second, URL).await;
    assert_eq!((capped.status, capped.code()), (400, "IMG.0060"));
    assert_eq!(
        api.image(&second).await.unwrap()["status"],
        "queued",
        "nothing happened"
    );
    api.wait_job(&job).await;
    assert_eq!(api.register(&second, URL).await.status, 200);
}

#[tokio::test]
async fn injected_5xx_are_seeded_and_reproducible() {
    let faults = Faults {
        seed: Some(42),
        error_rate: 0.5,
        ..Faults::default()
    };
    let api = Api::start(Emulator::builder().faults(faults.clone())).await;
    let first = statuses(&api, 30).await;
    assert!(
        first.contains(&200) && first.contains(&500) && first.contains(&503),
        "{first:?}"
    );
    api.emulator.set_faults(faults);
    assert_eq!(statuses(&api, 30).await, first, "same seed, same sequence");
    let reply = loop {
        let reply = api.send("GET", "/v2/cloudimages", &[], None).await;
        if reply.status >= 500 {
            break reply;
        }
    };
    assert_gateway(&reply, reply.status, reply.code());
    api.admin("POST", "reset", None).await;
    assert_eq!(statuses(&api, 10).await.len(), 10);
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let api = Api::start(Emulator::builder().faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    }))
    .await;
    let started = std::time::Instant::now();
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn dropped_responses_close_the_connection_after_the_emulator_acted() {
    let api = Api::fast().await;
    let id = api.create_ok("dropped").await;
    api.admin(
        "POST",
        "faults",
        Some(json!({"drop_routes": {"PUT /v1/cloudimages/{image_id}/upload": 1}})),
    )
    .await;
    let body = json!({"image_url": URL}).to_string().into_bytes();
    let path = format!("/v1/cloudimages/{id}/upload");
    let error = api
        .try_send("PUT", &path, &[], "application/json", body)
        .await
        .err()
        .unwrap();
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    // The emulator acted: the image is saving and a second register is refused.
    assert_eq!(api.image(&id).await.unwrap()["status"], "saving");
    assert_eq!(api.register(&id, URL).await.code(), "IMG.0046");
    // drop_rate 1.0 drops everything; {} clears it.
    api.admin("POST", "faults", Some(json!({"drop_rate": 1.0})))
        .await;
    let listed = api.try_send(
        "GET",
        "/v2/cloudimages",
        &[],
        "application/json",
        Vec::new(),
    );
    assert!(listed.await.is_err());
    api.admin("POST", "faults", Some(json!({}))).await;
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
}

#[tokio::test]
async fn a_silent_endpoint_takes_requests_answers_none_and_acts_on_none_until_lifted() {
    let api = Api::fast().await;
    api.admin("POST", "faults", Some(json!({"silent": true})))
        .await;
    let body =
        json!({"name": "never", "__os_version": "Ubuntu 22.04 server 64bit", "min_disk": 40});
    let create = api.try_send(
        "POST",
        "/v2/images",
        &[],
        "application/json",
        body.to_string().into_bytes(),
    );
    tokio::pin!(create);
    let waited = tokio::time::timeout(Duration::from_millis(500), &mut create).await;
    assert!(waited.is_err(), "answered while silent");
    // Taken and counted, the connection still open; the admin API still answers.
    let stats = api.admin("GET", "stats", None).await;
    assert_eq!(stats["requests"]["POST /v2/images"], 1);
    api.admin("POST", "faults", Some(json!({}))).await;
    let lifted = tokio::time::timeout(Duration::from_secs(5), create).await;
    assert!(lifted.unwrap().is_err(), "closed without an answer");
    let images = api.admin("GET", "images", None).await;
    assert_eq!(images["images"], json!([]), "nothing was acted on");
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
}

async fn job_outcomes(api: &Api, count: usize) -> Vec<String> {
    let mut outcomes = Vec::new();
    for i in 0..count {
        let id = api.create_ok(&format!("rate-{i}")).await;
        let job = api.register(&id, URL).await.body["job_id"]
            .as_str()
            .unwrap()
            .to_owned();
        outcomes.push(
            api.wait_job(&job).await["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    outcomes
}

#[tokio::test]
async fn job_failure_rates_are_seeded_and_job_durations_can_be_slowed_down() {
    let faults = Faults {
        seed: Some(3),
        job_failure_rate: 0.5,
        ..Faults::default()
    };
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_millis(10))
            .faults(faults.clone()),
    )
    .await;
    let first = job_outcomes(&api, 12).await;
    assert!(
        first.contains(&"SUCCESS".to_owned()) && first.contains(&"FAIL".to_owned()),
        "{first:?}"
    );
    api.emulator.set_faults(faults);
    assert_eq!(
        job_outcomes(&api, 12).await,
        first,
        "same seed, same outcomes"
    );

    api.admin("POST", "faults", Some(json!({"job_duration_ms": 1000})))
        .await;
    let id = api.create_ok("slow").await;
    let job = api.register(&id, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(api.job(&job).await.body["status"], "RUNNING");
    assert_eq!(api.wait_job(&job).await["status"], "SUCCESS");
}
