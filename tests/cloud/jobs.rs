//! The job watcher and the waits for deleted images.

use std::sync::Arc;
use std::time::Duration;

use imsform::cloud::*;
use imsform::emulator::{Emulator, Faults};
use tokio::time::Instant;

use super::*;

/// Polls the job to its end through the watcher.
pub async fn wait_job(cloud: &Arc<Client>, image_id: &str, job_id: &str) -> JobOutcome {
    let config = WatchConfig {
        poll_interval: Duration::from_millis(50),
        progress_every: None,
    };
    let watcher = JobWatcher::spawn(cloud.clone(), config);
    let deadline = Instant::now() + Duration::from_secs(10);
    watcher.watch(image_id, job_id, deadline).outcome().await
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
        poll_interval: Duration::from_millis(100),
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
    // 1.5 s of jobs, looked at every 100 ms up to 1 s, then a tenth of the elapsed time apart:
    // about fifteen lists for all eight jobs together; the job endpoint only once a job leaves
    // `saving`; progress at most every 500 ms per job.
    assert!(lists <= 18, "{lists} lists");
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
            poll_interval: Duration::from_millis(50),
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
            poll_interval: Duration::from_millis(50),
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
async fn parallel_deletes_share_one_list_per_tick() {
    let emulator = start(Emulator::builder().delete_linger(Duration::from_millis(600))).await;
    let cloud = Arc::new(client(&emulator));
    let ids = seed(&cloud, 5).await;
    let watcher = JobWatcher::spawn(
        cloud.clone(),
        WatchConfig {
            poll_interval: Duration::from_millis(100),
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
