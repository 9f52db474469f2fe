//! What adoption needs of the emulator (issue 21): images in every status reached through the
//! HTTP API (and the admin faults) and listed with `status=`; `__data_origin` of registered
//! images and of copies across regions; and `__imagetype=shared`, the owner's view of what it
//! shares (one request for all of them) and the consumer's of what it accepted.

use std::time::Duration;

use imsform::emulator::Emulator;
use serde_json::{Value, json};

use crate::support::*;

const CONSUMER: &str = "cn-north-4_consumer";

async fn adoption_world() -> Api {
    let builder = Emulator::builder()
        .job_duration(Duration::from_millis(50))
        .region("cn-north-4")
        .region("cn-south-1")
        .project(CONSUMER);
    Api::start(builder).await
}

async fn registered(api: &Api, name: &str, url: &str) -> (String, String) {
    let id = api.create_ok(name).await;
    let reply = api.register(&id, url).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    (id, reply.body["job_id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn every_status_is_reached_through_the_api_and_listed_by_status() {
    let api = adoption_world().await;
    let queued = api.create_ok("never-registered").await;
    let active = api.active("done").await;
    api.admin(
        "POST",
        "faults",
        Some(json!({"fail_urls": ["my-bucket:broken.qcow2"]})),
    )
    .await;
    let (killed, job) = registered(&api, "broken", "my-bucket:broken.qcow2").await;
    assert_eq!(api.wait_job(&job).await["status"], "FAIL");
    api.admin("POST", "faults", Some(json!({"job_duration_ms": 60_000})))
        .await;
    let (saving, _) = registered(&api, "slow", URL).await;
    for (status, id) in [
        ("queued", &queued),
        ("saving", &saving),
        ("active", &active),
        ("killed", &killed),
    ] {
        let found = ids(&api, "/v2/cloudimages", &[("status", status)]).await;
        assert_eq!(found, std::slice::from_ref(id), "{status}");
        let image = api.image(id).await.unwrap();
        assert_eq!(image["status"], status);
    }
    let killed = api.image(&killed).await.unwrap();
    assert!(killed.get("__data_origin").is_none(), "{killed}");
    let queued = api.image(&queued).await.unwrap();
    assert!(queued.get("__data_origin").is_none(), "{queued}");
}

#[tokio::test]
async fn data_origin_names_the_file_or_the_source_image() {
    let api = adoption_world().await;
    let (id, job) = registered(&api, "web", "my-bucket:images/web.qcow2").await;
    api.wait_job(&job).await;
    let image = api.image(&id).await.unwrap();
    assert_eq!(image["__data_origin"], "file,my-bucket:images/web.qcow2");
    let body = json!({
        "name": "web", "region": "cn-south-1", "project_name": "cn-south-1",
        "agency_name": "ims_admin_agency",
    });
    let path = format!("/v1/cloudimages/{id}/cross_region_copy");
    let reply = api.send("POST", &path, &[], Some(&body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let job = api.wait_job(reply.body["job_id"].as_str().unwrap()).await;
    let copy = job["entities"]["image_id"].as_str().unwrap().to_owned();
    let mut south = api;
    south.act_as("cn-south-1", "cn-south-1");
    let copied = south.image(&copy).await.unwrap();
    assert_eq!(copied["__data_origin"], format!("image,cn-north-4,{id}"));
    assert_eq!(copied["status"], "active");
}

fn types(body: &Value) -> Vec<(String, String)> {
    let images = body["images"].as_array().unwrap();
    images
        .iter()
        .map(|i| {
            let id = i["id"].as_str().unwrap().to_owned();
            (id, i["__imagetype"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_owner_finds_what_it_shares_in_one_request_and_the_consumer_what_it_accepted() {
    let mut api = adoption_world().await;
    let shared = api.active("shared").await;
    let private = api.active("private").await;
    let consumer = api.emulator.project_named(CONSUMER).unwrap().to_owned();
    let owner = api.pid();
    let add = json!({"images": [shared], "projects": [consumer]});
    let reply = api
        .send("POST", "/v1/cloudimages/members", &[], Some(&add))
        .await;
    api.wait_job(reply.body["job_id"].as_str().unwrap()).await;
    let mine = [("__imagetype", "shared"), ("owner", owner.as_str())];
    let listed = api.send("GET", "/v2/cloudimages", &mine, None).await;
    assert_eq!(
        types(&listed.body),
        [(shared.clone(), "private".to_owned())]
    );
    let all_private = ids(&api, "/v2/cloudimages", &[("__imagetype", "private")]).await;
    assert_eq!(
        all_private.len(),
        2,
        "a shared image is still the owner's private image"
    );
    assert!(all_private.contains(&private));

    api.act_as(CONSUMER, "cn-north-4");
    let pending = ids(&api, "/v2/cloudimages", &[("__imagetype", "shared")]).await;
    assert!(pending.is_empty(), "not accepted yet");
    let accept = json!({"images": [shared], "project_id": consumer, "status": "accepted"});
    let reply = api
        .send("PUT", "/v1/cloudimages/members", &[], Some(&accept))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    api.wait_job(reply.body["job_id"].as_str().unwrap()).await;
    let seen = api
        .send("GET", "/v2/cloudimages", &[("__imagetype", "shared")], None)
        .await;
    assert_eq!(types(&seen.body), [(shared.clone(), "shared".to_owned())]);
    assert_eq!(seen.body["images"][0]["owner"], owner.as_str());
    assert_eq!(seen.body["images"][0]["visibility"], "shared");
    let own = ids(&api, "/v2/cloudimages", &[("__imagetype", "private")]).await;
    assert!(
        own.is_empty(),
        "an image shared with it is not its private image"
    );
    let by_id = ids(&api, "/v2/cloudimages", &[("id", shared.as_str())]).await;
    assert_eq!(by_id, [shared]);
    let refused = api
        .send("GET", "/v2/cloudimages", &[("__imagetype", "bogus")], None)
        .await;
    assert_eq!((refused.status, refused.code()), (400, "IMG.0024"));
}
