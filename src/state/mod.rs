//! The state (`imsform.state.json`, or a PostgreSQL workspace): its format, the store every
//! command uses, the lock and the journal of operations in flight (design.md sections 4, 6, 9).
//!
//! This file owns the types of the format and the module's error, and [`read`] hands reading to
//! the backend; it does no I/O itself. The contract of
//! reading, locking and saving is documented on [`store`]; the lock on [`lock`]; parsing and the
//! refusals on [`format`].
//!
//! - [`store::Store`]: the one way a command that may write opens, locks and saves the state.
//! - [`backend`]: where the state lives: the local file, or a PostgreSQL workspace.
//! - [`lock`]: the holder info every backend shows; the local file's OS lock and `force-unlock`.
//! - [`format`]: bytes to a checked [`State`] (duplicate keys, versions, migration) and back.
//! - [`schema`]: `schema/state.schema.json`, generated from these types.

pub mod backend;
pub mod format;
pub mod lock;
pub mod schema;
pub mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use backend::Location;
pub use lock::{LockInfo, LockOptions};
pub use store::Store;

use crate::manifest::model::{Address, ImageAttrs};

/// The format this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole state: one JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "imsform state", extend("$id" = schema::SCHEMA_ID))]
pub struct State {
    /// The format of this file; this schema describes format 1.
    #[schemars(extend("const" = 1))]
    pub format_version: u32,
    /// A UUID (v4) fixed when the state is created; never changes afterwards.
    #[schemars(extend("format" = "uuid"))]
    pub lineage: String,
    /// Bumped on every write that changes content.
    pub serial: u64,
    /// The imsform version that last wrote the state.
    pub imsform_version: String,
    pub images: BTreeMap<Address, ImageRecord>,
    /// The journal of operations in flight.
    #[serde(default)]
    pub pending: Vec<PendingEntry>,
}

/// One managed image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageRecord {
    pub id: String,
    /// The attributes as last applied.
    pub attributes: ImageAttrs,
    /// What the last refresh or apply saw of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
    /// Set when the image must be replaced by the next apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tainted: Option<Taint>,
}

/// What was last observed of an image in the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// Why an image is tainted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Taint {
    /// e.g. the registration job's `error_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub reason: String,
}

/// One operation in flight, written before its first call to the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingEntry {
    pub address: Address,
    pub operation: PendingOperation,
    /// RFC 3339.
    pub started_at: String,
}

/// The journaled operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PendingOperation {
    /// Create-then-register of a new image for the address (design.md section 6).
    Create {
        /// 26 characters; also the value of the reserved `imsform-token` tag on the image.
        token: String,
        /// The attributes being created (boxed: the variants differ a lot in size).
        attributes: Box<ImageAttrs>,
        /// Set once `POST /v2/images` answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_id: Option<String>,
        /// Set once the registration job was started.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        /// For create-before-destroy: the image this one replaces, deleted after success.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
    },
    /// Delete of an image no longer bound to an address (e.g. the old half of a replace).
    Delete { image_id: String },
}

impl State {
    /// An empty state of the current format with the given lineage and serial 0.
    pub fn new(lineage: String) -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage,
            serial: 0,
            imsform_version: IMSFORM_VERSION.to_owned(),
            images: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// Whether `other` holds the same content: everything but `serial` and `imsform_version`,
    /// which a save sets itself.
    pub fn same_content(&self, other: &State) -> bool {
        self.format_version == other.format_version
            && self.lineage == other.lineage
            && self.images == other.images
            && self.pending == other.pending
    }

    /// This state without its images and journal: the workspace's metadata (format, lineage,
    /// serial, version, identity). Every field is named here, without `..`, so that a field
    /// added to [`State`] must be placed on purpose: a backend that stores images and journal
    /// entries as rows keeps the shell as one document, so new metadata needs no new column.
    pub fn shell(&self) -> State {
        State {
            format_version: self.format_version,
            lineage: self.lineage.clone(),
            serial: self.serial,
            imsform_version: self.imsform_version.clone(),
            images: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// Whether an operation for `address` is in flight.
    pub fn has_pending(&self, address: &Address) -> bool {
        self.pending.iter().any(|entry| &entry.address == address)
    }
}

/// Reads and checks the state at `location` without locking, for read-only commands. `None`
/// when there is none. Blocking: async callers use `spawn_blocking`.
pub fn read(location: &Location) -> Result<Option<State>, StateError> {
    match location {
        Location::Local(path) => backend::local::read(path),
        Location::Pg(settings) => backend::pg::read(settings),
    }
}

/// The version of imsform recorded in every state it writes.
pub const IMSFORM_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The files next to the state: the lock and the backups.
pub fn sibling(state_path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut name = state_path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    state_path.with_file_name(name)
}

fn lock_advice(waited: Option<std::time::Duration>) -> String {
    match waited {
        None => "wait for it to finish or retry with --lock-timeout DURATION".to_owned(),
        Some(waited) => format!(
            "gave up after waiting {}; retry later or with a longer --lock-timeout",
            humantime::format_duration(waited)
        ),
    }
}

/// A state that cannot be read, locked or written. Every refusal leaves the file untouched.
#[derive(Debug, Error)]
pub enum StateError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is empty (0 bytes); imsform never writes an empty state (saves are atomic), so \
         something else truncated it; restore it from {}",
        path.display(), sibling(path, ".backup").display()
    )]
    Empty { path: PathBuf },
    #[error("{} is not a valid imsform state: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error(
        "{} was written by a newer imsform (format {found}; this imsform reads up to format \
         {FORMAT_VERSION}); upgrade imsform",
        path.display()
    )]
    NewerFormat { path: PathBuf, found: u64 },
    #[error(
        "the lineage of {} ({state}) differs from its backup's ({backup}): the state file was \
         replaced by another state; if that is intended, remove {}",
        path.display(), sibling(path, ".backup").display()
    )]
    LineageDiffersFromBackup {
        path: PathBuf,
        state: String,
        backup: String,
    },
    #[error(
        "the serial of {} went backwards: {state} < {backup} in its backup, which was read at \
         the start of the last run that wrote it (an older copy restored?); if that is intended, \
         remove {}",
        path.display(), sibling(path, ".backup").display()
    )]
    SerialBehindBackup {
        path: PathBuf,
        state: u64,
        backup: u64,
    },
    #[error(
        "{} changed on disk while this run held the lock (expected {expected}, found {found}); \
         something wrote it without the lock; nothing was saved",
        path.display()
    )]
    ChangedOnDisk {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("refusing to save a state of lineage {found} over the state of lineage {expected}")]
    LineageChange { expected: String, found: String },
    #[error("the state is locked by {holder}; {}", lock_advice(*waited))]
    LockHeld {
        holder: lock::Holder,
        /// How long this run waited (`--lock-timeout`), if at all.
        waited: Option<std::time::Duration>,
    },
    #[error("there is no lock to remove: {} names no holder", path.display())]
    NotLocked { path: PathBuf },
    #[error("refusing to unlock: the lock id is {actual}, not {given} (held by {holder})")]
    LockIdMismatch {
        given: String,
        actual: String,
        holder: Box<LockInfo>,
    },
    #[error(
        "refusing to unlock: the holder is still running ({holder}); stop it first, or wait \
         for it to finish"
    )]
    HolderAlive { holder: Box<LockInfo> },
    #[error(
        "refusing to unlock: the OS lock on {} is still held by a live process ({holder}), \
         perhaps on another host sharing this file system",
        path.display()
    )]
    OsLockStillHeld {
        path: PathBuf,
        holder: Box<LockInfo>,
    },
    #[error(
        "refusing to push: the stored state has lineage {stored} but the file has lineage \
         {pushed}: they are different states; pass --force to replace the stored one"
    )]
    PushLineage { stored: String, pushed: String },
    #[error(
        "refusing to push: the stored state is at serial {stored} and the file at serial \
         {pushed}; the stored one is newer or differs (pull it first, or pass --force)"
    )]
    PushSerial { stored: u64, pushed: u64 },
    #[error("{0}")]
    Backend(#[from] backend::pg::PgError),
    #[error("there is no state at {}", path.display())]
    NoState { path: PathBuf },
    #[error("{address} is not in the state")]
    NotInState { address: Address },
    #[error("{address} is already in the state")]
    AlreadyInState { address: Address },
    #[error(
        "an operation on {address} is in flight (recorded in `pending`); run `imsform plan` or \
         `imsform apply` to resolve it first"
    )]
    OperationInFlight { address: Address },
    #[error("{0}")]
    Invalid(String),
}
