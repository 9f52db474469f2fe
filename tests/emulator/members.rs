//! Sharing (ims-distribution.md section 3): batch add, answer and delete as jobs whose results
//! name the images, both member-list paths with pagination, who may read them, and every
//! synchronous refusal leaving the members unchanged.

use std::time::Duration;

use imsform::emulator::Emulator;
use serde_json::{Value, json};

use crate::support::*;

const CONSUMERS: [&str; 3] = ["cn-north-4_a", "cn-north-4_b", "cn-north-4_c"];

async fn sharing_world(limit: usize) -> Api {
    let mut builder = Emulator::builder()
        .job_duration(Duration::from_millis(100))
        .region("cn-north-4")
        .region("cn-south-1")
        .member_limit(limit);
    for name in CONSUMERS {
        builder = builder.project(name);
    }
    Api::start(builder).await
}

fn id_of(api: &Api, name: &str) -> String {
    api.emulator.project_named(name).unwrap().to_owned()
}

/// Sends a member batch and waits for its job; returns the finished job.
async fn batch(api: &Api, method: &str, body: Value) -> Value {
    let reply = api
        .send(method, "/v1/cloudimages/members", &[], Some(&body))
        .await;
    assert_eq!(reply.status, 200, "{method}: {}", reply.body);
    let job = reply.body["job_id"].as_str().unwrap().to_owned();
    api.wait_job(&job).await
}

async fn members(api: &Api, path: &str, query: &[(&str, &str)]) -> Value {
    let reply = api.send("GET", path, query, None).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.body
}

fn statuses(body: &Value) -> Vec<(String, String)> {
    body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["member_id"].as_str().unwrap().into(),
                m["status"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[tokio::test]
async fn share_accept_and_unshare_through_member_jobs() {
    let mut api = sharing_world(256).await;
    let image = api.active("shared").await;
    let (a, b) = (id_of(&api, CONSUMERS[0]), id_of(&api, CONSUMERS[1]));
    let job = batch(&api, "POST", json!({"images": [image], "projects": [a, b]})).await;
    assert_eq!(job["status"], "SUCCESS");
    assert_eq!(job["job_type"], "imsAddImageMembersJob");
    assert_eq!(job["entities"]["results"].as_array().unwrap().len(), 2);
    assert_eq!(job["entities"]["results"][0]["image_id"], image.as_str());
    assert_eq!(job["entities"]["results"][0]["status"], "success");
    let v2 = format!("/v2/images/{image}/members");
    let v1 = format!("/v1/{}/cloudimages/{image}/members", api.pid());
    let listed = members(&api, &v2, &[]).await;
    let mut expected = vec![
        (a.clone(), "pending".to_owned()),
        (b.clone(), "pending".to_owned()),
    ];
    expected.sort();
    assert_eq!(statuses(&listed), expected);
    assert_eq!(listed["schema"], "/v2/schemas/members");
    assert_eq!(listed["members"][0]["member_type"], "project");
    assert_eq!(members(&api, &v1, &[]).await["members"], listed["members"]);

    // The consumer accepts as itself and sees only its own entry.
    api.act_as(CONSUMERS[0], "cn-north-4");
    let body = json!({"images": [image], "project_id": a, "status": "accepted"});
    let job = batch(&api, "PUT", body).await;
    assert_eq!(job["job_type"], "imsUpdateImageMembersJob");
    assert_eq!(job["entities"]["results"][0]["project_id"], a.as_str());
    let own = members(&api, &v2, &[]).await;
    assert_eq!(statuses(&own), [(a.clone(), "accepted".to_owned())]);
    let one = api.send("GET", &format!("{v2}/{a}"), &[], None).await;
    assert_eq!(
        (one.status, one.body["status"].clone()),
        (200, json!("accepted"))
    );
    assert_eq!(
        api.send("GET", &format!("{v2}/{b}"), &[], None)
            .await
            .status,
        404
    );
    // Nor can it change the share or read the owner's image.
    let refused = api
        .send(
            "POST",
            "/v1/cloudimages/members",
            &[],
            Some(&json!({"images": [image], "projects": [b]})),
        )
        .await;
    assert_eq!((refused.status, refused.code()), (400, "IMG.0106"));

    // A stranger sees nothing.
    api.act_as(CONSUMERS[2], "cn-north-4");
    assert_eq!(api.send("GET", &v2, &[], None).await.status, 404);

    api.act_as("cn-north-4", "cn-north-4");
    let one = api.send("GET", &format!("{v1}/{b}"), &[], None).await;
    assert_eq!(one.body["status"], "pending");
    let job = batch(&api, "DELETE", json!({"images": [image], "projects": [a]})).await;
    assert_eq!(job["job_type"], "imsDelImageMembersJob");
    assert_eq!(job["entities"]["results"], json!([]));
    assert_eq!(
        statuses(&members(&api, &v2, &[]).await),
        [(b, "pending".to_owned())]
    );
    let world = api.admin("GET", "images", None).await;
    assert_eq!(
        world["images"][0]["__emulator_members"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn member_lists_page_by_member_id() {
    let api = sharing_world(256).await;
    let image = api.active("paged").await;
    let mut all: Vec<String> = CONSUMERS.iter().map(|name| id_of(&api, name)).collect();
    batch(&api, "POST", json!({"images": [image], "projects": all})).await;
    all.sort();
    let path = format!("/v1/{}/cloudimages/{image}/members", api.pid());
    let mut seen = Vec::new();
    let mut marker = String::new();
    loop {
        let mut query = vec![("limit", "2")];
        if !marker.is_empty() {
            query.push(("marker", marker.as_str()));
        }
        let page = members(&api, &path, &query).await;
        seen.extend(statuses(&page).into_iter().map(|(id, _)| id));
        assert_eq!(
            page["page_info"]["current_count"],
            page["members"].as_array().unwrap().len()
        );
        match page["page_info"]["next_marker"].as_str() {
            Some(next) => marker = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, all);
    for bad in ["0", "1001", "x"] {
        let reply = api.send("GET", &path, &[("limit", bad)], None).await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "IMG.0001"),
            "limit={bad}"
        );
    }
}

#[tokio::test]
async fn refused_batches_change_nothing() {
    let mut api = sharing_world(2).await;
    let image = api.active("guarded").await;
    let queued = api.create_ok("not-active").await;
    let [a, b, c] = CONSUMERS.map(|name| id_of(&api, name));
    let south = id_of(&api, "cn-south-1");
    let cases = [
        (json!({"images": ["nope"], "projects": [a]}), "IMG.0066"),
        (json!({"images": [queued], "projects": [a]}), "IMG.0046"),
        (json!({"images": [image], "projects": ["ABC"]}), "IMG.0067"),
        (
            json!({"images": [image], "projects": [api.pid()]}),
            "IMG.0076",
        ),
        (json!({"images": [image], "projects": [south]}), "IMG.0108"),
        (
            json!({"images": [image], "projects": [a, b, c]}),
            "IMG.0088",
        ),
        (json!({"images": [image]}), "IMG.0001"),
        (json!({"images": [], "projects": [a]}), "IMG.0001"),
        (
            json!({"images": [image], "projects": [a], "domains": ["d"]}),
            "IMG.0001",
        ),
        (json!({}), "IMG.0001"),
    ];
    for (body, code) in &cases {
        let reply = api
            .send("POST", "/v1/cloudimages/members", &[], Some(body))
            .await;
        assert_eq!((reply.status, reply.code()), (400, *code), "{body}");
    }
    let empty = api
        .send_raw(
            "POST",
            "/v1/cloudimages/members",
            &[],
            "application/json",
            Vec::new(),
        )
        .await;
    assert_eq!(empty.code(), "IMG.0007");
    batch(
        &api,
        "POST",
        json!({"images": [image], "projects": [a, a, b]}),
    )
    .await;

    api.act_as(CONSUMERS[2], "cn-north-4");
    let answers = [
        (
            json!({"images": [image], "project_id": c, "status": "accepted"}),
            "IMG.0066",
        ),
        (
            json!({"images": [image], "project_id": a, "status": "accepted"}),
            "IMG.0067",
        ),
        (
            json!({"images": [image], "project_id": c, "status": "pending"}),
            "IMG.0001",
        ),
        (json!({"images": [image], "status": "accepted"}), "IMG.0001"),
    ];
    for (body, code) in &answers {
        let reply = api
            .send("PUT", "/v1/cloudimages/members", &[], Some(body))
            .await;
        assert_eq!((reply.status, reply.code()), (400, *code), "{body}");
    }
    api.act_as("cn-north-4", "cn-north-4");
    let listed = members(&api, &format!("/v2/images/{image}/members"), &[]).await;
    let mut expected = vec![(a, "pending".to_owned()), (b, "pending".to_owned())];
    expected.sort();
    assert_eq!(
        statuses(&listed),
        expected,
        "only the one accepted batch acted"
    );
    let jobs = api.emulator.stats();
    assert_eq!(jobs.get("POST /v1/cloudimages/members"), Some(&12));
}
