//! [`JobWatcher`]: watches many registration jobs at once for the apply executor, at a cost
//! that does not grow with one request per job per tick.
//!
//! # How it polls
//!
//! One poller task serves every watch. Each tick it lists the images whose registration is in
//! flight in **one** request (`GET /v2/cloudimages?status=saving…`, a page per 1000 images).
//! A watched image still `saving` is running and costs nothing more. Only for an image that is
//! no longer `saving` (finished, failed, or not started yet) does it ask the job endpoint
//! (`GET /v1/{project_id}/jobs/{job_id}`), which gives SUCCESS/FAIL with `error_code` and
//! `fail_reason`. Progress percentages come from the progress endpoint at a slower, per-job
//! cadence (`progress_every`, or never). Intervals back off from `min_interval` to
//! `max_interval` and drop back to `min_interval` when a new job is watched.
//!
//! # Guarantees and caveats
//!
//! - Each watch resolves exactly once: `Succeeded`, `Failed`, `TimedOut` at its deadline, or
//!   `Error` when the cloud cannot be read (after the client's own retries); a list failure
//!   resolves every current watch with that error, a job-read failure only its job.
//! - Dropping a [`Watching`] stops watching that job; the task ends when every
//!   [`JobWatcher`] handle is dropped and no watch remains.
//! - It reads only; it never re-registers or deletes anything.
//!
//! It also watches deleted images until they leave the list ([`JobWatcher::watch_gone`]): all
//! such watches share one full list per tick (or one `?id=` read when only one is pending),
//! so parallel deletes do not each poll the project's whole list.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{CloudApi, CloudError, ImageStatus, Job, JobStatus};

/// Poll cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchConfig {
    pub min_interval: Duration,
    pub max_interval: Duration,
    /// How often to read each running job's progress percentage; `None`: never.
    pub progress_every: Option<Duration>,
}

impl Default for WatchConfig {
    fn default() -> WatchConfig {
        WatchConfig {
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            progress_every: Some(Duration::from_secs(30)),
        }
    }
}

/// What is known about a job in flight, for the apply display.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobProgress {
    pub image_status: Option<ImageStatus>,
    pub job_status: Option<JobStatus>,
    /// 0.0-1.0, when the progress endpoint reported one.
    pub percent: Option<f64>,
}

/// How a watched job ended.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    /// `SUCCESS`; `entities.image_id` may be absent.
    Succeeded(Job),
    /// `FAIL`, with `error_code` and `fail_reason` as the cloud gave them.
    Failed(Job),
    /// The deadline passed; `last` is the last job status read, if any.
    TimedOut { job_id: String, last: Option<Job> },
    /// The cloud could not be read. Shared: one list failure ends every watch of the tick.
    Error(Arc<CloudError>),
}

/// A job being watched: its live progress and, at the end, its outcome.
#[derive(Debug)]
pub struct Watching {
    /// Updated on every tick that learns something.
    pub progress: watch::Receiver<JobProgress>,
    outcome: oneshot::Receiver<JobOutcome>,
}

impl Watching {
    /// Waits for the job to end.
    pub async fn outcome(self) -> JobOutcome {
        // The poller resolves every watch before dropping it; a closed channel means the
        // runtime is shutting the task down, reported as a transport failure.
        self.outcome.await.unwrap_or_else(|_| {
            JobOutcome::Error(Arc::new(CloudError::Config(
                "the job watcher stopped before the job ended".into(),
            )))
        })
    }
}

/// A deleted image being watched until it is no longer listed.
#[derive(Debug)]
pub struct GoneWatch {
    done: oneshot::Receiver<Result<(), Arc<CloudError>>>,
}

impl GoneWatch {
    /// Waits until the image is gone, or the deadline or a cloud failure ends the watch.
    pub async fn wait(self) -> Result<(), Arc<CloudError>> {
        self.done.await.unwrap_or_else(|_| {
            Err(Arc::new(CloudError::Config(
                "the job watcher stopped before the image was gone".into(),
            )))
        })
    }
}

/// A handle on the shared poller task; cheap to clone.
#[derive(Debug, Clone)]
pub struct JobWatcher {
    register: mpsc::UnboundedSender<Registration>,
}

#[derive(Debug)]
enum Registration {
    Job(Entry),
    Gone(GoneEntry),
}

#[derive(Debug)]
struct GoneEntry {
    image_id: String,
    deadline: Instant,
    started: Instant,
    done: oneshot::Sender<Result<(), Arc<CloudError>>>,
}

/// Everything the poller watches.
#[derive(Debug, Default)]
struct Watched {
    jobs: Vec<Entry>,
    gone: Vec<GoneEntry>,
}

impl Watched {
    fn is_empty(&self) -> bool {
        self.jobs.is_empty() && self.gone.is_empty()
    }

    fn add(&mut self, registration: Registration) {
        match registration {
            Registration::Job(entry) => self.jobs.push(entry),
            Registration::Gone(entry) => self.gone.push(entry),
        }
    }

    /// Drops the watches nobody waits for any more.
    fn retain_open(&mut self) {
        self.jobs.retain(|entry| !entry.outcome.is_closed());
        self.gone.retain(|entry| !entry.done.is_closed());
    }
}

#[derive(Debug)]
struct Entry {
    image_id: String,
    job_id: String,
    deadline: Instant,
    progress: watch::Sender<JobProgress>,
    outcome: oneshot::Sender<JobOutcome>,
    last: Option<Job>,
    next_progress: Instant,
}

impl JobWatcher {
    /// Starts the poller task on the current tokio runtime.
    pub fn spawn<C: CloudApi + 'static>(cloud: Arc<C>, config: WatchConfig) -> JobWatcher {
        let (register, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(cloud, config, receiver));
        JobWatcher { register }
    }

    /// Watches `job_id`, registering the file into `image_id`, until `deadline`.
    pub fn watch(&self, image_id: &str, job_id: &str, deadline: Instant) -> Watching {
        let (progress_tx, progress) = watch::channel(JobProgress::default());
        let (outcome_tx, outcome) = oneshot::channel();
        let entry = Entry {
            image_id: image_id.to_owned(),
            job_id: job_id.to_owned(),
            deadline,
            progress: progress_tx,
            outcome: outcome_tx,
            last: None,
            next_progress: Instant::now(),
        };
        if let Err(mpsc::error::SendError(Registration::Job(entry))) =
            self.register.send(Registration::Job(entry))
        {
            let error = CloudError::Config("the job watcher has stopped".into());
            let _ = entry.outcome.send(JobOutcome::Error(Arc::new(error)));
        }
        Watching { progress, outcome }
    }

    /// Watches a deleted image until it is no longer listed (deletion is asynchronous). All
    /// such watches share one list request per tick (one `?id=` read when there is only one).
    pub fn watch_gone(&self, image_id: &str, deadline: Instant) -> GoneWatch {
        let (done_tx, done) = oneshot::channel();
        let entry = GoneEntry {
            image_id: image_id.to_owned(),
            deadline,
            started: Instant::now(),
            done: done_tx,
        };
        if let Err(mpsc::error::SendError(Registration::Gone(entry))) =
            self.register.send(Registration::Gone(entry))
        {
            let error = CloudError::Config("the job watcher has stopped".into());
            let _ = entry.done.send(Err(Arc::new(error)));
        }
        GoneWatch { done }
    }
}

async fn run<C: CloudApi>(
    cloud: Arc<C>,
    config: WatchConfig,
    mut receiver: mpsc::UnboundedReceiver<Registration>,
) {
    let mut watched = Watched::default();
    let mut interval = config.min_interval;
    loop {
        if watched.is_empty() {
            match receiver.recv().await {
                Some(registration) => watched.add(registration),
                None => return,
            }
            interval = config.min_interval;
        }
        tokio::time::sleep(interval).await;
        while let Ok(registration) = receiver.try_recv() {
            watched.add(registration);
            interval = config.min_interval;
        }
        watched.retain_open();
        if !watched.jobs.is_empty() {
            let jobs = std::mem::take(&mut watched.jobs);
            watched.jobs = poll_once(cloud.as_ref(), &config, jobs).await;
        }
        if !watched.gone.is_empty() {
            let gone = std::mem::take(&mut watched.gone);
            watched.gone = poll_gone(cloud.as_ref(), gone).await;
        }
        interval = (interval * 2).min(config.max_interval);
    }
}

/// One tick of the delete watches: which of them are still listed. Returns those still there.
async fn poll_gone<C: CloudApi>(cloud: &C, gone: Vec<GoneEntry>) -> Vec<GoneEntry> {
    let ids: Vec<&str> = gone.iter().map(|entry| entry.image_id.as_str()).collect();
    let listed = super::gone::still_listed(cloud, &ids).await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(error) => {
            let error = Arc::new(error);
            for entry in gone {
                let _ = entry.done.send(Err(error.clone()));
            }
            return Vec::new();
        }
    };
    let now = Instant::now();
    let mut remaining = Vec::with_capacity(gone.len());
    for entry in gone {
        if !listed.contains(&entry.image_id) {
            let _ = entry.done.send(Ok(()));
        } else if now >= entry.deadline {
            let error = CloudError::Timeout {
                what: format!("waiting for deleted image {} to disappear", entry.image_id),
                after: now - entry.started,
            };
            let _ = entry.done.send(Err(Arc::new(error)));
        } else {
            remaining.push(entry);
        }
    }
    remaining
}

/// One tick: one list of the `saving` images, then the job endpoint only for watched images
/// that are not `saving`. Returns the entries still running.
async fn poll_once<C: CloudApi>(
    cloud: &C,
    config: &WatchConfig,
    entries: Vec<Entry>,
) -> Vec<Entry> {
    let saving: BTreeSet<String> = match cloud.images_in_status(&ImageStatus::Saving).await {
        Ok(images) => images.into_iter().map(|image| image.id).collect(),
        Err(error) => {
            let error = Arc::new(error);
            for entry in entries {
                let _ = entry.outcome.send(JobOutcome::Error(error.clone()));
            }
            return Vec::new();
        }
    };
    let mut running = Vec::with_capacity(entries.len());
    for entry in entries {
        running.extend(check(cloud, config, entry, &saving).await);
    }
    running
}

/// One watched job in one tick: `Some(entry)` while it runs, `None` once resolved.
async fn check<C: CloudApi>(
    cloud: &C,
    config: &WatchConfig,
    mut entry: Entry,
    saving: &BTreeSet<String>,
) -> Option<Entry> {
    let now = Instant::now();
    let in_flight = saving.contains(&entry.image_id);
    let read = match config.progress_every {
        _ if !in_flight => Some(cloud.job(&entry.job_id).await),
        Some(every) if now >= entry.next_progress => {
            entry.next_progress = now + every;
            Some(cloud.job_progress(&entry.job_id).await)
        }
        _ => None,
    };
    let status = in_flight.then_some(ImageStatus::Saving);
    match read {
        Some(Ok(job)) => match job.status {
            JobStatus::Success => return resolve(entry, JobOutcome::Succeeded(job)),
            JobStatus::Fail => return resolve(entry, JobOutcome::Failed(job)),
            JobStatus::Init | JobStatus::Running => {
                entry.progress.send_modify(|progress| {
                    progress.image_status = status;
                    progress.job_status = Some(job.status.clone());
                    progress.percent = job.progress.or(progress.percent);
                });
                entry.last = Some(job);
            }
        },
        Some(Err(error)) => return resolve(entry, JobOutcome::Error(Arc::new(error))),
        None => entry.progress.send_modify(|progress| {
            progress.image_status = status;
            progress.job_status = Some(JobStatus::Running);
        }),
    }
    if now >= entry.deadline {
        let outcome = JobOutcome::TimedOut {
            job_id: entry.job_id.clone(),
            last: entry.last.take(),
        };
        return resolve(entry, outcome);
    }
    Some(entry)
}

fn resolve(entry: Entry, outcome: JobOutcome) -> Option<Entry> {
    // The receiver may be gone (the caller stopped waiting): nothing left to tell.
    let _ = entry.outcome.send(outcome);
    None
}
