//! Every operation, the wire shape against the official SDK, project lookup, pagination.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use imsform::cloud::*;
use imsform::emulator::{Emulator, Pagination};
use tokio::time::Instant;

use super::jobs::wait_job;
use super::*;

#[tokio::test]
async fn full_lifecycle_through_every_operation() {
    let emulator = start(Emulator::builder().job_duration(Duration::from_millis(300))).await;
    let cloud = Arc::new(client(&emulator));
    let image = cloud
        .create_metadata(&create("web", "01TOKENA"))
        .await
        .unwrap();
    assert_eq!(image.status, ImageStatus::Queued);
    assert_eq!(
        image.tags.get("imsform-token").map(String::as_str),
        Some("01TOKENA")
    );
    assert_eq!(image.os_version.as_deref(), Some(OS));
    let job_id = cloud.register(&image.id, URL).await.unwrap();
    let JobOutcome::Succeeded(job) = wait_job(&cloud, &image.id, &job_id).await else {
        panic!("the job did not succeed")
    };
    assert_eq!(job.status, JobStatus::Success);
    let active = cloud.get_image(&image.id).await.unwrap().unwrap();
    assert_eq!(active.status, ImageStatus::Active);

    let changes = [
        AttrUpdate::Name("web-2".into()),
        AttrUpdate::MinRam(2048),
        AttrUpdate::Description(Some("the web tier".into())),
    ];
    let updated = cloud.update(&image.id, &changes).await.unwrap();
    assert_eq!(updated.name, "web-2");
    assert_eq!(updated.min_ram, 2048);
    assert_eq!(updated.description.as_deref(), Some("the web tier"));
    let cleared = cloud
        .update(&image.id, &[AttrUpdate::Description(None)])
        .await
        .unwrap();
    assert_eq!(cleared.description, None);
    let again = cloud
        .update(&image.id, &[AttrUpdate::Description(None)])
        .await
        .unwrap();
    assert_eq!(again.name, "web-2");
    // The batch's description `replace` hit IMG.0035: one batch, then each op alone (the
    // description again as `add`); removing twice: `remove`, then IMG.0035 read as done.
    assert_eq!(count(&emulator, "PATCH /v2/cloudimages/{image_id}"), 7);

    let set = BTreeMap::from([("tier".to_owned(), "base".to_owned())]);
    cloud
        .update_tags(&image.id, &set, &["team".to_owned()])
        .await
        .unwrap();
    let found = cloud.find_by_tag("tier", "base").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].tags.get("team"), None);
    assert_eq!(
        found[0].tags.get("imsform-token").map(String::as_str),
        Some("01TOKENA")
    );
    assert!(cloud.find_by_tag("tier", "other").await.unwrap().is_empty());

    cloud.delete(&image.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    cloud
        .wait_gone(std::slice::from_ref(&image.id), deadline)
        .await
        .unwrap();
    assert_eq!(cloud.get_image(&image.id).await.unwrap(), None);
    cloud.delete(&image.id).await.unwrap(); // 404: already gone
    assert!(cloud.list_private_images().await.unwrap().is_empty());
}

#[tokio::test]
async fn requests_match_what_the_official_sdk_sends() {
    let emulator = start(Emulator::builder().job_duration(Duration::from_millis(50))).await;
    let cloud = client(&emulator);
    let id = cloud
        .create_metadata(&create("web", "01T"))
        .await
        .unwrap()
        .id;
    let job = cloud.register(&id, URL).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    cloud.job(&job).await.unwrap();
    cloud.job_progress(&job).await.unwrap();
    cloud.find_by_tag("imsform-token", "01T").await.unwrap();
    cloud.get_image(&id).await.unwrap();
    cloud
        .update(&id, &[AttrUpdate::Name("web-2".into())])
        .await
        .unwrap();
    let tier = BTreeMap::from([("tier".to_owned(), "base".to_owned())]);
    cloud.update_tags(&id, &tier, &[]).await.unwrap();
    cloud.delete(&id).await.unwrap();

    let ids = |text: &str| {
        text.replace(&id, "{image_id}")
            .replace(emulator.project_id(), "{project_id}")
            .replace(&job, "{job_id}")
    };
    let sdk = sdk_requests(include_str!("../fixtures/sdk_requests.json"));
    assert_like_the_sdk(&emulator.requests(), &sdk, ids);
}

#[tokio::test]
async fn project_id_is_looked_up_once_through_iam() {
    let emulator = start(Emulator::builder()).await;
    let cloud = Client::new(&config(&emulator, false), aksk(&emulator), options()).unwrap();
    cloud.list_private_images().await.unwrap();
    cloud.list_private_images().await.unwrap();
    assert_eq!(count(&emulator, "GET /v3/projects"), 1);
    assert_eq!(cloud.project_id().await.unwrap(), emulator.project_id());
    let first = &emulator.requests()[0];
    assert_eq!(
        (first.path.as_str(), first.query.as_str()),
        ("/v3/projects", "name=cn-north-4")
    );

    let mut other = config(&emulator, false);
    other.region = "eu-west-0".into();
    let cloud = Client::new(&other, aksk(&emulator), options()).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    assert!(matches!(err, CloudError::Config(_)), "{err}");
    assert!(
        err.to_string().contains("no project named `eu-west-0`"),
        "{err}"
    );
}

#[tokio::test]
async fn every_pagination_style_lists_everything() {
    for style in [Pagination::PageInfo, Pagination::Next, Pagination::None] {
        let emulator = start(Emulator::builder().pagination(style)).await;
        let mut options = options();
        options.page_size = 10;
        let cloud = Client::new(&config(&emulator, true), aksk(&emulator), options).unwrap();
        let mut expected = seed(&cloud, 25).await;
        assert_eq!(listed_ids(&cloud).await, expected, "{style:?}");
        assert_eq!(count(&emulator, "GET /v2/cloudimages"), 3, "{style:?}");
        // An exactly full last page: at most one more (empty) page than ceil(30 / 10).
        let extra = cloud.create_metadata(&create("extra", "TX")).await.unwrap();
        expected.push(extra.id);
        expected.append(&mut seed(&cloud, 4).await);
        expected.sort();
        assert_eq!(listed_ids(&cloud).await, expected, "{style:?}");
        let pages = count(&emulator, "GET /v2/cloudimages") - 3;
        assert!(pages == 3 || pages == 4, "{style:?}: {pages}");
    }
}

#[tokio::test]
async fn os_versions_quota_and_debug() {
    let emulator = start(Emulator::builder().image_quota(7)).await;
    let cloud = client(&emulator);
    let versions = cloud.os_versions().await.unwrap();
    assert!(versions.iter().any(|v| v == OS), "{versions:?}");
    cloud.create_metadata(&create("q", "TQ")).await.unwrap();
    assert_eq!(cloud.quota().await.unwrap(), (1, 7));
    let debug = format!("{cloud:?}");
    assert!(!debug.contains(emulator.secret_key()), "{debug}");
    assert!(debug.contains(emulator.access_key()));
}

#[tokio::test]
async fn the_client_rate_limit_paces_requests() {
    let emulator = start(Emulator::builder()).await;
    let mut options = options();
    options.requests_per_second = 20;
    options.burst = 1;
    let cloud = Client::new(&config(&emulator, true), aksk(&emulator), options).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..5 {
        cloud.list_private_images().await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(cloud.requests_sent(), 5);
}
