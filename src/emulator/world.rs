//! The emulator's one state struct ([`World`]) and its one entry point ([`Shared::run`]).
//!
//! Everything mutable lives in `World`: images, jobs, faults and their counters, statistics and
//! the recorded requests. `Shared::run` locks it, brings jobs and pending deletes up to the
//! current (tokio) time, runs a synchronous closure, and releases the lock before any await
//! (the closure cannot await), then persists the world if the closure changed it. Time is read
//! from `tokio::time::Instant`, so tests under `tokio::time::pause()` drive jobs by advancing
//! the clock. Owns no HTTP; never imports plan, apply, state or cloud.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::config::Config;
use super::faults::{Faults, TokenBuckets};
use super::persist::{Persisted, Saver};

/// An image's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Saving,
    Active,
    Killed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Saving => "saving",
            Status::Active => "active",
            Status::Killed => "killed",
        }
    }
}

/// One private image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub protected: bool,
    pub container_format: String,
    pub disk_format: String,
    pub min_disk: u32,
    pub min_ram: u64,
    pub os_version: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub active_at: Option<DateTime<Utc>>,
    /// Key/value tags (rendered as `key=value` strings in the image's `tags` array).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Optional string attributes set by PATCH (`__description`, `max_ram`, `__support_kvm`, …).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub data_origin: Option<String>,
    /// Set when deleted: the emulator clock time at which it disappears (not persisted).
    #[serde(skip)]
    pub gone_at: Option<Duration>,
}

/// How a registration job ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Success,
    Fail { code: String, reason: String },
}

/// A registration job; its status is derived from the clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub image_id: String,
    pub image_name: String,
    pub image_url: String,
    pub begin_time: DateTime<Utc>,
    /// Emulator clock time at which the job started.
    pub started: Duration,
    pub duration: Duration,
    pub outcome: Outcome,
    /// Set once the outcome has been applied to the image.
    #[serde(default)]
    pub finished: bool,
}

impl Job {
    /// Progress in 0.0..=1.0 at emulator time `now`.
    pub fn progress(&self, now: Duration) -> f64 {
        if self.duration.is_zero() {
            return 1.0;
        }
        let elapsed = now.saturating_sub(self.started).as_secs_f64();
        (elapsed / self.duration.as_secs_f64()).min(1.0)
    }
}

/// A request as the emulator received it, secrets removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Lower-case names; `authorization`, `x-auth-token` and `x-security-token` are removed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Everything mutable in the emulator.
pub struct World {
    pub images: BTreeMap<String, Image>,
    pub jobs: BTreeMap<String, Job>,
    pub faults: Faults,
    pub buckets: TokenBuckets,
    pub rng: StdRng,
    pub stats: BTreeMap<String, u64>,
    pub requests: Vec<RecordedRequest>,
    /// The emulator clock at the start of the current `run`.
    pub now: Duration,
    /// Set by mutations of persisted data.
    pub dirty: bool,
    generation: u64,
}

impl World {
    fn new(faults: Faults) -> Self {
        let rng = StdRng::seed_from_u64(faults.seed.unwrap_or(0));
        World {
            images: BTreeMap::new(),
            jobs: BTreeMap::new(),
            faults,
            buckets: TokenBuckets::default(),
            rng,
            stats: BTreeMap::new(),
            requests: Vec::new(),
            now: Duration::ZERO,
            dirty: false,
            generation: 0,
        }
    }

    /// Replaces the fault set and reseeds the random source.
    pub fn set_faults(&mut self, faults: Faults) {
        self.rng = StdRng::seed_from_u64(faults.seed.unwrap_or(0));
        self.buckets = TokenBuckets::default();
        self.faults = faults;
    }

    /// Finishes due jobs and removes images whose delete has lingered long enough.
    fn advance(&mut self, now: Duration) {
        self.now = now;
        for job in self.jobs.values_mut() {
            if job.finished || now < job.started + job.duration {
                continue;
            }
            job.finished = true;
            self.dirty = true;
            if let Some(image) = self.images.get_mut(&job.image_id) {
                super::jobs::finish(image, job);
            }
        }
        let before = self.images.len();
        self.images
            .retain(|_, image| image.gone_at.is_none_or(|gone| now < gone));
        if self.images.len() != before {
            self.dirty = true;
        }
    }

    /// Images in every status except those already gone.
    pub fn visible(&self) -> impl Iterator<Item = &Image> {
        self.images.values()
    }
}

/// The handle every request handler gets: immutable configuration plus the locked world.
#[derive(Clone)]
pub struct Shared {
    pub config: Arc<Config>,
    world: Arc<Mutex<World>>,
    origin: tokio::time::Instant,
    saver: Arc<Saver>,
}

impl Shared {
    pub fn new(config: Config, loaded: Option<Persisted>) -> Self {
        let mut world = World::new(config.faults.clone());
        if let Some(persisted) = loaded {
            persisted.restore_into(&mut world.images, &mut world.jobs);
        }
        let saver = Arc::new(Saver::new(config.data_file.clone()));
        Shared {
            config: Arc::new(config),
            world: Arc::new(Mutex::new(world)),
            origin: tokio::time::Instant::now(),
            saver,
        }
    }

    /// The emulator clock: time since start, from tokio's (pausable) clock.
    pub fn clock(&self) -> Duration {
        self.origin.elapsed()
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic inside a closure poisons the lock; the world is still consistent enough to
        // serve (every mutation is a single assignment), so keep going.
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The one entry point: advance the clock, run `f` on the world, persist if it changed.
    pub async fn run<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let (result, snapshot) = {
            let mut world = self.lock();
            world.advance(self.clock());
            let result = f(&mut world);
            let snapshot = if world.dirty && self.saver.enabled() {
                world.dirty = false;
                world.generation += 1;
                Some((
                    world.generation,
                    Persisted::capture(&world.images, &world.jobs),
                ))
            } else {
                world.dirty = false;
                None
            };
            (result, snapshot)
        };
        if let Some((generation, snapshot)) = snapshot {
            self.saver.save(generation, snapshot).await;
        }
        result
    }

    /// Like [`Shared::run`] without persistence, for the synchronous library accessors.
    pub fn peek<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.lock();
        world.advance(self.clock());
        f(&mut world)
    }

    /// Empties the world and restores the start-up faults.
    pub async fn reset(&self) {
        let faults = self.config.faults.clone();
        self.run(move |world| {
            let generation = world.generation;
            *world = World::new(faults);
            world.generation = generation;
            world.dirty = true;
        })
        .await;
    }
}
