//! Members and copies through the client, against a two-region emulator with consumer
//! projects: clients per region from one factory (each region's project found through its own
//! IAM, one rate limit for all), member jobs with their results, paged member lists, in-region
//! and cross-region copies named by their jobs, and a lost copy answer never re-sent.

use std::collections::BTreeMap;
use std::time::Duration;

use imsform::cli::config::CloudConfig;
use imsform::cloud::distribution::{Answer, CopyInRegion, CopyToRegion, JobReport, MemberStatus};
use imsform::cloud::*;
use imsform::emulator::{Emulator, Faults};
use tokio::time::Instant;

use super::*;

const SOUTH: &str = "ap-southeast-1";
const CONSUMERS: [&str; 3] = ["cn-north-4_a", "cn-north-4_b", "cn-north-4_c"];

async fn world() -> Emulator {
    let mut builder = Emulator::builder()
        .job_duration(Duration::from_millis(100))
        .region("cn-north-4")
        .region(SOUTH);
    for name in CONSUMERS {
        builder = builder.project(name);
    }
    start(builder).await
}

/// A factory whose home region is the emulator's first, with the second region's listener.
fn factory(emulator: &Emulator, options: ClientOptions) -> ClientFactory {
    let south = emulator.uri_of(SOUTH).unwrap();
    ClientFactory::new(&config(emulator, false), aksk(emulator), options)
        .endpoint(SOUTH, &south, &south)
}

fn cadence() -> WatchConfig {
    WatchConfig {
        poll_interval: Duration::from_millis(20),
        progress_every: None,
    }
}

async fn finished(cloud: &Client, job_id: &str) -> JobReport {
    let deadline = Instant::now() + Duration::from_secs(10);
    let report = cloud.wait_job(job_id, &cadence(), deadline).await.unwrap();
    assert_eq!(report.job.status, JobStatus::Success, "{report:?}");
    report
}

async fn active_image(cloud: &Client, name: &str) -> String {
    let image = cloud
        .create_metadata(&create(name, "01TOKEN"))
        .await
        .unwrap();
    let job_id = cloud.register(&image.id, URL).await.unwrap();
    finished(cloud, &job_id).await;
    image.id
}

fn project(emulator: &Emulator, name: &str) -> String {
    emulator.project_named(name).unwrap().to_owned()
}

fn consumer(emulator: &Emulator, name: &str) -> Client {
    let id = project(emulator, name);
    let config = CloudConfig::at_endpoint(&emulator.uri(), emulator.region(), Some(&id));
    Client::new(&config, aksk(emulator), options()).unwrap()
}

#[tokio::test]
async fn each_region_client_finds_its_own_project_and_all_share_one_rate_limit() {
    let emulator = world().await;
    let limited = ClientOptions {
        requests_per_second: 40,
        ..options()
    };
    let factory = factory(&emulator, limited);
    let (north, south) = (
        factory.client("cn-north-4").unwrap(),
        factory.client(SOUTH).unwrap(),
    );
    assert_eq!(north.project_id().await.unwrap(), emulator.project_id());
    assert_eq!(south.project_id().await.unwrap(), project(&emulator, SOUTH));
    assert_eq!(
        count(&emulator, "GET /v3/projects"),
        2,
        "one IAM lookup per region"
    );
    let started = Instant::now();
    for _ in 0..5 {
        north.list_private_images().await.unwrap();
        south.list_private_images().await.unwrap();
    }
    // Ten requests at 40 a second from one bucket (burst 1) need at least 9 intervals.
    assert!(
        started.elapsed() >= Duration::from_millis(9 * 25),
        "{:?}",
        started.elapsed()
    );
    assert!(
        factory.client("eu-west-0").is_ok(),
        "default hosts for an unnamed region"
    );
}

#[tokio::test]
async fn share_accept_and_unshare_with_member_jobs_and_paged_lists() {
    let emulator = world().await;
    let paged = ClientOptions {
        page_size: 1,
        ..options()
    };
    let owner = factory(&emulator, paged).client("cn-north-4").unwrap();
    let image = active_image(&owner, "shared").await;
    let images = vec![image.clone()];
    let mut all: Vec<String> = CONSUMERS
        .iter()
        .map(|name| project(&emulator, name))
        .collect();
    let job_id = owner.add_members(&images, &all).await.unwrap();
    let report = finished(&owner, &job_id).await;
    assert_eq!(report.results.len(), 3);
    assert!(
        report
            .results
            .iter()
            .all(|r| r.image_id == image && !r.failed())
    );
    let before = count(
        &emulator,
        "GET /v1/{project_id}/cloudimages/{image_id}/members",
    );
    let members = owner.members(&image).await.unwrap();
    let pages = count(
        &emulator,
        "GET /v1/{project_id}/cloudimages/{image_id}/members",
    ) - before;
    assert_eq!(pages, 3, "one request per page of one");
    all.sort();
    let ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(ids, all.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(members.iter().all(|m| m.status == MemberStatus::Pending));

    let first = consumer(&emulator, CONSUMERS[0]);
    let job_id = first.answer_shares(&images, Answer::Accept).await.unwrap();
    finished(&first, &job_id).await;
    let second = consumer(&emulator, CONSUMERS[1]);
    let job_id = second.answer_shares(&images, Answer::Reject).await.unwrap();
    finished(&second, &job_id).await;
    let statuses: BTreeMap<String, MemberStatus> = owner
        .members(&image)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.member_id, m.status))
        .collect();
    assert_eq!(
        statuses[&project(&emulator, CONSUMERS[0])],
        MemberStatus::Accepted
    );
    assert_eq!(
        statuses[&project(&emulator, CONSUMERS[1])],
        MemberStatus::Rejected
    );
    assert_eq!(
        statuses[&project(&emulator, CONSUMERS[2])],
        MemberStatus::Pending
    );

    let gone = vec![project(&emulator, CONSUMERS[0])];
    let job_id = owner.remove_members(&images, &gone).await.unwrap();
    assert!(finished(&owner, &job_id).await.results.is_empty());
    assert_eq!(owner.members(&image).await.unwrap().len(), 2);
}

#[tokio::test]
async fn refused_member_batches_are_api_errors_sent_once() {
    let emulator = world().await;
    let owner = client(&emulator);
    let before = total(&emulator);
    let error = owner
        .add_members(&["nope".into()], &[project(&emulator, CONSUMERS[0])])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("IMG.0066"), "{error}");
    assert_eq!(total(&emulator) - before, 1, "a 400 is not retried");
}

#[tokio::test]
async fn copies_in_the_region_and_to_another_are_named_by_their_jobs() {
    let emulator = world().await;
    let factory = factory(&emulator, options());
    let (north, south) = (
        factory.client("cn-north-4").unwrap(),
        factory.client(SOUTH).unwrap(),
    );
    let source = active_image(&north, "web-base").await;
    let copy = CopyInRegion {
        name: "web-base-copy".into(),
        description: Some("a copy".into()),
    };
    let job_id = north.copy_in_region(&source, &copy).await.unwrap();
    let copied = finished(&north, &job_id).await.job.image_id.unwrap();
    let image = north.get_image(&copied).await.unwrap().unwrap();
    assert_eq!(
        (image.name.as_str(), image.status),
        ("web-base-copy", ImageStatus::Active)
    );
    assert_eq!(image.description.as_deref(), Some("a copy"));

    let replica = CopyToRegion {
        name: "web-base-sg".into(),
        description: None,
        region: SOUTH.into(),
        project_name: SOUTH.into(),
        agency_name: "ims_admin_agency".into(),
    };
    let job_id = north.copy_to_region(&source, &replica).await.unwrap();
    let report = finished(&north, &job_id).await;
    let replica_id = report.job.image_id.unwrap();
    assert_eq!(north.get_image(&replica_id).await.unwrap(), None);
    let image = south.get_image(&replica_id).await.unwrap().unwrap();
    assert_eq!(
        (image.name.as_str(), image.status),
        ("web-base-sg", ImageStatus::Active)
    );
    assert!(image.tags.is_empty(), "a copy carries no tags");
    let error = south.job_report(&job_id).await.unwrap_err();
    assert_eq!(
        error.code(),
        Some("IMG.0027"),
        "the job lives in the source region"
    );
}

#[tokio::test]
async fn a_lost_copy_answer_is_outcome_unknown_and_never_resent() {
    let emulator = world().await;
    let north = client(&emulator);
    let source = active_image(&north, "src").await;
    let route = "POST /v1/cloudimages/{image_id}/copy";
    emulator.set_faults(Faults {
        drop_routes: BTreeMap::from([(route.to_owned(), 1)]),
        ..Faults::default()
    });
    let copy = CopyInRegion {
        name: "lost".into(),
        description: None,
    };
    let error = north.copy_in_region(&source, &copy).await.unwrap_err();
    assert!(
        matches!(error, CloudError::OutcomeUnknown { .. }),
        "{error}"
    );
    assert_eq!(count(&emulator, route), 1, "sent once");
    let copies = emulator
        .images()
        .into_iter()
        .filter(|i| i["name"] == "lost")
        .count();
    assert_eq!(copies, 1, "the cloud acted: exactly one copy exists");
}

#[tokio::test]
async fn requests_match_what_the_official_sdk_sends() {
    let emulator = world().await;
    let factory = factory(&emulator, options());
    let owner = factory.client("cn-north-4").unwrap();
    let image = active_image(&owner, "web").await;
    let consumer = project(&emulator, CONSUMERS[0]);
    let (images, projects) = (vec![image.clone()], vec![consumer.clone()]);
    let first = emulator.requests().len();
    owner.add_members(&images, &projects).await.unwrap();
    owner.remove_members(&images, &projects).await.unwrap();
    // Refused (the owner is no member): sent once all the same, which is what is compared.
    let refused = owner.answer_shares(&images, Answer::Accept).await;
    assert_eq!(refused.unwrap_err().code(), Some("IMG.0066"));
    owner.members(&image).await.unwrap();
    let copy = CopyInRegion {
        name: "web-copy".into(),
        description: Some("d".into()),
    };
    owner.copy_in_region(&image, &copy).await.unwrap();
    let replica = CopyToRegion {
        name: "web-sg".into(),
        description: None,
        region: SOUTH.into(),
        project_name: SOUTH.into(),
        agency_name: "ims_admin_agency".into(),
    };
    owner.copy_to_region(&image, &replica).await.unwrap();
    let ids = |text: &str| {
        text.replace(&image, "{image_id}")
            .replace(emulator.project_id(), "{project_id}")
            .replace(&consumer, "{consumer_id}")
    };
    let sdk = sdk_requests(include_str!("../fixtures/sdk_distribution_requests.json"));
    assert_like_the_sdk(&emulator.requests()[first..], &sdk, ids);
}
