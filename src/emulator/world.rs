//! The emulator's one state struct ([`World`]) and its one entry point ([`Shared::run`]).
//!
//! Everything mutable lives in `World`: images, jobs (their types are `model.rs`), faults and
//! their counters (`faults.rs`), statistics and the recorded requests. `Shared::run` locks it, brings jobs and pending deletes up to the
//! current (tokio) time, runs a synchronous closure, and releases the lock before any await
//! (the closure cannot await), then persists the world if the closure changed it. Time is read
//! from `tokio::time::Instant`, so tests under `tokio::time::pause()` drive jobs by advancing
//! the clock. Owns no HTTP; never imports plan, apply, state or cloud.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use super::config::Config;
use super::faults::{Faults, Injector};
use super::model::{Image, Job, Outcome, finish};
use super::persist::{Persisted, Saver};
use super::reply::ApiError;

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

/// How many requests are kept for [`World::record`]: a long-running emulator must not grow
/// without bound.
pub const RECORD_LIMIT: usize = 10_000;

/// Everything mutable in the emulator.
pub struct World {
    pub images: BTreeMap<String, Image>,
    pub jobs: BTreeMap<String, Job>,
    /// The faults in force, with their token buckets and seeded random source.
    pub faults: Injector,
    /// Per AK: consecutive signature failures and the end of a lock, on the emulator clock.
    pub failures: BTreeMap<String, (u32, Option<Duration>)>,
    pub stats: BTreeMap<String, u64>,
    /// The latest [`RECORD_LIMIT`] requests, oldest first.
    pub requests: VecDeque<RecordedRequest>,
    /// The emulator clock at the start of the current `run`.
    pub now: Duration,
    /// Set by mutations of persisted data.
    pub dirty: bool,
    generation: u64,
}

impl World {
    fn new(faults: Faults) -> Self {
        World {
            images: BTreeMap::new(),
            jobs: BTreeMap::new(),
            faults: Injector::new(faults),
            failures: BTreeMap::new(),
            stats: BTreeMap::new(),
            requests: VecDeque::new(),
            now: Duration::ZERO,
            dirty: false,
            generation: 0,
        }
    }

    /// Records a request, forgetting the oldest beyond [`RECORD_LIMIT`].
    pub fn record(&mut self, request: RecordedRequest) {
        if self.requests.len() == RECORD_LIMIT {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
    }

    /// Replaces the fault set and reseeds the random source.
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = Injector::new(faults);
    }

    /// IMG.0060 when the injected cap on running jobs (those not yet finished) is reached.
    pub fn check_flow_control(&self) -> Result<(), ApiError> {
        let running = self.jobs.values().filter(|job| !job.finished).count();
        self.faults.check_flow_control(running)
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
                finish(image, job);
            }
            if job.outcome == Outcome::Success {
                for id in job.work.member_images() {
                    if let Some(image) = self.images.get_mut(id) {
                        job.work.apply_members(&mut image.members, Utc::now());
                    }
                }
            }
        }
        let before = self.images.len();
        self.images
            .retain(|_, image| image.gone_at.is_none_or(|gone| now < gone));
        if self.images.len() != before {
            self.dirty = true;
        }
    }

    /// The image `id` of `project`, or 404 IMG.0027 (another project's image is not found).
    pub fn image(&self, project: &str, id: &str) -> Result<&Image, ApiError> {
        self.images
            .get(id)
            .filter(|image| image.owner == project)
            .ok_or_else(|| ApiError::no_image(id))
    }

    /// The image `id` of `project` to change, or 404 IMG.0027.
    pub fn image_mut(&mut self, project: &str, id: &str) -> Result<&mut Image, ApiError> {
        self.images
            .get_mut(id)
            .filter(|image| image.owner == project)
            .ok_or_else(|| ApiError::no_image(id))
    }

    /// IMG.0015 when `project` already has `quota` images.
    pub fn check_quota(&self, project: &str, quota: usize) -> Result<(), ApiError> {
        if self.visible(project).count() >= quota {
            return Err(ApiError::bad(
                "IMG.0015",
                "The private image quota is reached.",
            ));
        }
        Ok(())
    }

    /// The images of `project` in every status except those already gone.
    pub fn visible<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a Image> {
        self.images
            .values()
            .filter(move |image| image.owner == project)
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
        for image in world.images.values_mut().filter(|i| i.owner.is_empty()) {
            image.owner.clone_from(&config.project_id);
        }
        for job in world.jobs.values_mut().filter(|j| j.project.is_empty()) {
            job.project.clone_from(&config.project_id);
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

    /// Lifts the `silent` fault, so that the requests it holds end (a stopping server waits
    /// for them).
    pub fn end_silence(&self) {
        self.lock().faults.speak();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::model::{Status, Work};

    fn image(id: &str) -> Image {
        Image {
            id: id.into(),
            name: "n".into(),
            status: Status::Saving,
            protected: false,
            container_format: "bare".into(),
            disk_format: "qcow2".into(),
            min_disk: 40,
            min_ram: 0,
            os_version: crate::ims::DEFAULT_OS_VERSION.into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            active_at: None,
            tags: BTreeMap::new(),
            attributes: BTreeMap::new(),
            size: None,
            checksum: None,
            data_origin: None,
            owner: "p".into(),
            members: BTreeMap::new(),
            gone_at: None,
        }
    }

    #[test]
    fn advancing_finishes_jobs_and_removes_lingering_deletes() {
        let mut world = World::new(Faults::default());
        world.images.insert("a".into(), image("a"));
        let job = Job {
            id: "j".into(),
            image_id: "a".into(),
            image_name: "n".into(),
            image_url: "b:o.qcow2".into(),
            begin_time: Utc::now(),
            started: Duration::ZERO,
            duration: Duration::from_secs(10),
            outcome: Outcome::Fail {
                code: "IMG.0057".into(),
                reason: "r".into(),
            },
            finished: false,
            work: Work::Register,
            project: "p".into(),
        };
        world.jobs.insert("j".into(), job);
        world.advance(Duration::from_secs(9));
        assert_eq!(world.images["a"].status, Status::Saving);
        world.advance(Duration::from_secs(10));
        assert_eq!(world.images["a"].status, Status::Killed);
        assert!(world.jobs["j"].finished && world.dirty);
        if let Some(image) = world.images.get_mut("a") {
            image.gone_at = Some(Duration::from_secs(12));
        }
        world.advance(Duration::from_secs(11));
        assert!(world.images.contains_key("a"));
        world.advance(Duration::from_secs(12));
        assert!(world.images.is_empty());
    }

    #[test]
    fn recording_keeps_the_latest_requests_only() {
        let mut world = World::new(Faults::default());
        for i in 0..RECORD_LIMIT + 5 {
            world.record(RecordedRequest {
                method: "GET".into(),
                path: format!("/{i}"),
                query: String::new(),
                headers: Vec::new(),
                body: Vec::new(),
            });
        }
        assert_eq!(world.requests.len(), RECORD_LIMIT);
        assert_eq!(world.requests[0].path, "/5");
    }
}
