//! A faithful local IMS over real HTTP: for tests, for `imsform emulator` and for the local
//! cloud. Shares only `crate::sign` (canonicalisation), `crate::ims` (limits), `crate::obs`
//! (OBS wire facts) and `crate::atomic_file` with the rest of imsform; never imports plan,
//! apply, state, cloud or manifest.
//!
//! Start one with [`Emulator::builder`]: it binds `127.0.0.1:0` by default (loopback only),
//! serves until dropped, and exposes its URI, credentials, recorded requests, statistics, the
//! world's images and run-time fault injection. One world holds several regions, each served
//! on its own listener (its IMS endpoint, as each Huawei region has its own host), and several
//! IAM projects per region. The files:
//!
//! - `world.rs`: the one state struct and its one entry point; `builder.rs` and `config.rs`:
//!   start-up settings;
//!   `model.rs`: images, jobs, callers, members and what jobs do, as plain data;
//! - `router.rs`: routes and the gate (auth, project, throttling, faults); `server.rs`:
//!   connections;
//! - `auth.rs`, `images.rs`, `update.rs`, `jobs.rs`, `tags.rs`, `list.rs`, `info.rs`;
//! - `members.rs` (sharing) and `copy.rs` (replication), ims-distribution.md;
//! - `faults.rs`, `persist.rs`, `admin.rs`, `reply.rs` (the two error families, and parsing
//!   request bodies);
//! - `obs/`: OBS per region (its own listener per region, objects on disk, the same gate of
//!   statistics, recording and faults), and what registration checks of the object.

mod admin;
mod auth;
mod builder;
mod config;
mod copy;
mod faults;
mod images;
mod info;
mod jobs;
mod list;
mod members;
mod model;
mod obs;
mod persist;
mod reply;
mod router;
mod server;
mod tags;
mod update;
mod world;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::sync::watch;

pub use builder::EmulatorBuilder;
pub use config::{Pagination, Project};
pub use faults::{Faults, RateLimit};
pub use world::RecordedRequest;

use world::Shared;

/// The emulator's pure request parsers (query string, filters, paging, PATCH operations, tag
/// strings, the `Authorization` header), driven by the fuzz targets in `fuzz/`. Not an API:
/// it returns nothing; a panic is the bug a fuzzer looks for.
#[doc(hidden)]
pub fn exercise_request_parsers(
    query: &str,
    header: &str,
    body: &[u8],
    images: Vec<serde_json::Value>,
) {
    list::exercise_query(query, images);
    update::exercise_patch(body);
    let strings = header.split(',').map(str::to_owned).collect();
    let _ = tags::parse_strings(strings);
    let _ = crate::sign::parse_authorization(header);
    let _ = crate::sign::canonical_query(&crate::sign::parse_query(query));
    let _ = crate::sign::canonical_uri(header);
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("the emulator listens on loopback only; {addr} is not a loopback address")]
    NotLoopback { addr: String },
    #[error("invalid listen address {addr:?}: expected IP:PORT such as 127.0.0.1:8787")]
    BadAddress { addr: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("the emulator data file {} is not valid: {source}", path.display())]
    Data {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the emulator data file {} has unknown format version {version}", path.display())]
    DataVersion { path: PathBuf, version: u32 },
    #[error("OBS bucket {name:?}: {reason}")]
    Bucket { name: String, reason: String },
    #[error(
        "project {name:?}: a sub-project is named REGION_SUFFIX with REGION one of the emulator's \
         regions ({regions})"
    )]
    BadProject { name: String, regions: String },
}

/// Parses a `--listen` value and refuses anything but loopback.
pub fn loopback_address(text: &str) -> Result<SocketAddr, EmulatorError> {
    let addr: SocketAddr = text.parse().map_err(|_| EmulatorError::BadAddress {
        addr: text.to_owned(),
    })?;
    if !addr.ip().is_loopback() {
        return Err(EmulatorError::NotLoopback {
            addr: text.to_owned(),
        });
    }
    Ok(addr)
}

/// A running emulator; dropping it stops the server.
pub struct Emulator {
    /// Each region and the address its endpoint listens on, the first region first.
    endpoints: Vec<(String, SocketAddr)>,
    /// Each region and the address its OBS endpoint listens on, in the same order.
    obs_endpoints: Vec<(String, SocketAddr)>,
    shared: Shared,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The OBS objects' directory when it is a temporary one (removed on drop).
    _obs_temp: Option<tempfile::TempDir>,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::new()
    }

    /// `http://127.0.0.1:PORT`: the first region's endpoint.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address())
    }

    /// The first region's address.
    pub fn address(&self) -> SocketAddr {
        // `start` always serves at least one region.
        self.endpoints[0].1
    }

    /// The endpoint of `region`, when the emulator serves it.
    pub fn uri_of(&self, region: &str) -> Option<String> {
        self.endpoints
            .iter()
            .find(|(name, _)| name == region)
            .map(|(_, addr)| format!("http://{addr}"))
    }

    /// Every region with its endpoint, the first region first.
    pub fn endpoints(&self) -> Vec<(String, String)> {
        self.endpoints
            .iter()
            .map(|(region, addr)| (region.clone(), format!("http://{addr}")))
            .collect()
    }

    /// `http://127.0.0.1:PORT`: the first region's OBS endpoint (path-style addressing).
    pub fn obs_uri(&self) -> String {
        format!("http://{}", self.obs_endpoints[0].1)
    }

    /// The OBS endpoint of `region`, when the emulator serves it.
    pub fn obs_uri_of(&self, region: &str) -> Option<String> {
        self.obs_endpoints
            .iter()
            .find(|(name, _)| name == region)
            .map(|(_, addr)| format!("http://{addr}"))
    }

    /// Every region with its OBS endpoint, the first region first.
    pub fn obs_endpoints(&self) -> Vec<(String, String)> {
        self.obs_endpoints
            .iter()
            .map(|(region, addr)| (region.clone(), format!("http://{addr}")))
            .collect()
    }

    /// Creates OBS bucket `name` in `region` while running (the local cloud creates the
    /// buckets its manifests name this way). Nothing to do when it exists there already.
    pub fn create_bucket(&self, region: &str, name: &str) -> Result<(), EmulatorError> {
        let refuse = |reason: String| EmulatorError::Bucket {
            name: name.to_owned(),
            reason,
        };
        if !crate::ims::is_valid_bucket(name) {
            return Err(refuse("not a valid OBS bucket name".into()));
        }
        if self.uri_of(region).is_none() {
            return Err(refuse(format!(
                "{region} is not one of the emulator's regions"
            )));
        }
        self.shared
            .config
            .obs
            .create_bucket(region, name)
            .map_err(|error| refuse(error.to_string()))
    }

    /// The directory holding the OBS buckets and objects.
    pub fn obs_dir(&self) -> &std::path::Path {
        self.shared.config.obs.root()
    }

    /// Every project of every region.
    pub fn projects(&self) -> &[Project] {
        &self.shared.config.projects
    }

    /// The id of the project named `name` (a region's default project is named like it).
    pub fn project_named(&self, name: &str) -> Option<&str> {
        self.projects()
            .iter()
            .find(|project| project.name == name)
            .map(|project| project.id.as_str())
    }

    pub fn access_key(&self) -> &str {
        &self.shared.config.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.shared.config.secret_key
    }

    pub fn project_id(&self) -> &str {
        &self.shared.config.project_id
    }

    pub fn region(&self) -> &str {
        &self.shared.config.region
    }

    /// The IMS requests received so far (the latest 10 000; admin requests excluded), oldest
    /// first, secrets removed.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .peek(|world| world.requests.iter().cloned().collect())
    }

    /// Requests counted by `"METHOD /route/template"`.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.shared.peek(|world| world.stats.clone())
    }

    /// Replaces the fault set.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.peek(|world| world.set_faults(faults));
    }

    /// Every image in every status, as `GET /__emulator/images` shows it: as IMS renders it,
    /// with its region, members and pending delete.
    pub fn images(&self) -> Vec<serde_json::Value> {
        let config = self.shared.config.clone();
        self.shared.peek(|world| {
            world
                .images
                .values()
                .map(|image| admin::with_facts(image, &config))
                .collect()
        })
    }

    /// Empties the world (images, jobs, statistics, recorded requests) and restores the
    /// start-up faults, like `POST /__emulator/reset`.
    pub async fn reset(&self) {
        self.shared.reset().await;
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        self.shared.end_silence();
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.end_silence();
        let _ = self.stop.send(true);
    }
}
