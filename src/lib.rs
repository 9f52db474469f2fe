//! imsform manages Huawei Cloud private images (IMS) as code.
//!
//! The data flows one way:
//!
//! ```text
//! cli (args -> Config) -> manifest::load -> state::Store::open (lock) -> cloud (refresh)
//!    -> plan::plan (pure) -> render -> confirm -> apply (async, bounded) -> state saved per step
//!    -> report -> exit code
//! ```
//!
//! - [`cli`]: argument parsing, `imsform.toml`, one orchestrating file per subcommand.
//! - [`error`]: the top-level error, `#[from]` each module's error, with the command layer's
//!   own errors; imports nothing from [`cli`].
//! - [`manifest`]: YAML manifests, build variables, validation with file:line:col diagnostics,
//!   the validated model.
//! - [`state`]: the state format, the store every command uses, the pending journal, and the
//!   backends below it: the local file (its lock, atomic saves, the backup) or PostgreSQL.
//! - [`atomic_file`]: atomic file replacement, for the state, saved plans and the emulator.
//! - [`ims`]: IMS limits and value sets shared by validation and the emulator.
//! - [`sign`]: SDK-HMAC-SHA256 request signing, shared by the client and the emulator.
//! - [`obs`]: OBS wire facts (signature, XML, limits, storage classes) shared by the OBS client
//!   and the emulator's OBS.
//! - [`upload`]: the local side of uploading an image file: content-addressed keys, streamed
//!   digests and their cache, file fingerprints, upload progress.
//! - [`cloud`]: the IMS client: which cloud to reach ([`cloud::config::CloudConfig`]),
//!   credentials, transport, retries, pagination, job polling, and the [`cloud::CloudApi`] seam
//!   used by plan and apply; and the OBS client ([`cloud::obs`]).
//! - [`adopt`]: taking existing images over: `imsform query`, generated manifests, and the
//!   plan-time checks of `import:` entries (below `cli`, beside `plan`).
//! - [`plan`]: the pure diff engine from (desired, state, remote, options) to a plan, and the
//!   dependency graph of its instances.
//! - [`render`]: human, markdown and JSON renderings of plans and state.
//! - [`planfile`]: saved plans: the JSON plan plus an envelope, read back into the plan.
//! - [`apply`]: the executor: journal, the graph walk with bounded concurrency, progress,
//!   interrupts.
//! - [`emulator`]: a faithful local IMS over real HTTP, for tests and for the local cloud.
//! - [`version`]: the version, git commit and target that `imsform --version` prints.
//!
//! Every managed object is a resource instance (design.md section 11): a typed address
//! ([`manifest::model::InstanceAddress`]), a kind and the kind's attributes. The plan holds one
//! list of changes, one of drift and one of recovery across the kinds; each layer reaches the
//! kinds through one seam (`plan/instance.rs`, `render/instance.rs`, `render/json.rs`,
//! `apply/kinds.rs`), and each kind has one module per layer. No source file imports another
//! that imports it back, and no module imports from a module to its left in the flow above
//! ([`error`] `#[from]`s each module's error and imports nothing from [`cli`]).

pub mod adopt;
pub mod apply;
pub mod atomic_file;
pub mod cli;
pub mod cloud;
pub mod emulator;
pub mod error;
pub mod ims;
pub mod manifest;
pub mod obs;
pub mod plan;
pub mod planfile;
pub mod render;
pub mod sign;
pub mod state;
pub mod upload;
pub mod version;
