//! [`JobWatcher`]: watches many registration jobs at once for the apply executor, so that no
//! read waits behind another job's read and the cost does not grow with one request per job
//! per tick.
//!
//! # How it polls
//!
//! One poller task (`poller.rs`) serves every watch as an event loop; every request it makes is
//! its own task, so nothing it sends waits behind anything else it sent (the client's rate
//! limiter is the only bound, and at most one list, one read per job and one progress read per
//! job are in flight, so the number of tasks is bounded by the watches).
//!
//! - **Status:** the images whose registration is in flight come from **one** list request
//!   (`GET /v2/cloudimages?status=saving`, a page per 1000 images), sent when the first watched
//!   job is due for a look (`schedule.rs`: about a tenth of its elapsed time apart, aimed at
//!   the end the run's earlier jobs showed). A watched image still `saving` costs nothing more.
//! - **Outcome:** for every image that is no longer `saving`, at once and all together, the job
//!   endpoint (`GET /v1/{project_id}/jobs/{job_id}`): SUCCESS, or FAIL with `error_code` and
//!   `fail_reason`. Its answer resolves the watch at once, so the caller's slot is free the
//!   moment the cloud says so.
//! - **Progress:** the percent comes from the progress endpoint, read for each running job at
//!   most once per `progress_every` (or never), concurrently, never delaying a status look; it
//!   reaches the caller through [`Watching::progress`] (a `watch` channel of [`JobProgress`]).
//!   A progress read that finds the job ended resolves the watch too.
//!
//! A finished job is seen within `max(poll floor, a tenth of its duration)` of its end (plus the
//! two round trips of the list and the job read); see `schedule.rs` for the rule and its caveat.
//!
//! # Guarantees and caveats
//!
//! - Each watch resolves exactly once: `Succeeded`, `Failed`, `TimedOut` at its deadline, or
//!   `Error` when the cloud cannot be read (after the client's own retries); a list failure
//!   resolves every current watch with that error, a job-read failure only its job. A failed
//!   progress read is ignored (the status looks decide).
//! - Dropping a [`Watching`] stops watching that job; the task ends when every
//!   [`JobWatcher`] handle is dropped and no watch remains.
//! - It reads only; it never re-registers or deletes anything.
//!
//! It also watches deleted images until they leave the list ([`JobWatcher::watch_gone`]): all
//! such watches share one full list per look (or one `?id=` read when only one is pending), so
//! parallel deletes do not each poll the project's whole list.

mod poller;
mod schedule;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{CloudApi, CloudError, ImageStatus, Job, JobStatus};

/// Poll cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchConfig {
    /// The shortest gap between two looks at one job (the floor of the adaptive schedule,
    /// `[apply] poll_interval`); also the first gap of the delete waits.
    pub poll_interval: Duration,
    /// How often to read each running job's progress percentage; `None`: never.
    pub progress_every: Option<Duration>,
}

impl WatchConfig {
    /// The floor of the adaptive schedule against a real cloud, where registration jobs take
    /// a minute or more: a tenth of a job is at least this.
    pub const CLOUD_POLL_FLOOR: Duration = Duration::from_secs(1);
    /// The floor on the local cloud (jobs of a fraction of a second over loopback).
    pub const LOCAL_POLL_FLOOR: Duration = Duration::from_millis(20);

    /// For a real cloud: `poll_interval` from `[apply]` (`None`: adaptive), progress every 30 s.
    pub fn cloud(poll_interval: Option<Duration>) -> WatchConfig {
        WatchConfig {
            poll_interval: poll_interval.unwrap_or(WatchConfig::CLOUD_POLL_FLOOR),
            progress_every: Some(Duration::from_secs(30)),
        }
    }

    /// For the local cloud: `poll_interval` from `[apply]` (`None`: adaptive), progress every
    /// second.
    pub fn local(poll_interval: Option<Duration>) -> WatchConfig {
        WatchConfig {
            poll_interval: poll_interval.unwrap_or(WatchConfig::LOCAL_POLL_FLOOR),
            progress_every: Some(Duration::from_secs(1)),
        }
    }
}

impl Default for WatchConfig {
    fn default() -> WatchConfig {
        WatchConfig::cloud(None)
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
    /// Updated whenever a look or a progress read learns something new.
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
    Job(JobEntry),
    Gone(GoneEntry),
}

/// A watched job as the poller keeps it.
#[derive(Debug)]
struct JobEntry {
    image_id: String,
    job_id: String,
    /// When the registration was answered: the job's durations are measured from here.
    started: Instant,
    deadline: Instant,
    progress: watch::Sender<JobProgress>,
    outcome: oneshot::Sender<JobOutcome>,
}

#[derive(Debug)]
struct GoneEntry {
    image_id: String,
    deadline: Instant,
    started: Instant,
    done: oneshot::Sender<Result<(), Arc<CloudError>>>,
}

impl JobWatcher {
    /// Starts the poller task on the current tokio runtime.
    pub fn spawn<C: CloudApi + 'static>(cloud: Arc<C>, config: WatchConfig) -> JobWatcher {
        let (register, receiver) = mpsc::unbounded_channel();
        tokio::spawn(poller::run(cloud, config, receiver));
        JobWatcher { register }
    }

    /// Watches `job_id`, registering the file into `image_id`, until `deadline`; the job is
    /// taken to have started now.
    pub fn watch(&self, image_id: &str, job_id: &str, deadline: Instant) -> Watching {
        self.watch_since(image_id, job_id, Instant::now(), deadline)
    }

    /// [`JobWatcher::watch`] for a job whose registration was answered at `started` (the
    /// durations the schedule learns are measured from there, not from a later save).
    pub fn watch_since(
        &self,
        image_id: &str,
        job_id: &str,
        started: Instant,
        deadline: Instant,
    ) -> Watching {
        let (progress_tx, progress) = watch::channel(JobProgress::default());
        let (outcome_tx, outcome) = oneshot::channel();
        let entry = JobEntry {
            image_id: image_id.to_owned(),
            job_id: job_id.to_owned(),
            started,
            deadline,
            progress: progress_tx,
            outcome: outcome_tx,
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
    /// such watches share one list request per look (one `?id=` read when there is only one).
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
