//! The poller task behind [`super::JobWatcher`]: one event loop over new watches, finished reads
//! and the next due look. Every request is spawned as its own task and its answer comes back
//! as an event, so a read never waits behind another one and a status look never waits behind
//! a progress read. It keeps at most one list, one status read per job and one progress read
//! per job in flight. Must not decide when to look (that is `schedule.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::schedule::Durations;
use super::{GoneEntry, JobEntry, JobOutcome, JobProgress, Registration, WatchConfig};
use crate::cloud::{CloudApi, CloudError, ImageStatus, Job, JobStatus};

/// A watched job and what the poller knows of it.
#[derive(Debug)]
struct Watched {
    entry: JobEntry,
    /// Since `started`, at the last look that saw the image `saving`.
    seen_running: Option<Duration>,
    /// Since `started`: when the next look should read the cloud's state.
    next_look: Duration,
    /// Since `started`, at the look that saw the image no longer `saving`.
    seen_ended: Option<Duration>,
    /// A status read of the job is in flight.
    reading: bool,
    /// A progress read of the job is in flight.
    reading_progress: bool,
    next_progress: Instant,
    last: Option<Job>,
}

/// A finished request.
enum Done {
    List {
        sent: Instant,
        saving: Result<BTreeSet<String>, CloudError>,
    },
    Job {
        key: u64,
        progress: bool,
        job: Result<Job, CloudError>,
    },
    Gone {
        ids: Vec<String>,
        listed: Result<BTreeSet<String>, CloudError>,
    },
}

struct Poller<C> {
    cloud: Arc<C>,
    config: WatchConfig,
    jobs: BTreeMap<u64, Watched>,
    next_key: u64,
    gone: Vec<GoneEntry>,
    next_gone: Instant,
    durations: Durations,
    reads: JoinSet<Done>,
    listing: bool,
    listing_gone: bool,
    /// Half the last list's round trip: a look is sent this much before the moment it aims at,
    /// which is when the cloud reads its state.
    half_trip: Duration,
}

pub(super) async fn run<C: CloudApi + 'static>(
    cloud: Arc<C>,
    config: WatchConfig,
    mut receiver: mpsc::UnboundedReceiver<Registration>,
) {
    let mut poller = Poller {
        cloud,
        config,
        jobs: BTreeMap::new(),
        next_key: 0,
        gone: Vec::new(),
        next_gone: Instant::now(),
        durations: Durations::default(),
        reads: JoinSet::new(),
        listing: false,
        listing_gone: false,
        half_trip: Duration::ZERO,
    };
    let mut open = true;
    loop {
        poller.drop_abandoned();
        poller.time_out(Instant::now());
        let idle = poller.jobs.is_empty() && poller.gone.is_empty() && poller.reads.is_empty();
        if idle && !open {
            return;
        }
        poller.start_due(Instant::now());
        let wake = poller.next_wake();
        tokio::select! {
            registration = receiver.recv(), if open => match registration {
                Some(registration) => poller.add(registration),
                None => open = false,
            },
            Some(done) = poller.reads.join_next(), if !poller.reads.is_empty() => {
                // A read task that panicked leaves its flag set; the deadline still ends the
                // watch.
                if let Ok(done) = done {
                    poller.finished(done);
                }
            }
            () = sleep_until(wake) => {}
        }
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl<C: CloudApi + 'static> Poller<C> {
    fn add(&mut self, registration: Registration) {
        match registration {
            Registration::Job(entry) => {
                let next_look = self
                    .durations
                    .next_look(Duration::ZERO, self.config.poll_interval);
                let next_progress = entry.started + self.config.progress_every.unwrap_or_default();
                let watched = Watched {
                    entry,
                    seen_running: None,
                    next_look,
                    seen_ended: None,
                    reading: false,
                    reading_progress: false,
                    next_progress,
                    last: None,
                };
                self.jobs.insert(self.next_key, watched);
                self.next_key += 1;
            }
            Registration::Gone(entry) => {
                if self.gone.is_empty() {
                    self.next_gone = Instant::now() + self.config.poll_interval;
                }
                self.gone.push(entry);
            }
        }
    }

    /// Drops the watches nobody waits for any more.
    fn drop_abandoned(&mut self) {
        self.jobs.retain(|_, w| !w.entry.outcome.is_closed());
        self.gone.retain(|entry| !entry.done.is_closed());
    }

    /// Ends the job watches past their deadline.
    fn time_out(&mut self, now: Instant) {
        let late: Vec<u64> = (self.jobs.iter())
            .filter(|(_, w)| now >= w.entry.deadline)
            .map(|(key, _)| *key)
            .collect();
        for key in late {
            if let Some(mut watched) = self.jobs.remove(&key) {
                let outcome = JobOutcome::TimedOut {
                    job_id: watched.entry.job_id.clone(),
                    last: watched.last.take(),
                };
                resolve(watched, outcome);
            }
        }
    }

    /// When a job is due for a look (the list is sent half a round trip early).
    fn look_due(&self, watched: &Watched) -> Option<Instant> {
        let at = watched.entry.started + watched.next_look;
        (!watched.reading).then(|| at.checked_sub(self.half_trip).unwrap_or(at))
    }

    fn progress_due(&self, watched: &Watched) -> Option<Instant> {
        self.config.progress_every?;
        let idle = !watched.reading && !watched.reading_progress;
        idle.then_some(watched.next_progress)
    }

    /// Sends every request that is due now.
    fn start_due(&mut self, now: Instant) {
        let list_due = self.jobs.values().filter_map(|w| self.look_due(w)).min();
        if !self.listing && list_due.is_some_and(|at| at <= now) {
            self.listing = true;
            let cloud = self.cloud.clone();
            self.reads.spawn(async move {
                let saving = cloud.images_in_status(&ImageStatus::Saving).await;
                let saving = saving.map(|images| images.into_iter().map(|i| i.id).collect());
                Done::List { sent: now, saving }
            });
        }
        if let Some(every) = self.config.progress_every {
            let due: Vec<u64> = (self.jobs.iter())
                .filter(|(_, w)| self.progress_due(w).is_some_and(|at| at <= now))
                .map(|(key, _)| *key)
                .collect();
            for key in due {
                self.read_job(key, true);
                if let Some(watched) = self.jobs.get_mut(&key) {
                    watched.next_progress = now + every;
                }
            }
        }
        if !self.listing_gone && !self.gone.is_empty() && self.next_gone <= now {
            self.listing_gone = true;
            let cloud = self.cloud.clone();
            let ids: Vec<String> = self.gone.iter().map(|e| e.image_id.clone()).collect();
            self.reads.spawn(async move {
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let listed = crate::cloud::gone::still_listed(cloud.as_ref(), &refs).await;
                Done::Gone { ids, listed }
            });
        }
    }

    /// Reads job `key` (its progress when `progress`) in its own task.
    fn read_job(&mut self, key: u64, progress: bool) {
        let Some(watched) = self.jobs.get_mut(&key) else {
            return;
        };
        if progress {
            watched.reading_progress = true;
        } else {
            watched.reading = true;
        }
        let (cloud, job_id) = (self.cloud.clone(), watched.entry.job_id.clone());
        self.reads.spawn(async move {
            let job = if progress {
                cloud.job_progress(&job_id).await
            } else {
                cloud.job(&job_id).await
            };
            Done::Job { key, progress, job }
        });
    }

    /// The next moment something is due: a look, a progress read, a delete look, a deadline.
    fn next_wake(&self) -> Option<Instant> {
        let looks = (!self.listing)
            .then(|| self.jobs.values().filter_map(|w| self.look_due(w)).min())
            .flatten();
        let progress = self
            .jobs
            .values()
            .filter_map(|w| self.progress_due(w))
            .min();
        let deadlines = self.jobs.values().map(|w| w.entry.deadline).min();
        let gone = (!self.listing_gone && !self.gone.is_empty()).then_some(self.next_gone);
        [looks, progress, deadlines, gone]
            .into_iter()
            .flatten()
            .min()
    }

    fn finished(&mut self, done: Done) {
        match done {
            Done::List { sent, saving } => self.listed(sent, saving),
            Done::Job { key, progress, job } => self.job_read(key, progress, job),
            Done::Gone { ids, listed } => self.gone_listed(&ids, listed),
        }
    }

    /// A list of the `saving` images came back: every job it covers is looked at.
    fn listed(&mut self, sent: Instant, saving: Result<BTreeSet<String>, CloudError>) {
        self.listing = false;
        let now = Instant::now();
        self.half_trip = (now - sent) / 2;
        let looked_at = sent + self.half_trip;
        let saving = match saving {
            Ok(saving) => saving,
            Err(error) => {
                let error = Arc::new(error);
                for (_, watched) in std::mem::take(&mut self.jobs) {
                    resolve(watched, JobOutcome::Error(error.clone()));
                }
                return;
            }
        };
        let floor = self.config.poll_interval;
        let mut ended = Vec::new();
        for (key, watched) in &mut self.jobs {
            // A watch that began after the list was sent may not be in it yet.
            if watched.reading || watched.entry.started > sent {
                continue;
            }
            let elapsed = looked_at.saturating_duration_since(watched.entry.started);
            if saving.contains(&watched.entry.image_id) {
                watched.seen_running = Some(elapsed);
                watched.next_look = self.durations.next_look(elapsed, floor);
                show(&watched.entry.progress, |progress| {
                    progress.image_status = Some(ImageStatus::Saving);
                    if matches!(progress.job_status, None | Some(JobStatus::Init)) {
                        progress.job_status = Some(JobStatus::Running);
                    }
                });
            } else {
                watched.seen_ended = Some(elapsed);
                ended.push(*key);
            }
        }
        for key in ended {
            self.read_job(key, false);
        }
    }

    /// A job (or its progress) was read.
    fn job_read(&mut self, key: u64, progress: bool, job: Result<Job, CloudError>) {
        let Some(watched) = self.jobs.get_mut(&key) else {
            return;
        };
        if progress {
            watched.reading_progress = false;
        } else {
            watched.reading = false;
        }
        let job = match job {
            Ok(job) => job,
            Err(error) if progress => {
                tracing::debug!(job = %watched.entry.job_id, %error, "progress read failed");
                return;
            }
            Err(error) => return self.resolve(key, JobOutcome::Error(Arc::new(error))),
        };
        match job.status {
            JobStatus::Success => {
                if let (false, Some(ended)) = (progress, watched.seen_ended) {
                    let running = watched.seen_running;
                    self.durations.record(running, ended);
                }
                self.resolve(key, JobOutcome::Succeeded(job));
            }
            JobStatus::Fail => self.resolve(key, JobOutcome::Failed(job)),
            JobStatus::Init | JobStatus::Running => {
                show(&watched.entry.progress, |shown| {
                    shown.job_status = Some(job.status.clone());
                    shown.percent = job.progress.or(shown.percent);
                });
                if let (false, Some(ended)) = (progress, watched.seen_ended.take()) {
                    // Not `saving` yet the job runs (it had not reached the image): look
                    // again as if it had been seen running then.
                    watched.seen_running = Some(ended);
                    watched.next_look = self.durations.next_look(ended, self.config.poll_interval);
                }
                watched.last = Some(job);
            }
        }
    }

    fn resolve(&mut self, key: u64, outcome: JobOutcome) {
        if let Some(watched) = self.jobs.remove(&key) {
            resolve(watched, outcome);
        }
    }

    /// A look at the deleted images came back: which of `ids` are gone.
    fn gone_listed(&mut self, ids: &[String], listed: Result<BTreeSet<String>, CloudError>) {
        self.listing_gone = false;
        let now = Instant::now();
        let (looked, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.gone)
            .into_iter()
            .partition(|entry| ids.contains(&entry.image_id));
        self.gone = waiting;
        let listed = match listed {
            Ok(listed) => listed,
            Err(error) => {
                let error = Arc::new(error);
                for entry in looked {
                    let _ = entry.done.send(Err(error.clone()));
                }
                return;
            }
        };
        for entry in looked {
            if !listed.contains(&entry.image_id) {
                let _ = entry.done.send(Ok(()));
            } else if now >= entry.deadline {
                let error = CloudError::Timeout {
                    what: format!("waiting for deleted image {} to disappear", entry.image_id),
                    after: now - entry.started,
                };
                let _ = entry.done.send(Err(Arc::new(error)));
            } else {
                self.gone.push(entry);
            }
        }
        // The youngest wait sets the pace: a tenth of its age, at least the floor.
        let youngest = self.gone.iter().map(|e| now - e.started).min();
        let gap = youngest.map_or(Duration::ZERO, |age| age / 10);
        self.next_gone = now + gap.max(self.config.poll_interval);
    }
}

/// Applies `change` to what the watch shows; its receiver wakes only when something changed.
fn show(progress: &watch::Sender<JobProgress>, change: impl FnOnce(&mut JobProgress)) {
    progress.send_if_modified(|shown| {
        let before = shown.clone();
        change(shown);
        *shown != before
    });
}

fn resolve(watched: Watched, outcome: JobOutcome) {
    // The receiver may be gone (the caller stopped waiting): nothing left to tell.
    let _ = watched.entry.outcome.send(outcome);
}
