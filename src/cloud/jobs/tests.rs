//! The watcher's scheduling in virtual time (`tokio::time::pause`) against a fake cloud with a
//! fixed round trip per request: ends are seen within the bound, reads of many jobs overlap,
//! slow progress reads never hold a status look back, and the run learns its jobs' duration.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::cloud::{AttrUpdate, CreateImage, JobReport, MemberStatus, RemoteImage};

const TRIP: Duration = Duration::from_millis(75);

/// A cloud of registration jobs with fixed ends; every request takes [`TRIP`] (the state is
/// read at its end, as the emulator's injected latency does).
#[derive(Default)]
struct FakeCloud {
    inner: Mutex<Fake>,
    /// Extra time a progress read takes.
    slow_progress: Duration,
}

#[derive(Default)]
struct Fake {
    /// job id -> (image id, end, fails)
    jobs: BTreeMap<String, (String, Instant, bool)>,
    lists: usize,
    job_reads: usize,
    progress_reads: usize,
    in_flight: usize,
    most_in_flight: usize,
    failing_reads: Vec<String>,
}

impl FakeCloud {
    fn add(&self, job: &str, lasts: Duration, fails: bool) {
        let end = Instant::now() + lasts;
        let mut fake = self.inner.lock().unwrap();
        fake.jobs
            .insert(job.into(), (format!("img-{job}"), end, fails));
    }

    fn fake(&self) -> std::sync::MutexGuard<'_, Fake> {
        self.inner.lock().unwrap()
    }

    async fn read(&self, job_id: &str, progress: bool) -> Result<Job, CloudError> {
        {
            let mut fake = self.fake();
            fake.in_flight += 1;
            fake.most_in_flight = fake.most_in_flight.max(fake.in_flight);
            *if progress {
                &mut fake.progress_reads
            } else {
                &mut fake.job_reads
            } += 1;
        }
        let extra = if progress {
            self.slow_progress
        } else {
            Duration::ZERO
        };
        tokio::time::sleep(TRIP + extra).await;
        let mut fake = self.fake();
        fake.in_flight -= 1;
        if fake.failing_reads.iter().any(|id| id == job_id) {
            return Err(CloudError::Config(format!("cannot read {job_id}")));
        }
        let (_, end, fails) = fake.jobs[job_id].clone();
        let status = match (Instant::now() >= end, fails) {
            (false, _) => JobStatus::Running,
            (true, false) => JobStatus::Success,
            (true, true) => JobStatus::Fail,
        };
        Ok(Job {
            id: job_id.into(),
            error_code: (status == JobStatus::Fail).then(|| "IMG.0057".into()),
            status,
            image_id: None,
            fail_reason: None,
            progress: progress.then_some(0.5),
        })
    }
}

fn unused<T>() -> Result<T, CloudError> {
    Err(CloudError::Config("not used by the watcher".into()))
}

impl CloudApi for FakeCloud {
    async fn list_private_images(&self) -> Result<Vec<RemoteImage>, CloudError> {
        unused()
    }
    async fn find_by_tag(&self, _: &str, _: &str) -> Result<Vec<RemoteImage>, CloudError> {
        unused()
    }
    async fn get_image(&self, _: &str) -> Result<Option<RemoteImage>, CloudError> {
        unused()
    }
    async fn create_metadata(&self, _: &CreateImage) -> Result<RemoteImage, CloudError> {
        unused()
    }
    async fn register(&self, _: &str, _: &str) -> Result<String, CloudError> {
        unused()
    }
    async fn job(&self, job_id: &str) -> Result<Job, CloudError> {
        self.read(job_id, false).await
    }
    async fn job_progress(&self, job_id: &str) -> Result<Job, CloudError> {
        self.read(job_id, true).await
    }
    async fn update(&self, _: &str, _: &[AttrUpdate]) -> Result<RemoteImage, CloudError> {
        unused()
    }
    async fn update_tags(
        &self,
        _: &str,
        _: &BTreeMap<String, String>,
        _: &[String],
    ) -> Result<(), CloudError> {
        unused()
    }
    async fn delete(&self, _: &str) -> Result<(), CloudError> {
        unused()
    }
    async fn members(&self, _: &str) -> Result<BTreeMap<String, MemberStatus>, CloudError> {
        unused()
    }
    async fn add_members(&self, _: &str, _: &[String]) -> Result<String, CloudError> {
        unused()
    }
    async fn remove_members(&self, _: &str, _: &[String]) -> Result<String, CloudError> {
        unused()
    }
    async fn job_report(&self, _: &str) -> Result<JobReport, CloudError> {
        unused()
    }
    async fn images_in_status(&self, status: &ImageStatus) -> Result<Vec<RemoteImage>, CloudError> {
        assert_eq!(*status, ImageStatus::Saving);
        self.fake().lists += 1;
        tokio::time::sleep(TRIP).await;
        let now = Instant::now();
        let fake = self.fake();
        let saving = fake.jobs.values().filter(|(_, end, _)| now < *end);
        Ok(saving.map(|(image, _, _)| image_named(image)).collect())
    }
}

fn image_named(id: &str) -> RemoteImage {
    RemoteImage {
        id: id.into(),
        name: id.into(),
        status: ImageStatus::Saving,
        tags: BTreeMap::new(),
        os_version: None,
        disk_format: None,
        min_disk: 0,
        min_ram: 0,
        description: None,
        protected: false,
        image_url: None,
        copied_from: None,
        checksum: None,
        size: None,
        created_at: None,
        updated_at: None,
        members: None,
    }
}

fn config(poll: u64, progress: Option<u64>) -> WatchConfig {
    WatchConfig {
        poll_interval: Duration::from_millis(poll),
        progress_every: progress.map(Duration::from_millis),
    }
}

/// Starts `count` jobs lasting `lasts` now and returns how long after its end each was seen.
async fn wave(
    cloud: &Arc<FakeCloud>,
    watcher: &JobWatcher,
    name: &str,
    count: usize,
    lasts: Duration,
) -> Vec<Duration> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..count {
        let job = format!("{name}-{index}");
        cloud.add(&job, lasts, false);
        let watching = watcher.watch(&format!("img-{job}"), &job, deadline);
        tasks.spawn(async move {
            let outcome = watching.outcome().await;
            assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
            Instant::now()
        });
    }
    let mut late = Vec::new();
    while let Some(seen) = tasks.join_next().await {
        late.push(seen.unwrap() - (started + lasts));
    }
    late
}

#[tokio::test(start_paused = true)]
async fn ends_are_seen_within_a_tenth_of_a_job_then_sooner_once_learned() {
    let cloud = Arc::new(FakeCloud::default());
    let watcher = JobWatcher::spawn(cloud.clone(), config(10, None));
    let job = Duration::from_secs(10);
    let first = wave(&cloud, &watcher, "a", 10, job).await;
    // The end falls between two looks at most a tenth apart; then the list's and the job
    // read's round trips.
    let bound = job / 10 + 2 * TRIP;
    assert!(first.iter().all(|late| *late <= bound), "{first:?}");
    let lists_first = cloud.fake().lists;
    assert!(lists_first <= 40, "{lists_first} lists for the first wave");
    let mut lists = lists_first;
    let mut late = Vec::new();
    for round in 0..6 {
        late = wave(&cloud, &watcher, &format!("w{round}"), 10, job).await;
        let now = cloud.fake().lists;
        assert!(now - lists <= 2, "wave {round}: {} lists", now - lists);
        lists = now;
    }
    // Learned: the looks are aimed at the end, within the floor and a hundredth of a job.
    let learned = job / 100 * 2 + 2 * TRIP;
    assert!(late.iter().all(|l| *l <= learned), "{late:?}");
    // One job read per job, when its image left `saving`.
    assert_eq!(cloud.fake().job_reads, 70);
}

#[tokio::test(start_paused = true)]
async fn the_reads_of_many_ended_jobs_go_out_together() {
    let cloud = Arc::new(FakeCloud::default());
    let watcher = JobWatcher::spawn(cloud.clone(), config(50, None));
    let late = wave(&cloud, &watcher, "j", 50, Duration::from_secs(2)).await;
    // Fifty reads one after another would take 50 round trips; together they take one.
    assert_eq!(cloud.fake().most_in_flight, 50);
    let bound = Duration::from_millis(200) + 2 * TRIP;
    assert!(late.iter().all(|l| *l <= bound), "{late:?}");
}

#[tokio::test(start_paused = true)]
async fn slow_progress_reads_never_hold_a_status_look_back() {
    let cloud = Arc::new(FakeCloud {
        slow_progress: Duration::from_secs(30),
        ..FakeCloud::default()
    });
    let watcher = JobWatcher::spawn(cloud.clone(), config(50, Some(100)));
    let late = wave(&cloud, &watcher, "p", 5, Duration::from_secs(1)).await;
    let bound = Duration::from_millis(100) + 2 * TRIP;
    assert!(late.iter().all(|l| *l <= bound), "{late:?}");
    // At most one progress read in flight per job: five started, none finished.
    assert_eq!(cloud.fake().progress_reads, 5);
}

#[tokio::test(start_paused = true)]
async fn progress_reaches_the_watch_at_most_once_per_interval() {
    let cloud = Arc::new(FakeCloud::default());
    let watcher = JobWatcher::spawn(cloud.clone(), config(50, Some(1000)));
    cloud.add("q", Duration::from_millis(4500), false);
    let deadline = Instant::now() + Duration::from_secs(60);
    let watching = watcher.watch("img-q", "q", deadline);
    let mut progress = watching.progress.clone();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let shown = progress.borrow_and_update().clone();
    assert_eq!(shown.percent, Some(0.5), "{shown:?}");
    assert_eq!(shown.image_status, Some(ImageStatus::Saving));
    assert!(matches!(watching.outcome().await, JobOutcome::Succeeded(_)));
    // Reads at 1, 2, 3 and 4 s: one a second.
    assert_eq!(cloud.fake().progress_reads, 4);
}

#[tokio::test(start_paused = true)]
async fn failures_resolve_only_their_own_watch() {
    let cloud = Arc::new(FakeCloud::default());
    let watcher = JobWatcher::spawn(cloud.clone(), config(50, None));
    let deadline = Instant::now() + Duration::from_secs(60);
    cloud.add("ok", Duration::from_secs(1), false);
    cloud.add("bad", Duration::from_secs(1), true);
    cloud.add("unreadable", Duration::from_secs(1), false);
    cloud.fake().failing_reads.push("unreadable".into());
    cloud.add("slow", Duration::from_secs(30), false);
    let ok = watcher.watch("img-ok", "ok", deadline);
    let bad = watcher.watch("img-bad", "bad", deadline);
    let unreadable = watcher.watch("img-unreadable", "unreadable", deadline);
    let short = Instant::now() + Duration::from_secs(5);
    let slow = watcher.watch("img-slow", "slow", short);
    assert!(matches!(ok.outcome().await, JobOutcome::Succeeded(_)));
    let JobOutcome::Failed(job) = bad.outcome().await else {
        panic!("not failed")
    };
    assert_eq!(job.error_code.as_deref(), Some("IMG.0057"));
    assert!(matches!(unreadable.outcome().await, JobOutcome::Error(_)));
    let outcome = slow.outcome().await;
    assert!(
        matches!(outcome, JobOutcome::TimedOut { ref job_id, .. } if job_id == "slow"),
        "{outcome:?}"
    );
    assert_eq!(Instant::now(), short);
}
