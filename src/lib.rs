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
//! - [`cloud`]: the IMS client: credentials, transport, retries, pagination, job polling, and
//!   the [`cloud::CloudApi`] seam used by plan and apply; and the OBS client ([`cloud::obs`]).
//! - [`plan`]: the pure diff engine from (desired, state, remote, options) to a plan.
//! - [`render`]: human, markdown and JSON renderings of plans and state.
//! - [`planfile`]: saved plans: the JSON plan plus an envelope, read back into the plan.
//! - [`apply`]: the executor: journal, bounded concurrency, progress, interrupts.
//! - [`emulator`]: a faithful local IMS over real HTTP, for tests and for the local cloud.

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
