//! Replication (ims-distribution.md section 4): in-region copies on both paths and
//! cross-region copies whose job runs in the source region and names the new image in the
//! destination, with their refusals and the limit on concurrent cross-region copies.

use std::time::Duration;

use imsform::emulator::{Emulator, Faults};
use serde_json::{Value, json};

use crate::support::*;

async fn world() -> Api {
    let builder = Emulator::builder()
        .job_duration(Duration::from_millis(100))
        .region("cn-north-4")
        .region("ap-southeast-1")
        .project("ap-southeast-1_replicas");
    Api::start(builder).await
}

async fn copy(api: &Api, path: &str, body: Value) -> Value {
    let reply = api.send("POST", path, &[], Some(&body)).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    let job = reply.body["job_id"].as_str().unwrap().to_owned();
    api.wait_job(&job).await
}

#[tokio::test]
async fn in_region_copies_make_a_new_private_image_named_by_the_job() {
    let api = world().await;
    let source = api.active("source").await;
    let tagged = json!([{"key": "team", "value": "web"}]);
    let tags = format!("/v2/{}/images/{source}/tags/action", api.pid());
    api.send(
        "POST",
        &tags,
        &[],
        Some(&json!({"action": "create", "tags": tagged})),
    )
    .await;
    for path in ["/v1/cloudimages", "/v2.1/cloudimages"] {
        let body = json!({"name": "the-copy", "description": "copied"});
        let job = copy(&api, &format!("{path}/{source}/copy"), body).await;
        assert_eq!(job["status"], "SUCCESS", "{job}");
        assert_eq!(job["job_type"], "imsCopyImageInRegionJob");
        assert_eq!(job["entities"]["image_name"], "the-copy");
        let id = job["entities"]["image_id"].as_str().unwrap();
        assert_ne!(id, source);
        let image = api.image(id).await.unwrap();
        let original = api.image(&source).await.unwrap();
        assert_eq!(image["status"], "active");
        assert_eq!(image["name"], "the-copy");
        assert_eq!(image["__description"], "copied");
        assert_eq!(image["__data_origin"], format!("image,cn-north-4,{source}"));
        assert_eq!(image["tags"], json!([]), "a copy carries no tags");
        assert_eq!(image["size"], original["size"]);
        assert_eq!(image["__os_version"], original["__os_version"]);
    }
}

#[tokio::test]
async fn a_copy_is_saving_until_its_job_ends() {
    let api = Api::start(Emulator::builder().job_duration(Duration::from_millis(400))).await;
    let source = api.active("slow").await;
    let reply = api
        .send(
            "POST",
            &format!("/v1/cloudimages/{source}/copy"),
            &[],
            Some(&json!({"name": "c"})),
        )
        .await;
    let job = reply.body["job_id"].as_str().unwrap().to_owned();
    let running = api.job(&job).await.body;
    assert!(running["entities"].get("image_id").is_none(), "{running}");
    let saving: Vec<Value> = api.admin("GET", "images", None).await["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"] == "c")
        .cloned()
        .collect();
    assert_eq!(saving.len(), 1);
    assert_eq!(saving[0]["status"], "saving");
    let done = api.wait_job(&job).await;
    assert_eq!(done["entities"]["image_id"], saving[0]["id"]);
}

#[tokio::test]
async fn cross_region_copies_land_in_the_named_project_of_the_destination() {
    let mut api = world().await;
    let source = api.active("web-base").await;
    let path = format!("/v1/cloudimages/{source}/cross_region_copy");
    for (project, name) in [
        ("ap-southeast-1", "web-sg"),
        ("ap-southeast-1_replicas", "web-sg-2"),
    ] {
        let body = json!({"name": name, "region": "ap-southeast-1", "project_name": project,
            "agency_name": "ims_admin_agency"});
        let job = copy(&api, &path, body).await;
        assert_eq!(job["job_type"], "imsCrossRegionCopyImageJob");
        let id = job["entities"]["image_id"].as_str().unwrap().to_owned();
        assert!(api.image(&id).await.is_none(), "not in the source region");
        let job_id = job["job_id"].as_str().unwrap().to_owned();
        let home = api.project.clone();
        api.act_as(project, "ap-southeast-1");
        let image = api
            .image(&id)
            .await
            .expect("listed in the destination project");
        assert_eq!(image["name"], name);
        assert_eq!(image["status"], "active");
        assert_eq!(image["owner"], api.acting());
        assert_eq!(image["__data_origin"], format!("image,cn-north-4,{source}"));
        assert_eq!(
            api.job(&job_id).await.status,
            404,
            "the job stays in the source project"
        );
        api.project = home;
        api.region = None;
    }
}

#[tokio::test]
async fn refused_copies_create_nothing() {
    let api = world().await;
    let source = api.active("src").await;
    let queued = api.create_ok("queued").await;
    let cross = format!("/v1/cloudimages/{source}/cross_region_copy");
    let ok = json!({"name": "n", "region": "ap-southeast-1", "project_name": "ap-southeast-1",
        "agency_name": "a"});
    let with = |key: &str, value: Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            format!("/v1/cloudimages/{source}/copy"),
            json!({"description": "x"}),
            "IMG.0001",
        ),
        (
            format!("/v1/cloudimages/{queued}/copy"),
            json!({"name": "n"}),
            "IMG.0046",
        ),
        (
            format!("/v1/cloudimages/{source}/copy"),
            json!({"name": "bad name!"}),
            "IMG.0003",
        ),
        (
            cross.clone(),
            with("region", json!("cn-north-4")),
            "IMG.0001",
        ),
        (
            cross.clone(),
            with("region", json!("eu-west-0")),
            "IMG.0001",
        ),
        (cross.clone(), with("agency_name", Value::Null), "IMG.0001"),
        (cross.clone(), with("project_name", Value::Null), "IMG.0104"),
        (
            cross.clone(),
            with("project_name", json!("ap-southeast-1_nope")),
            "IMG.0145",
        ),
    ];
    for (path, body, code) in &cases {
        let reply = api.send("POST", path, &[], Some(body)).await;
        assert_eq!((reply.status, reply.code()), (400, *code), "{path} {body}");
    }
    let encrypted = api
        .send(
            "POST",
            &format!("/v1/cloudimages/{source}/copy"),
            &[],
            Some(&json!({"name": "enc", "cmk_id": "key-1"})),
        )
        .await;
    let job = encrypted.body["job_id"].as_str().unwrap().to_owned();
    let encrypted = api.wait_job(&job).await["entities"]["image_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        api.image(&encrypted).await.unwrap()["__system__cmkid"],
        "key-1"
    );
    let path = format!("/v1/cloudimages/{encrypted}/cross_region_copy");
    let reply = api.send("POST", &path, &[], Some(&ok)).await;
    assert_eq!(
        (reply.status, reply.code()),
        (400, "IMG.0098"),
        "{}",
        reply.body
    );
    let unknown = api
        .send(
            "POST",
            "/v1/cloudimages/nope/copy",
            &[],
            Some(&json!({"name": "n"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let images = api.admin("GET", "images", None).await["images"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(images, 3, "no copy was created besides the encrypted one");
}

#[tokio::test]
async fn at_most_five_cross_region_copies_run_at_once() {
    let api = world().await;
    let source = api.active("busy").await;
    api.emulator.set_faults(Faults {
        job_duration_ms: Some(60_000),
        ..Faults::default()
    });
    let path = format!("/v1/cloudimages/{source}/cross_region_copy");
    let mut codes = Vec::new();
    for i in 0..6 {
        let body = json!({"name": format!("c{i}"), "region": "ap-southeast-1",
            "project_name": "ap-southeast-1", "agency_name": "a"});
        let reply = api.send("POST", &path, &[], Some(&body)).await;
        codes.push((reply.status, reply.code().to_owned()));
    }
    assert_eq!(codes[..5], vec![(200, String::new()); 5][..]);
    assert_eq!(codes[5], (400, "IMG.0060".to_owned()));
    let in_region = api
        .send(
            "POST",
            &format!("/v1/cloudimages/{source}/copy"),
            &[],
            Some(&json!({"name": "n"})),
        )
        .await;
    assert_eq!(
        in_region.status, 200,
        "the limit is on cross-region copies only"
    );
}

#[tokio::test]
async fn injected_job_failures_fail_copies_and_kill_the_copy() {
    let api = world().await;
    let source = api.active("doomed-source").await;
    api.emulator.set_faults(Faults {
        job_failure_rate: 1.0,
        ..Faults::default()
    });
    let body = json!({"name": "doomed-copy"});
    let job = copy(&api, &format!("/v1/cloudimages/{source}/copy"), body).await;
    assert_eq!(job["status"], "FAIL");
    assert_eq!(job["error_code"], "IMG.0046");
    assert!(job["entities"].get("image_id").is_none(), "{job}");
    let images = api.admin("GET", "images", None).await;
    let copy = images["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "doomed-copy")
        .cloned()
        .unwrap();
    assert_eq!(copy["status"], "killed");
}
