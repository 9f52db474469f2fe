//! One world, several regions and projects: each region on its own endpoint, images scoped to
//! their project, projects checked against the endpoint's region, IAM listing every project,
//! and the CLI's start-up line for several regions.

use imsform::emulator::Emulator;
use serde_json::Value;

use crate::support::*;

async fn two_regions() -> Api {
    let builder = Emulator::builder()
        .job_duration(std::time::Duration::from_millis(100))
        .region("cn-north-4")
        .region("cn-south-1")
        .project("cn-north-4_consumer");
    Api::start(builder).await
}

#[tokio::test]
async fn each_region_has_its_endpoint_and_projects_see_only_their_images() {
    let mut api = two_regions().await;
    let endpoints = api.emulator.endpoints();
    let regions: Vec<&str> = endpoints.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(regions, ["cn-north-4", "cn-south-1"]);
    assert_ne!(endpoints[0].1, endpoints[1].1, "one listener per region");
    assert_eq!(api.emulator.uri(), endpoints[0].1);
    let north = api.create_ok("north-image").await;

    api.act_as("cn-south-1", "cn-south-1");
    assert_ne!(api.acting(), api.pid());
    assert!(ids(&api, "/v2/cloudimages", &[]).await.is_empty());
    assert_eq!(
        api.send("GET", &format!("/v2/images/{north}"), &[], None)
            .await
            .status,
        404
    );
    let south = api.create_ok("south-image").await;
    assert_eq!(ids(&api, "/v2/cloudimages", &[]).await, [south]);
    let quota = api.send("GET", "/v1/cloudimages/quota", &[], None).await;
    assert_eq!(quota.body["quotas"]["resources"][0]["used"], 1);

    // The consumer sub-project shares the north region, and sees none of the default's images.
    api.act_as("cn-north-4_consumer", "cn-north-4");
    assert!(ids(&api, "/v2/cloudimages", &[]).await.is_empty());
    // A project is refused on another region's endpoint.
    api.region = Some("cn-south-1".into());
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
    api.act_as("cn-north-4", "cn-north-4");
    assert_eq!(ids(&api, "/v2/cloudimages", &[]).await, [north]);

    let world = api.admin("GET", "images", None).await;
    let mut placed: Vec<(String, String)> = world["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().into(),
                i["__emulator_region"].as_str().unwrap().into(),
            )
        })
        .collect();
    placed.sort();
    assert_eq!(
        placed,
        [
            ("north-image".into(), "cn-north-4".into()),
            ("south-image".into(), "cn-south-1".into())
        ]
    );
}

#[tokio::test]
async fn iam_answers_each_project_by_name_and_project_ids_survive_a_restart() {
    let api = two_regions().await;
    for name in ["cn-north-4", "cn-south-1", "cn-north-4_consumer"] {
        let reply = api
            .send("GET", "/v3/projects", &[("name", name)], None)
            .await;
        let projects = reply.body["projects"].as_array().unwrap();
        assert_eq!(projects.len(), 1, "{name}: {}", reply.body);
        assert_eq!(projects[0]["id"], api.emulator.project_named(name).unwrap());
    }
    let all = api.send("GET", "/v3/projects", &[], None).await;
    assert_eq!(all.body["projects"].as_array().unwrap().len(), 3);
    let again = Emulator::builder()
        .project_id(&api.pid())
        .region("cn-north-4")
        .region("cn-south-1")
        .project("cn-north-4_consumer")
        .start()
        .await
        .unwrap();
    assert_eq!(
        again.projects(),
        api.emulator.projects(),
        "ids are derived, not random"
    );
    let bad = Emulator::builder()
        .region("cn-north-4")
        .project("eu-west-0_x")
        .start()
        .await;
    let message = bad.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("eu-west-0_x") && message.contains("cn-north-4"),
        "{message}"
    );
}

#[test]
fn the_cli_lists_every_region_and_project_when_there_are_several() {
    let line = startup_line(&[
        "--listen",
        "127.0.0.1:0",
        "--region",
        "cn-north-4",
        "--region",
        "ap-southeast-1",
        "--project",
        "cn-north-4_consumer",
    ]);
    let info: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(info["region"], "cn-north-4");
    assert_eq!(info["regions"]["cn-north-4"]["endpoint"], info["endpoint"]);
    assert_eq!(
        info["regions"]["cn-north-4"]["project_id"],
        info["project_id"]
    );
    let other = info["regions"]["ap-southeast-1"]["endpoint"]
        .as_str()
        .unwrap();
    assert!(
        other.starts_with("http://127.0.0.1:") && other != info["endpoint"],
        "{line}"
    );
    let obs = info["regions"]["ap-southeast-1"]["obs_endpoint"]
        .as_str()
        .unwrap();
    assert!(
        obs.starts_with("http://127.0.0.1:") && obs != other,
        "{line}"
    );
    assert_eq!(
        info["regions"]["cn-north-4"]["obs_endpoint"],
        info["obs_endpoint"]
    );
    let names: Vec<&str> = info["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["cn-north-4", "ap-southeast-1", "cn-north-4_consumer"]
    );
}

#[tokio::test]
async fn worlds_saved_before_projects_belong_to_the_first_region_and_members_persist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.json");
    let old = serde_json::json!({"version": 1, "jobs": [], "images": [{
        "id": "11111111-2222-3333-4444-555555555555", "name": "old", "status": "active",
        "protected": false, "container_format": "bare", "disk_format": "zvhd2", "min_disk": 40,
        "min_ram": 0, "os_version": "Ubuntu 22.04 server 64bit",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}]});
    std::fs::write(&path, old.to_string()).unwrap();
    let builder = || {
        Emulator::builder()
            .project_id("0123456789abcdef0123456789abcdef")
            .job_duration(std::time::Duration::from_millis(50))
            .project("cn-north-4_consumer")
            .data_file(&path)
    };
    let api = Api::start(builder()).await;
    let image = "11111111-2222-3333-4444-555555555555";
    assert_eq!(ids(&api, "/v2/cloudimages", &[]).await, [image]);
    let consumer = api
        .emulator
        .project_named("cn-north-4_consumer")
        .unwrap()
        .to_owned();
    let body = serde_json::json!({"images": [image], "projects": [consumer]});
    let reply = api
        .send("POST", "/v1/cloudimages/members", &[], Some(&body))
        .await;
    let job = reply.body["job_id"].as_str().unwrap().to_owned();
    assert_eq!(api.wait_job(&job).await["status"], "SUCCESS");
    api.emulator.shutdown().await;

    let again = Api::start(builder()).await;
    let members = again
        .send("GET", &format!("/v2/images/{image}/members"), &[], None)
        .await;
    assert_eq!(members.body["members"][0]["member_id"], consumer.as_str());
    assert_eq!(
        again.job(&job).await.body["job_type"],
        "imsAddImageMembersJob"
    );
}
