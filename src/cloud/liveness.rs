//! Whether each endpoint the client calls is answering: one [`Tracker`] per endpoint (each
//! region's IMS, its IAM, and any future service such as OBS), kept in the run's [`Liveness`]
//! registry, which every client of a [`super::ClientFactory`] shares.
//!
//! # The rule
//!
//! An endpoint is **silent** from the moment it owes an answer: the start of the first attempt
//! sent after its last answer. **Any** answer ends the silence, an error status included (the
//! retry policy deals with those). Time when nothing is asked of it (no attempt in flight, as
//! between two looks at a job) does not count. When the silence reaches
//! `[cloud] unresponsive_timeout` the endpoint is **unresponsive** for the rest of the run:
//! every attempt in flight to it ends at that moment and every later one fails without being
//! sent ([`super::CloudError::Unresponsive`]), so the caller stops its waits at the last saved
//! point and the journal lets the next run resume.
//!
//! Worst case, the run learns this `unresponsive_timeout` after the last answer plus the gaps
//! between attempts (retry backoffs, a second or two each): an attempt does not have to time
//! out (`[cloud] request_timeout`) for the silence to count.
//!
//! [`Silence`] is the timer logic alone, a pure function of the times it is given (unit-tested
//! without a clock, as `jobs/schedule.rs`); [`Tracker`] adds the clock, the lock and the
//! stickiness; [`Liveness`] names the endpoints and tells the run (the apply's progress and
//! its stop) what is silent, what became unresponsive, and each attempt that went unanswered.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// The timer of one endpoint: times are durations since an origin the caller chooses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Silence {
    /// Attempts in flight.
    outstanding: u32,
    /// When the current silence began (`None`: the endpoint owes nothing).
    since: Option<Duration>,
    /// When the last attempt in flight ended without an answer, while none is in flight.
    idle_from: Option<Duration>,
}

impl Silence {
    /// An attempt was sent at `at`.
    pub fn sent(&mut self, at: Duration) {
        if self.outstanding == 0
            && let (Some(since), Some(idle)) = (self.since, self.idle_from.take())
        {
            // Nothing was asked meanwhile: that time is not the endpoint's silence.
            self.since = Some(since + at.saturating_sub(idle));
        }
        self.since.get_or_insert(at);
        self.outstanding += 1;
    }

    /// An attempt got an answer (any status) at `at`.
    pub fn answered(&mut self, at: Duration) {
        self.outstanding = self.outstanding.saturating_sub(1);
        self.idle_from = None;
        self.since = (self.outstanding > 0).then_some(at);
    }

    /// An attempt ended without an answer (timed out, reset, refused, abandoned) at `at`.
    pub fn unanswered(&mut self, at: Duration) {
        self.outstanding = self.outstanding.saturating_sub(1);
        if self.outstanding == 0 && self.since.is_some() {
            self.idle_from = Some(at);
        }
    }

    /// How long the endpoint has been silent at `now`; `None` when it owes nothing.
    pub fn silent_for(&self, now: Duration) -> Option<Duration> {
        let since = self.since?;
        let until = match self.idle_from {
            Some(idle) if self.outstanding == 0 => idle,
            _ => now,
        };
        Some(until.saturating_sub(since))
    }

    /// When the silence reaches `timeout`, while an attempt is in flight (only those can
    /// observe it).
    pub fn deadline(&self, timeout: Duration) -> Option<Duration> {
        (self.outstanding > 0)
            .then_some(self.since)
            .flatten()
            .map(|since| since + timeout)
    }
}

/// An endpoint that stopped answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresponsive {
    /// `IMS (https://ims.cn-north-4.myhuaweicloud.com)`.
    pub endpoint: String,
    pub silent_for: Duration,
}

/// The live timer of one endpoint.
#[derive(Debug)]
pub struct Tracker {
    label: String,
    timeout: Duration,
    origin: Instant,
    silence: Mutex<Silence>,
    unresponsive: OnceLock<Unresponsive>,
    registry: Arc<Shared>,
}

/// One attempt in flight to an endpoint; dropped without [`Attempt::answered`], it counts as
/// unanswered.
#[derive(Debug)]
pub struct Attempt<'a> {
    tracker: &'a Tracker,
    answered: Mutex<bool>,
}

impl Tracker {
    /// `IMS (https://…)`: the endpoint as messages name it.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Silence) -> R) -> R {
        let mut silence = self
            .silence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut silence)
    }

    /// Starts an attempt, or refuses it (nothing is sent) once the endpoint is unresponsive.
    pub fn begin(&self) -> Result<Attempt<'_>, Unresponsive> {
        if let Some(unresponsive) = self.unresponsive.get() {
            return Err(unresponsive.clone());
        }
        let now = self.now();
        self.with(|silence| silence.sent(now));
        Ok(Attempt {
            tracker: self,
            answered: Mutex::new(false),
        })
    }

    /// How long the endpoint has been silent, when it owes an answer.
    pub fn silent_for(&self) -> Option<Duration> {
        let now = self.now();
        self.with(|silence| silence.silent_for(now))
    }

    /// Declares the endpoint unresponsive (once) and tells the registry.
    fn declare(&self, silent_for: Duration) -> Unresponsive {
        let declared = self.unresponsive.get_or_init(|| Unresponsive {
            endpoint: self.label.clone(),
            silent_for,
        });
        let first = declared.clone();
        self.registry.unresponsive.send_if_modified(|current| {
            let new = current.is_none();
            if new {
                *current = Some(first);
            }
            new
        });
        declared.clone()
    }
}

impl Attempt<'_> {
    /// The endpoint answered this attempt (any status).
    pub fn answered(&self) {
        let mut answered = self.answered.lock().unwrap_or_else(|e| e.into_inner());
        if !*answered {
            *answered = true;
            let now = self.tracker.now();
            self.tracker.with(|silence| silence.answered(now));
        }
    }

    /// Resolves when the endpoint's silence reaches the timeout (or it was declared
    /// unresponsive by another attempt): the endpoint is then unresponsive.
    pub async fn expired(&self) -> Unresponsive {
        let tracker = self.tracker;
        loop {
            if let Some(unresponsive) = tracker.unresponsive.get() {
                return unresponsive.clone();
            }
            let deadline = tracker.with(|silence| silence.deadline(tracker.timeout));
            let Some(deadline) = deadline else {
                // Answered meanwhile and nothing else in flight: nothing can expire.
                return std::future::pending().await;
            };
            if tracker.now() >= deadline {
                return tracker.declare(tracker.timeout);
            }
            tokio::time::sleep_until(tracker.origin + deadline).await;
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let answered = *self.answered.lock().unwrap_or_else(|e| e.into_inner());
        if !answered {
            let now = self.tracker.now();
            self.tracker.with(|silence| silence.unanswered(now));
        }
    }
}

/// What the registry shares with its trackers.
#[derive(Debug)]
struct Shared {
    unresponsive: watch::Sender<Option<Unresponsive>>,
    notices: Mutex<VecDeque<String>>,
    noticed: Notify,
}

/// Every endpoint of one run.
#[derive(Debug)]
pub struct Liveness {
    timeout: Duration,
    trackers: Mutex<BTreeMap<String, Arc<Tracker>>>,
    shared: Arc<Shared>,
}

/// Notices kept for the progress display; older ones are dropped.
const NOTICES_KEPT: usize = 100;

impl Liveness {
    /// A registry whose endpoints become unresponsive after `timeout` of silence.
    pub fn new(timeout: Duration) -> Arc<Liveness> {
        Arc::new(Liveness {
            timeout,
            trackers: Mutex::new(BTreeMap::new()),
            shared: Arc::new(Shared {
                unresponsive: watch::channel(None).0,
                notices: Mutex::new(VecDeque::new()),
                noticed: Notify::new(),
            }),
        })
    }

    /// The tracker of `service` (`IMS`, `IAM`, `OBS`) at `base` (scheme, host, port, path
    /// prefix), shared by every client that calls it.
    pub fn tracker(&self, service: &str, base: &str) -> Arc<Tracker> {
        let label = format!("{service} ({base})");
        let mut trackers = self.trackers.lock().unwrap_or_else(|e| e.into_inner());
        trackers
            .entry(label.clone())
            .or_insert_with(|| {
                Arc::new(Tracker {
                    label,
                    timeout: self.timeout,
                    origin: Instant::now(),
                    silence: Mutex::new(Silence::default()),
                    unresponsive: OnceLock::new(),
                    registry: self.shared.clone(),
                })
            })
            .clone()
    }

    /// The first endpoint that became unresponsive, once one has.
    pub fn unresponsive(&self) -> watch::Receiver<Option<Unresponsive>> {
        self.shared.unresponsive.subscribe()
    }

    /// The endpoints silent for at least `at_least`, with how long, by name.
    pub fn silences(&self, at_least: Duration) -> Vec<(String, Duration)> {
        let trackers = self.trackers.lock().unwrap_or_else(|e| e.into_inner());
        trackers
            .values()
            .filter_map(|t| Some((t.label.clone(), t.silent_for()?)))
            .filter(|(_, silent)| *silent >= at_least)
            .collect()
    }

    /// Records a line about an attempt (a timeout, a retry) for the progress display.
    pub fn notice(&self, line: String) {
        let mut notices = self
            .shared
            .notices
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if notices.len() == NOTICES_KEPT {
            notices.pop_front();
        }
        notices.push_back(line);
        drop(notices);
        self.shared.noticed.notify_one();
    }

    /// The notices recorded since the last call, oldest first.
    pub fn take_notices(&self) -> Vec<String> {
        let mut notices = self
            .shared
            .notices
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        notices.drain(..).collect()
    }

    /// Resolves when a notice may be waiting.
    pub async fn noticed(&self) {
        self.shared.noticed.notified().await;
    }
}

#[cfg(test)]
#[path = "liveness_tests.rs"]
mod tests;
