//! A faithful local IMS over real HTTP: for tests, for `imsform emulator` and for the local
//! cloud. Shares only `crate::sign` (canonicalisation), `crate::ims` (limits) and
//! `crate::atomic_file` with the rest of imsform; never imports plan, apply, state, cloud or
//! manifest.
//!
//! Start one with [`Emulator::builder`]: it binds `127.0.0.1:0` by default (loopback only),
//! serves until dropped, and exposes its URI, credentials, recorded requests, statistics, the
//! world's images and run-time fault injection. The files:
//!
//! - `world.rs`: the one state struct and its one entry point; `config.rs`: start-up settings;
//! - `router.rs`: routes and the gate (auth, throttling, faults); `server.rs`: connections;
//! - `auth.rs`, `images.rs`, `update.rs`, `jobs.rs`, `tags.rs`, `list.rs`, `info.rs`;
//! - `faults.rs`, `persist.rs`, `admin.rs`, `reply.rs` (the two error families).

mod admin;
mod auth;
mod config;
mod faults;
mod images;
mod info;
mod jobs;
mod list;
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
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use tokio::sync::watch;

pub use config::Pagination;
pub use faults::{Faults, RateLimit};
pub use world::RecordedRequest;

use config::Config;
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

fn random_text(length: usize, upper: bool) -> String {
    let text: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(length)
        .map(char::from)
        .collect();
    if upper {
        text.to_ascii_uppercase()
    } else {
        text
    }
}

/// Settings for [`Emulator::start`]; every one has a default.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    listen: SocketAddr,
    config: Config,
}

impl EmulatorBuilder {
    fn new() -> Self {
        EmulatorBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            config: Config {
                access_key: random_text(20, true),
                secret_key: random_text(40, false),
                project_id: uuid::Uuid::new_v4().simple().to_string(),
                region: "cn-north-4".to_owned(),
                temporary: BTreeMap::new(),
                tokens: Vec::new(),
                expired_tokens: Vec::new(),
                job_duration: Duration::from_secs(2),
                delete_linger: Duration::from_secs(1),
                pagination: Pagination::PageInfo,
                os_versions: crate::ims::OS_VERSIONS
                    .iter()
                    .map(|(platform, version)| ((*platform).to_owned(), (*version).to_owned()))
                    .collect(),
                image_quota: 100,
                lockout: None,
                faults: Faults::default(),
                data_file: None,
            },
        }
    }

    /// Where to listen (loopback only; port 0 picks a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The permanent AK/SK to accept (generated by default).
    pub fn credentials(mut self, access_key: &str, secret_key: &str) -> Self {
        self.config.access_key = access_key.to_owned();
        self.config.secret_key = secret_key.to_owned();
        self
    }

    /// Temporary credentials: requests signed with this AK must carry `X-Security-Token`.
    pub fn temporary_credentials(
        mut self,
        access_key: &str,
        secret_key: &str,
        token: &str,
    ) -> Self {
        self.config.temporary.insert(
            access_key.to_owned(),
            (secret_key.to_owned(), token.to_owned()),
        );
        self
    }

    /// An `X-Auth-Token` to accept.
    pub fn auth_token(mut self, token: &str) -> Self {
        self.config.tokens.push(token.to_owned());
        self
    }

    /// An `X-Auth-Token` that has expired (401).
    pub fn expired_token(mut self, token: &str) -> Self {
        self.config.expired_tokens.push(token.to_owned());
        self
    }

    pub fn project_id(mut self, project_id: &str) -> Self {
        self.config.project_id = project_id.to_owned();
        self
    }

    pub fn region(mut self, region: &str) -> Self {
        self.config.region = region.to_owned();
        self
    }

    /// How long a registration job runs (default 2 s).
    pub fn job_duration(mut self, duration: Duration) -> Self {
        self.config.job_duration = duration;
        self
    }

    /// How long a deleted image stays listed (default 1 s).
    pub fn delete_linger(mut self, linger: Duration) -> Self {
        self.config.delete_linger = linger;
        self
    }

    pub fn pagination(mut self, pagination: Pagination) -> Self {
        self.config.pagination = pagination;
        self
    }

    /// Replaces the accepted `(platform, __os_version)` list (default `crate::ims::OS_VERSIONS`).
    pub fn os_versions(mut self, versions: Vec<(String, String)>) -> Self {
        self.config.os_versions = versions;
        self
    }

    /// The private image quota (default 100).
    pub fn image_quota(mut self, quota: usize) -> Self {
        self.config.image_quota = quota;
        self
    }

    /// Lock an access key for `duration` after `failures` consecutive signature failures, as
    /// the gateway does (5 and 5 minutes there). Off by default.
    pub fn lockout(mut self, failures: u32, duration: Duration) -> Self {
        self.config.lockout = Some((failures, duration));
        self
    }

    /// Faults in force from the start (and after a reset).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.config.faults = faults;
        self
    }

    /// Load the world from this JSON file and save it there after every change.
    pub fn data_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.data_file = Some(path.into());
        self
    }

    /// Binds and starts serving.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        if !self.listen.ip().is_loopback() {
            return Err(EmulatorError::NotLoopback {
                addr: self.listen.to_string(),
            });
        }
        let loaded = match &self.config.data_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        if let (Some(path), None) = (&self.config.data_file, &loaded) {
            // Create the file now, so an unwritable location fails the start, not a request.
            persist::save(path, &persist::Persisted::empty()).map_err(|source| {
                EmulatorError::Io {
                    context: format!("writing the emulator data file {}", path.display()),
                    source,
                }
            })?;
        }
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: self.listen,
                source,
            })?;
        let shared = Shared::new(self.config, loaded);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(
            listener,
            router::router(shared.clone()),
            stopped,
        ));
        Ok(Emulator {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }
}

/// A running emulator; dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
    shared: Shared,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::new()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn address(&self) -> SocketAddr {
        self.addr
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

    /// Every image in every status, as IMS renders it.
    pub fn images(&self) -> Vec<serde_json::Value> {
        let config = self.shared.config.clone();
        self.shared.peek(|world| {
            world
                .images
                .values()
                .map(|image| images::render(image, &config))
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
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
