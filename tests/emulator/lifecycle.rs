//! Registration jobs, their two endpoints, the image state machine and asynchronous delete.

use std::time::Duration;

use imsform::emulator::{Emulator, Faults};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn the_register_lifecycle_queued_saving_active() {
    let api = Api::start(Emulator::builder().job_duration(Duration::from_millis(600))).await;
    let created = api
        .create(
            json!({"name": "web-base", "__os_version": "Ubuntu 22.04 server 64bit",
            "min_disk": 40, "tags": ["team=web", "env=prod"], "protected": false}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let image = &created.body;
    let id = image["id"].as_str().unwrap();
    assert_eq!(image["status"], "queued");
    assert_eq!(image["self"], format!("/v2/images/{id}"));
    assert_eq!(image["file"], format!("/v2/images/{id}/file"));
    assert_eq!(image["schema"], "/v2/schemas/image");
    assert_eq!(image["owner"], api.pid());
    assert_eq!(image["__image_size"], "0");
    assert_eq!(image["__isregistered"], "true");
    assert_eq!(image["__os_type"], "Linux");
    assert_eq!(image["__platform"], "Ubuntu");
    assert_eq!(image["__os_bit"], "64");
    assert_eq!(image["__imagetype"], "private");
    assert_eq!(image["disk_format"], "zvhd2");
    assert_eq!(image["tags"], json!(["env=prod", "team=web"]));
    assert!(image["created_at"].as_str().unwrap().ends_with('Z'));

    let reply = api.register(id, URL).await;
    assert_eq!(reply.status, 200);
    let job = reply.body["job_id"].as_str().unwrap().to_owned();
    assert_eq!(job.len(), 32);
    let first = api.job(&job).await.body;
    assert!(
        matches!(first["status"].as_str(), Some("INIT" | "RUNNING")),
        "{first}"
    );
    assert_eq!(first["job_type"], "imsNativeImportImageJob");
    assert_eq!(first["end_time"], "");
    assert_eq!(api.image(id).await.unwrap()["status"], "saving");
    let done = api.wait_job(&job).await;
    assert_eq!(done["status"], "SUCCESS");
    assert_eq!(done["entities"]["image_id"], id);
    assert_eq!(done["error_code"], Value::Null);
    assert_eq!(done["fail_reason"], Value::Null);
    assert!(!done["end_time"].as_str().unwrap().is_empty());
    let active = api.image(id).await.unwrap();
    assert_eq!(active["status"], "active");
    assert_eq!(active["disk_format"], "zvhd2");
    let size = active["size"].as_u64().unwrap();
    assert!(size > 0);
    assert_eq!(active["__image_size"], size.to_string());
    assert_eq!(active["checksum"].as_str().unwrap().len(), 32);
    assert_eq!(active["__data_origin"], format!("file,{URL}"));
}

#[tokio::test]
async fn failed_registrations_kill_the_image_with_img_0057() {
    let faults = Faults {
        fail_urls: vec!["my-bucket:bad.qcow2".into()],
        ..Faults::default()
    };
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_millis(50))
            .faults(faults),
    )
    .await;
    for url in ["my-bucket:bad.qcow2", "my-bucket:notes.txt"] {
        let id = api.create_ok("doomed").await;
        let job = api.register(&id, url).await.body["job_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let done = api.wait_job(&job).await;
        assert_eq!(done["status"], "FAIL", "{done}");
        assert_eq!(done["error_code"], "IMG.0057");
        assert!(done["fail_reason"].as_str().unwrap().contains(url));
        assert_eq!(done["entities"], json!({}));
        assert_eq!(api.image(&id).await.unwrap()["status"], "killed");
    }
    // A catalogue of OBS objects: anything outside it fails, anything inside succeeds.
    api.emulator.set_faults(Faults {
        obs_objects: Some(vec![URL.into()]),
        ..Faults::default()
    });
    let id = api.create_ok("missing").await;
    let job = api.register(&id, "my-bucket:absent.qcow2").await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.wait_job(&job).await["error_code"], "IMG.0057");
    let id = api.create_ok("present").await;
    let job = api.register(&id, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.wait_job(&job).await["status"], "SUCCESS");
}

#[tokio::test]
async fn register_refuses_bad_urls_unknown_images_and_images_not_queued() {
    let api = Api::fast().await;
    let id = api.active("once").await;
    let again = api.register(&id, URL).await;
    assert_eq!((again.status, again.code()), (400, "IMG.0046"));
    let missing = api
        .register("00000000-0000-0000-0000-000000000000", URL)
        .await;
    assert_eq!((missing.status, missing.code()), (404, "IMG.0027"));
    let queued = api.create_ok("q").await;
    for (url, code) in [
        ("no-colon.qcow2", "IMG.0017"),
        ("Bad_Bucket:x.qcow2", "IMG.0109"),
        (":x.qcow2", "IMG.0068"),
    ] {
        let reply = api.register(&queued, url).await;
        assert_eq!((reply.status, reply.code()), (400, code), "{url}");
    }
    let no_url = api
        .send(
            "PUT",
            &format!("/v1/cloudimages/{queued}/upload"),
            &[],
            Some(&json!({})),
        )
        .await;
    assert_eq!(no_url.code(), "IMG.0001");
}

#[tokio::test]
async fn the_progress_endpoint_reports_a_growing_percent_and_unknown_jobs_are_404() {
    let api = Api::start(Emulator::builder().job_duration(Duration::from_millis(300))).await;
    let id = api.create_ok("progress").await;
    let job = api.register(&id, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/cloudimages/job/{job}");
    let mut seen = Vec::new();
    loop {
        let reply = api.send("GET", &path, &[], None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body["entities"]["image_id"], id);
        seen.push(reply.body["entities"]["process_percent"].as_f64().unwrap());
        if reply.body["status"] == "SUCCESS" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(
        seen.len() >= 3 && seen[0] < 1.0 && *seen.last().unwrap() == 1.0,
        "{seen:?}"
    );
    let unknown = api
        .send(
            "GET",
            "/v1/cloudimages/job/ffffffffffffffffffffffffffffffff",
            &[],
            None,
        )
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, "IMG.0027"));
    let unknown = api.job("ffffffffffffffffffffffffffffffff").await;
    assert_eq!((unknown.status, unknown.code()), (404, "IMG.0027"));
}

#[tokio::test(start_paused = true)]
async fn jobs_follow_tokio_time_so_paused_tests_are_instant() {
    let api = Api::start(Emulator::builder().job_duration(Duration::from_secs(600))).await;
    let id = api.create_ok("paused").await;
    let job = api.register(&id, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.job(&job).await.body["status"], "INIT");
    tokio::time::advance(Duration::from_secs(300)).await;
    assert_eq!(api.job(&job).await.body["status"], "RUNNING");
    tokio::time::advance(Duration::from_secs(301)).await;
    assert_eq!(api.job(&job).await.body["status"], "SUCCESS");
    assert_eq!(api.image(&id).await.unwrap()["status"], "active");
}

#[tokio::test]
async fn delete_is_asynchronous_and_refuses_protected_and_saving_images() {
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_secs(5))
            .delete_linger(Duration::from_millis(500)),
    )
    .await;
    let id = api.create_ok("short-lived").await;
    let reply = api
        .send("DELETE", &format!("/v2/images/{id}"), &[], None)
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.body, Value::Null);
    assert_eq!(
        api.image(&id).await.unwrap()["status"],
        "queued",
        "still listed in its last status"
    );
    tokio::time::sleep(Duration::from_millis(650)).await;
    assert!(api.image(&id).await.is_none());
    let gone = api
        .send("DELETE", &format!("/v2/images/{id}"), &[], None)
        .await;
    assert_eq!((gone.status, gone.code()), (404, "IMG.0027"));

    let protected = api
        .create(json!({"name": "keep", "protected": true}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = api
        .send("DELETE", &format!("/v2/images/{protected}"), &[], None)
        .await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0028"));

    let saving = api.create_ok("busy").await;
    api.register(&saving, URL).await;
    let body = json!({"delete_backup": false});
    let reply = api
        .send("DELETE", &format!("/v2/images/{saving}"), &[], Some(&body))
        .await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0090"));
}
