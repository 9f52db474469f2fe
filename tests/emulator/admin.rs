//! The admin API, persistence, loopback binding and the command line.

use std::time::Duration;

use imsform::emulator::Emulator;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn the_admin_api_counts_shows_every_image_and_resets() {
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_millis(50))
            .delete_linger(Duration::from_secs(30)),
    )
    .await;
    let id = api.create_ok("admin").await;
    api.send("GET", "/v2/cloudimages", &[], None).await;
    api.send("GET", "/v2/cloudimages", &[("limit", "5")], None)
        .await;
    api.send("GET", &format!("/v1/{}/jobs/x", api.pid()), &[], None)
        .await;
    api.send("DELETE", &format!("/v2/images/{id}"), &[], None)
        .await;
    let stats = api.admin("GET", "stats", None).await;
    assert_eq!(stats["requests"]["GET /v2/cloudimages"], 2);
    assert_eq!(stats["requests"]["POST /v2/images"], 1);
    assert_eq!(stats["requests"]["GET /v1/{project_id}/jobs/{job_id}"], 1);
    assert_eq!(api.emulator.stats()["DELETE /v2/images/{image_id}"], 1);
    let images = api.admin("GET", "images", None).await;
    assert_eq!(images["images"][0]["id"], id);
    assert_eq!(images["images"][0]["__emulator_deleting"], true);
    assert_eq!(api.emulator.images().len(), 1);

    let recorded = api.emulator.requests();
    assert_eq!(recorded.len(), 5);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path, "/v2/images");
    assert!(String::from_utf8_lossy(&recorded[0].body).contains("admin"));
    assert_eq!(recorded[2].query, "limit=5");
    for request in &recorded {
        assert!(
            request
                .headers
                .iter()
                .all(|(name, _)| name != "authorization")
        );
        assert!(request.headers.iter().any(|(name, _)| name == "x-sdk-date"));
    }
    let url = format!("{}/__emulator/faults", api.emulator.uri());
    let typo = api
        .http
        .post(&url)
        .body(r#"{"eror_rate":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(typo.status(), 400);

    api.admin("POST", "reset", None).await;
    assert!(
        api.admin("GET", "images", None).await["images"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(api.admin("GET", "stats", None).await["requests"], json!({}));
}

#[tokio::test]
async fn the_world_persists_atomically_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.json");
    let builder = || {
        Emulator::builder()
            .credentials("AKPERSIST00000000000", "sk")
            .project_id("p1")
            .job_duration(Duration::from_millis(50))
            .data_file(&file)
    };
    let api = Api::start(builder()).await;
    let active = api.active("kept").await;
    let queued = api
        .create(json!({"name": "waiting", "tags": ["a=b"]}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&active) && text.contains(&queued));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left behind"
    );
    api.emulator.shutdown().await;

    let api = Api::start(builder()).await;
    let image = api.image(&active).await.unwrap();
    assert_eq!(
        (image["status"].clone(), image["name"].clone()),
        (json!("active"), json!("kept"))
    );
    assert_eq!(api.image(&queued).await.unwrap()["tags"], json!(["a=b"]));
    let deleted = api
        .send("DELETE", &format!("/v2/images/{queued}"), &[], None)
        .await;
    assert_eq!(deleted.status, 204);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    api.send("GET", "/v2/cloudimages", &[], None).await;
    assert!(!std::fs::read_to_string(&file).unwrap().contains(&queued));

    std::fs::write(&file, "{broken").unwrap();
    assert!(builder().start().await.is_err());
}

#[tokio::test]
async fn only_loopback_addresses_are_accepted() {
    let error = Emulator::builder()
        .listen("0.0.0.0:0".parse().unwrap())
        .start()
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("loopback"), "{error}");
    assert!(imsform::emulator::loopback_address("192.168.1.1:80").is_err());
    assert!(imsform::emulator::loopback_address("localhost:80").is_err());
    assert!(imsform::emulator::loopback_address("[::1]:0").is_ok());
}

#[test]
fn the_cli_prints_one_json_line_and_refuses_non_loopback() {
    let line = startup_line(&[
        "--listen",
        "127.0.0.1:0",
        "--access-key",
        "AKCLI000000000000000",
        "--secret-key",
        "s3cret",
        "--region",
        "eu-west-0",
    ]);
    let keys: Vec<&str> = line
        .trim()
        .trim_matches(['{', '}'])
        .split(',')
        .map(|kv| kv.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "\"endpoint\"",
            "\"access_key\"",
            "\"secret_key\"",
            "\"project_id\"",
            "\"region\"",
            "\"obs_endpoint\""
        ]
    );
    let info: Value = serde_json::from_str(&line).unwrap();
    assert!(
        info["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(info["access_key"], "AKCLI000000000000000");
    assert_eq!(info["region"], "eu-west-0");
    assert_eq!(info["project_id"].as_str().unwrap().len(), 32);

    assert_cmd::Command::cargo_bin("imsform")
        .unwrap()
        .args(["emulator", "--listen", "0.0.0.0:8787"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("loopback only"));
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_refuses_connections() {
    let faults = imsform::emulator::Faults {
        latency_ms: 300,
        ..Default::default()
    };
    let emulator = Emulator::builder().faults(faults).start().await.unwrap();
    let url = format!("{}/v2/cloudimages", emulator.uri());
    let in_flight = tokio::spawn(reqwest::get(url.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    emulator.shutdown().await;
    let answered = in_flight.await.unwrap().unwrap();
    assert_eq!(
        answered.status(),
        401,
        "the in-flight request got its answer"
    );
    assert!(reqwest::get(url).await.is_err(), "no longer accepting");
}

#[tokio::test]
async fn a_data_file_is_created_at_start_and_an_unwritable_one_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.json");
    let _emulator = Emulator::builder().data_file(&file).start().await.unwrap();
    let world: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(world["images"], json!([]));
    let nowhere = dir.path().join("missing-dir").join("world.json");
    let error = Emulator::builder()
        .data_file(&nowhere)
        .start()
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("missing-dir"), "{error}");
}

#[test]
fn the_cli_sets_the_image_quota() {
    let (mut child, line) = emulator_process(&["--listen", "127.0.0.1:0", "--image-quota", "7"]);
    let info: Value = serde_json::from_str(&line).unwrap();
    let text = |key: &str| info[key].as_str().unwrap().to_owned();
    let config = imsform::cli::config::CloudConfig::at_endpoint(
        &text("endpoint"),
        &text("region"),
        Some(&text("project_id")),
    );
    let credentials = imsform::cloud::Credentials::ak_sk(&text("access_key"), &text("secret_key"));
    let client = imsform::cloud::Client::new(
        &config,
        credentials,
        imsform::cloud::ClientOptions::default(),
    )
    .unwrap();
    let quota = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(client.quota());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(quota.unwrap(), (0, 7));
}
