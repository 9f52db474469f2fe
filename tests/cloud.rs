//! The IMS client against the real emulator over loopback HTTP: every operation, every
//! pagination style, throttling, 5xx bursts, dropped responses, auth failures and slow jobs,
//! and the wire shape of what the client sends (compared with the official SDK's, ims-api.md
//! section 5) read from the emulator's recorded requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use imsform::cli::config::CloudConfig;
use imsform::cloud::{
    AttrUpdate, Client, ClientOptions, CloudApi, CloudError, CreateImage, Credentials, ImageStatus,
    JobOutcome, JobStatus, JobWatcher, RetryPolicy, WatchConfig,
};
use imsform::emulator::{Emulator, EmulatorBuilder, Faults, Pagination, RateLimit};
use imsform::manifest::model::DiskFormat;
use serde_json::Value;
use tokio::time::Instant;

const URL: &str = "my-bucket:images/web.qcow2";
const OS: &str = "Ubuntu 22.04 server 64bit";

fn config(emulator: &Emulator, project: bool) -> CloudConfig {
    CloudConfig {
        region: emulator.region().to_owned(),
        project_id: project.then(|| emulator.project_id().to_owned()),
        endpoint: Some(emulator.uri()),
        iam_endpoint: Some(emulator.uri()),
        local: false,
        insecure: false,
    }
}

fn options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            initial: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            budget: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(5),
        },
        requests_per_second: 0,
        burst: 1,
        page_size: 1000,
        clock: Arc::new(Utc::now),
    }
}

fn aksk(emulator: &Emulator) -> Credentials {
    Credentials::AkSk {
        access_key: emulator.access_key().to_owned(),
        secret_key: emulator.secret_key().to_owned(),
        security_token: None,
    }
}

fn client(emulator: &Emulator) -> Client {
    Client::new(&config(emulator, true), aksk(emulator), options()).unwrap()
}

async fn start(builder: EmulatorBuilder) -> Emulator {
    builder.start().await.unwrap()
}

fn create(name: &str, token: &str) -> CreateImage {
    CreateImage {
        name: name.to_owned(),
        os_version: OS.to_owned(),
        disk_format: DiskFormat::Qcow2,
        min_disk: 40,
        min_ram: 1024,
        protected: false,
        tags: BTreeMap::from([
            ("team".to_owned(), "platform".to_owned()),
            ("imsform-token".to_owned(), token.to_owned()),
        ]),
    }
}

fn count(emulator: &Emulator, route: &str) -> u64 {
    emulator.stats().get(route).copied().unwrap_or(0)
}

fn total(emulator: &Emulator) -> u64 {
    emulator.stats().values().sum()
}

/// Polls the job to its end through the watcher.
async fn wait_job(cloud: &Arc<Client>, image_id: &str, job_id: &str) -> JobOutcome {
    let config = WatchConfig {
        min_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(200),
        progress_every: None,
    };
    let watcher = JobWatcher::spawn(cloud.clone(), config);
    let deadline = Instant::now() + Duration::from_secs(10);
    watcher.watch(image_id, job_id, deadline).outcome().await
}

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

/// The same nine operations made by the official Python SDK, captured on the wire
/// (tests/fixtures/sdk_requests.json, ids replaced by `{image_id}`, `{project_id}`, `{job_id}`).
fn sdk_requests() -> Vec<Value> {
    let text = include_str!("fixtures/sdk_requests.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    fixture["requests"].as_array().unwrap().clone()
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
    let ours = emulator.requests();
    let sdk = sdk_requests();
    assert_eq!(ours.len(), sdk.len());
    for (mine, theirs) in ours.iter().zip(&sdk) {
        let what = format!("{} {}", theirs["method"], theirs["path"]);
        assert_eq!(mine.method, theirs["method"], "{what}");
        assert_eq!(ids(&mine.path), theirs["path"], "{what}");
        assert_eq!(ids(&mine.query), theirs["query"], "{what}");
        let header = |name: &str| mine.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        assert_eq!(
            header("content-type").unwrap(),
            &theirs["content-type"],
            "{what}"
        );
        for name in theirs["signed"].as_str().unwrap().split(';') {
            assert!(header(name).is_some(), "{what}: no {name} header");
        }
        let body: Value = match mine.body.as_slice() {
            [] => Value::Null,
            bytes => serde_json::from_str(&ids(std::str::from_utf8(bytes).unwrap())).unwrap(),
        };
        assert_eq!(body, theirs["body"], "{what}");
    }
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

async fn seed(cloud: &Client, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for index in 0..count {
        let image = cloud
            .create_metadata(&create(&format!("img-{index:03}"), &format!("T{index:03}")))
            .await
            .unwrap();
        ids.push(image.id);
    }
    ids.sort();
    ids
}

async fn listed_ids(cloud: &Client) -> Vec<String> {
    let mut ids: Vec<String> = cloud
        .list_private_images()
        .await
        .unwrap()
        .into_iter()
        .map(|image| image.id)
        .collect();
    ids.sort();
    ids
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
async fn throttling_is_retried_within_the_budget_and_honours_retry_after() {
    let faults = Faults {
        rate_limit: Some(RateLimit {
            per_second: 20.0,
            burst: 2.0,
        }),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let cloud = Arc::new(client(&emulator));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let cloud = cloud.clone();
        tasks.spawn(async move { cloud.list_private_images().await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert!(
        total(&emulator) > 6,
        "no 429 was provoked: {:?}",
        emulator.stats()
    );
}

#[tokio::test]
async fn throttling_beyond_the_budget_gives_up_cleanly() {
    let faults = Faults {
        rate_limit: Some(RateLimit {
            per_second: 0.01,
            burst: 1.0,
        }),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let cloud = client(&emulator);
    cloud.list_private_images().await.unwrap();
    let started = std::time::Instant::now();
    let err = cloud.list_private_images().await.unwrap_err();
    // Retry-After (100 s) exceeds the 5 s budget: give up at once, do not sleep past it.
    assert!(started.elapsed() < Duration::from_secs(2));
    let CloudError::BudgetExhausted { attempts, last } = &err else {
        panic!("{err}")
    };
    assert_eq!(*attempts, 1);
    assert_eq!(last.code(), Some("APIG.0308"));
    assert!(err.to_string().contains("APIG.0308"), "{err}");
}

#[tokio::test]
async fn job_flow_control_is_retried_until_a_slot_frees() {
    let faults = Faults {
        max_running_jobs: Some(1),
        ..Faults::default()
    };
    let emulator = start(
        Emulator::builder()
            .faults(faults)
            .job_duration(Duration::from_millis(300)),
    )
    .await;
    let cloud = client(&emulator);
    let first = cloud.create_metadata(&create("a", "TA")).await.unwrap();
    let second = cloud.create_metadata(&create("b", "TB")).await.unwrap();
    cloud.register(&first.id, URL).await.unwrap();
    let started = std::time::Instant::now();
    cloud.register(&second.id, URL).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(count(&emulator, "PUT /v1/cloudimages/{image_id}/upload") > 2);
}

#[tokio::test]
async fn server_error_bursts_are_retried_for_reads_only() {
    let faults = Faults {
        error_rate: 0.5,
        seed: Some(7),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let cloud = client(&emulator);
    for _ in 0..10 {
        cloud.list_private_images().await.unwrap();
    }
    assert!(total(&emulator) > 10, "no 5xx was provoked");

    emulator.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let err = cloud.get_image("nope").await.unwrap_err();
    let CloudError::BudgetExhausted { attempts, .. } = err else {
        panic!("{err}")
    };
    assert!(attempts > 3, "{attempts}");
    let before = total(&emulator);
    let err = cloud.create_metadata(&create("c", "TC")).await.unwrap_err();
    assert!(matches!(err, CloudError::OutcomeUnknown { .. }), "{err}");
    assert_eq!(total(&emulator), before + 1, "a create must not be re-sent");
}

#[tokio::test]
async fn a_lost_create_is_not_resent_and_is_found_by_its_token() {
    let faults = Faults {
        drop_routes: BTreeMap::from([
            ("POST /v2/images".to_owned(), 1),
            ("GET /v2/cloudimages".to_owned(), 2),
        ]),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let cloud = client(&emulator);
    let err = cloud
        .create_metadata(&create("lost", "01LOST"))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::OutcomeUnknown { .. }), "{err}");
    assert!(err.to_string().contains("not re-sent"), "{err}");
    assert_eq!(count(&emulator, "POST /v2/images"), 1);
    // Reads are idempotent: two dropped answers, then the third attempt succeeds.
    let found = cloud.find_by_tag("imsform-token", "01LOST").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "lost");
    assert_eq!(count(&emulator, "GET /v2/cloudimages"), 3);
}

#[tokio::test]
async fn a_wrong_secret_fails_clearly_after_exactly_one_request() {
    let emulator = start(Emulator::builder()).await;
    let wrong = Credentials::AkSk {
        access_key: emulator.access_key().to_owned(),
        secret_key: "not-the-secret".to_owned(),
        security_token: None,
    };
    let cloud = Client::new(&config(&emulator, true), wrong, options()).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, CloudError::Auth { status: 401, .. }),
        "{text}"
    );
    assert!(
        text.starts_with(
            "the cloud rejected the request signature: check HW_SECRET_KEY (APIG.0301"
        ),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"));
    assert_eq!(total(&emulator), 1);
}

#[tokio::test]
async fn tokens_temporary_credentials_and_clock_skew() {
    let emulator = start(
        Emulator::builder()
            .auth_token("good-token")
            .expired_token("old-token")
            .temporary_credentials("TMPAK", "TMPSK", "SECTOKEN"),
    )
    .await;
    let with = |credentials| Client::new(&config(&emulator, true), credentials, options()).unwrap();
    with(Credentials::Token {
        token: "good-token".into(),
    })
    .list_private_images()
    .await
    .unwrap();
    let err = with(Credentials::Token {
        token: "old-token".into(),
    })
    .list_private_images()
    .await
    .unwrap_err();
    assert!(err.to_string().contains("HW_AUTH_TOKEN"), "{err}");
    assert_eq!(total(&emulator), 2);
    with(Credentials::AkSk {
        access_key: "TMPAK".into(),
        secret_key: "TMPSK".into(),
        security_token: Some("SECTOKEN".into()),
    })
    .list_private_images()
    .await
    .unwrap();

    let mut skewed = options();
    skewed.clock = Arc::new(|| Utc::now() - chrono::Duration::hours(1));
    let cloud = Client::new(&config(&emulator, true), aksk(&emulator), skewed).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    assert!(err.to_string().contains("clock"), "{err}");
}

#[tokio::test]
async fn many_slow_jobs_are_watched_with_one_list_per_tick() {
    let faults = Faults {
        fail_urls: vec!["my-bucket:images/broken.qcow2".into()],
        ..Faults::default()
    };
    let emulator = start(
        Emulator::builder()
            .faults(faults)
            .job_duration(Duration::from_millis(1500)),
    )
    .await;
    let cloud = Arc::new(client(&emulator));
    let config = WatchConfig {
        min_interval: Duration::from_millis(100),
        max_interval: Duration::from_millis(200),
        progress_every: Some(Duration::from_millis(500)),
    };
    let watcher = JobWatcher::spawn(cloud.clone(), config);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut watches = Vec::new();
    for index in 0..8 {
        let image = cloud
            .create_metadata(&create(&format!("j{index}"), &format!("J{index}")))
            .await
            .unwrap();
        let url = if index == 0 {
            "my-bucket:images/broken.qcow2"
        } else {
            URL
        };
        let job = cloud.register(&image.id, url).await.unwrap();
        watches.push(watcher.watch(&image.id, &job, deadline));
    }
    let before = emulator.stats();
    let mut progress = watches[1].progress.clone();
    let mut outcomes = Vec::new();
    for watch in watches {
        outcomes.push(watch.outcome().await);
    }
    let last = progress.borrow_and_update().clone();
    assert!(last.percent.is_some_and(|p| p > 0.0 && p < 1.0), "{last:?}");
    let JobOutcome::Failed(failed) = &outcomes[0] else {
        panic!("{:?}", outcomes[0])
    };
    assert_eq!(failed.error_code.as_deref(), Some("IMG.0057"));
    assert!(failed.fail_reason.is_some());
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| matches!(o, JobOutcome::Succeeded(_))),
        "{outcomes:?}"
    );
    let after = emulator.stats();
    let delta = |route: &str| after.get(route).unwrap_or(&0) - before.get(route).unwrap_or(&0);
    let lists = delta("GET /v2/cloudimages");
    let jobs = delta("GET /v1/{project_id}/jobs/{job_id}");
    let progress_reads = delta("GET /v1/cloudimages/job/{job_id}");
    // 1.5 s of jobs at 100-200 ms ticks: about ten lists for all eight jobs together; the job
    // endpoint only once a job leaves `saving`; progress at most every 500 ms per job.
    assert!(lists <= 15, "{lists} lists");
    assert!(jobs <= 8 * 2, "{jobs} job reads");
    assert!(progress_reads <= 8 * 4, "{progress_reads} progress reads");
}

#[tokio::test]
async fn a_job_past_its_deadline_times_out() {
    let emulator = start(Emulator::builder().job_duration(Duration::from_secs(30))).await;
    let cloud = Arc::new(client(&emulator));
    let image = cloud.create_metadata(&create("slow", "TS")).await.unwrap();
    let job = cloud.register(&image.id, URL).await.unwrap();
    let watcher = JobWatcher::spawn(
        cloud.clone(),
        WatchConfig {
            min_interval: Duration::from_millis(50),
            max_interval: Duration::from_millis(100),
            progress_every: None,
        },
    );
    let outcome = watcher
        .watch(&image.id, &job, Instant::now() + Duration::from_millis(300))
        .outcome()
        .await;
    assert!(
        matches!(outcome, JobOutcome::TimedOut { ref job_id, .. } if *job_id == job),
        "{outcome:?}"
    );
    let progress = cloud.job_progress(&job).await.unwrap();
    assert!(matches!(
        progress.status,
        JobStatus::Init | JobStatus::Running
    ));
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

#[tokio::test]
async fn slow_answers_time_out_per_attempt() {
    let faults = Faults {
        latency_ms: 400,
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().faults(faults)).await;
    let mut options = options();
    options.retry.attempt_timeout = Duration::from_millis(100);
    options.retry.budget = Duration::from_millis(500);
    let cloud = Client::new(&config(&emulator, true), aksk(&emulator), options).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    let CloudError::BudgetExhausted { attempts, last } = &err else {
        panic!("{err}")
    };
    assert!(*attempts > 1, "{attempts}");
    assert!(matches!(**last, CloudError::Timeout { .. }), "{last}");
    let err = cloud.create_metadata(&create("t", "TT")).await.unwrap_err();
    assert!(matches!(err, CloudError::OutcomeUnknown { .. }), "{err}");
}

#[tokio::test]
async fn wait_gone_polls_the_list_until_every_deleted_image_disappears() {
    let emulator = start(Emulator::builder().delete_linger(Duration::from_millis(1500))).await;
    let cloud = client(&emulator);
    let ids = seed(&cloud, 3).await;
    for id in &ids {
        cloud.delete(id).await.unwrap();
    }
    let before = count(&emulator, "GET /v2/cloudimages");
    let short = Instant::now() + Duration::from_millis(200);
    let err = cloud.wait_gone(&ids, short).await.unwrap_err();
    assert!(matches!(err, CloudError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("3 deleted image(s)"), "{err}");
    let deadline = Instant::now() + Duration::from_secs(10);
    cloud.wait_gone(&ids, deadline).await.unwrap();
    assert!(cloud.list_private_images().await.unwrap().is_empty());
    // One list per poll for all three ids, never one request per image.
    let polls = count(&emulator, "GET /v2/cloudimages") - before;
    assert!(polls <= 6, "{polls} list requests");
}

#[tokio::test]
async fn dropped_watches_stop_polling_and_cloud_failures_end_watches() {
    let emulator = start(Emulator::builder().job_duration(Duration::from_secs(30))).await;
    let mut options = options();
    options.retry.budget = Duration::from_millis(300);
    let cloud = Arc::new(Client::new(&config(&emulator, true), aksk(&emulator), options).unwrap());
    let image = cloud.create_metadata(&create("w", "TW")).await.unwrap();
    let job = cloud.register(&image.id, URL).await.unwrap();
    let watcher = JobWatcher::spawn(
        cloud.clone(),
        WatchConfig {
            min_interval: Duration::from_millis(50),
            max_interval: Duration::from_millis(50),
            progress_every: None,
        },
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    drop(watcher.watch(&image.id, &job, deadline));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        count(&emulator, "GET /v2/cloudimages"),
        0,
        "a dropped watch was polled"
    );

    let watching = watcher.watch(&image.id, &job, deadline);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let progress = watching.progress.borrow().clone();
    assert_eq!(
        progress.image_status,
        Some(ImageStatus::Saving),
        "{progress:?}"
    );
    emulator.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let outcome = watching.outcome().await;
    let JobOutcome::Error(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        matches!(*error, CloudError::BudgetExhausted { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_then_named() {
    let emulator = start(Emulator::builder()).await;
    let config = config(&emulator, true);
    let credentials = aksk(&emulator);
    emulator.shutdown().await;
    let mut options = options();
    options.retry.budget = Duration::from_millis(200);
    let cloud = Client::new(&config, credentials, options).unwrap();
    let err = cloud.list_private_images().await.unwrap_err();
    let CloudError::BudgetExhausted { attempts, last } = &err else {
        panic!("{err}")
    };
    assert!(*attempts > 1, "{attempts}");
    assert!(matches!(**last, CloudError::Transport { .. }), "{last}");
    assert!(err.to_string().contains("cannot reach 127.0.0.1:"), "{err}");
    // A create that never left this machine is safe to retry: still a transport failure.
    let err = cloud.create_metadata(&create("x", "TX")).await.unwrap_err();
    assert!(matches!(err, CloudError::BudgetExhausted { .. }), "{err}");
}

#[tokio::test]
async fn parallel_deletes_share_one_list_per_tick() {
    let emulator = start(Emulator::builder().delete_linger(Duration::from_millis(600))).await;
    let cloud = Arc::new(client(&emulator));
    let ids = seed(&cloud, 5).await;
    let watcher = JobWatcher::spawn(
        cloud.clone(),
        WatchConfig {
            min_interval: Duration::from_millis(100),
            max_interval: Duration::from_millis(100),
            progress_every: None,
        },
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut watches = Vec::new();
    for id in &ids {
        cloud.delete(id).await.unwrap();
        watches.push(watcher.watch_gone(id, deadline));
    }
    let started = std::time::Instant::now();
    for watch in watches {
        watch.wait().await.unwrap();
    }
    let lists = count(&emulator, "GET /v2/cloudimages");
    let ticks = started.elapsed().as_millis() / 100 + 2;
    assert!(lists as u128 <= ticks, "{lists} lists in {ticks} ticks");
    assert!(cloud.list_private_images().await.unwrap().is_empty());

    let survivor = seed(&cloud, 1).await;
    let short = Instant::now() + Duration::from_millis(150);
    let err = watcher
        .watch_gone(&survivor[0], short)
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(*err, CloudError::Timeout { .. }), "{err}");
}
