//! The state (`imsform.state.json`, or a PostgreSQL workspace): its format, the store every
//! command uses, the lock and the journal of operations in flight (design.md sections 4, 6, 9).
//!
//! This file owns the types of the format and the module's error, and [`read`] hands reading to
//! the backend; it does no I/O itself. The contract of
//! reading, locking and saving is documented on [`store`]; the lock on [`lock`]; parsing and the
//! refusals on [`format`].
//!
//! - [`store::Store`]: the one way a command that may write opens, locks and saves the state.
//! - [`edit`]: an edit of the state that records what it touches, for [`Store::change`].
//! - [`backend`]: where the state lives: the local file, or a PostgreSQL workspace.
//! - [`lock`]: the holder info every backend shows; the local file's OS lock and `force-unlock`.
//! - [`format`]: bytes to a checked [`State`] (duplicate keys, versions, migration) and back.
//! - [`schema`]: `schema/state.schema.json`, generated from these types.

pub mod backend;
pub mod edit;
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
pub use edit::Edit;
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
    /// The cloud this state belongs to (design.md section 4); absent in states written before
    /// imsform recorded it, which take the identity of their next write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    pub images: BTreeMap<Address, ImageRecord>,
    /// The journal of operations in flight.
    #[serde(default)]
    pub pending: Vec<PendingEntry>,
}

/// The cloud a state belongs to. A command configured for another identity refuses the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub kind: CloudKind,
    pub region: String,
    pub project_id: String,
}

/// Which kind of cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloudKind {
    /// The built-in local cloud (`[cloud] local = true`).
    Local,
    /// Huawei Cloud (or an endpoint configured to stand for it).
    Cloud,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            CloudKind::Local => "the local cloud",
            CloudKind::Cloud => "the cloud",
        };
        write!(
            f,
            "{kind} (region {}, project {})",
            self.region, self.project_id
        )
    }
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
    /// The image's copies in other regions (`images.<key>.replicas["REGION"]`), by region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replicas: BTreeMap<String, ReplicaRecord>,
}

/// One replica: a copy of the image in another region, made by cross-region copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicaRecord {
    /// The copy's image id in the destination region.
    pub id: String,
    /// The destination project's name (the region's default project when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The name and description as last applied.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The id of the source image the copy was made from: a replica whose source was
    /// replaced is replaced too.
    pub source_id: String,
    /// What the last refresh or apply saw of the copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
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
        /// `<lineage8>-<ULID>` (the first 8 hex digits of the state's lineage, a dash, 26
        /// characters; states written before carry 26-character tokens); also the value of the
        /// reserved `imsform-token` tag on the image.
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
    /// Delete of a replica's image in `region` (removed from the manifests, its source
    /// destroyed, or the old half of a replica's replacement).
    DeleteReplica { region: String, image_id: String },
    /// Cross-region copy of the address's image into `region` (a replica), written before the
    /// copy request is sent. A copy carries no tags, so a copy whose answer was lost is found
    /// by its `__data_origin` (`image,<source_region>,<source_id>`), name and creation time
    /// (not before `sent_at` less a skew); once found it is tagged with `token`.
    Copy {
        /// `<lineage8>-<ULID>`, tagged onto the copy once its id is known.
        token: String,
        source_id: String,
        source_region: String,
        region: String,
        /// The destination project's name.
        project: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// RFC 3339: when the request was about to be sent.
        sent_at: String,
        /// Set once the copy's image is known (the job's `entities.image_id`, or found).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_id: Option<String>,
        /// Set once the copy request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        /// The replica this copy replaces, deleted after the copy succeeds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
    },
    /// A change of the image's members (sharing): batch jobs adding and removing consumer
    /// projects. Member batches are sets, so recovery re-reads the members and plans again.
    Members {
        image_id: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        add: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        remove: Vec<String>,
    },
}

impl State {
    /// An empty state of the current format with the given lineage and serial 0.
    pub fn new(lineage: String) -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage,
            serial: 0,
            imsform_version: IMSFORM_VERSION.to_owned(),
            identity: None,
            images: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// Whether `other` holds the same content: everything but `serial` and `imsform_version`,
    /// which a save sets itself.
    pub fn same_content(&self, other: &State) -> bool {
        self.format_version == other.format_version
            && self.lineage == other.lineage
            && self.identity == other.identity
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
            identity: self.identity.clone(),
            images: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// Every region the state's replicas and its journal's replica operations are in.
    pub fn replica_regions(&self) -> std::collections::BTreeSet<String> {
        let recorded = self
            .images
            .values()
            .flat_map(|r| r.replicas.keys().cloned());
        let pending = self
            .pending
            .iter()
            .filter_map(|entry| match &entry.operation {
                PendingOperation::Copy { region, .. }
                | PendingOperation::DeleteReplica { region, .. } => Some(region.clone()),
                _ => None,
            });
        recorded.chain(pending).collect()
    }

    /// Every consumer project the state's images are shared with, or that a sharing change in
    /// its journal adds or removes.
    pub fn member_projects(&self) -> std::collections::BTreeSet<String> {
        let recorded = self
            .images
            .values()
            .flat_map(|r| r.attributes.share_with.iter().cloned());
        let pending = self
            .pending
            .iter()
            .flat_map(|entry| match &entry.operation {
                PendingOperation::Members { add, remove, .. } => {
                    add.iter().chain(remove).cloned().collect()
                }
                _ => Vec::new(),
            });
        recorded.chain(pending).collect()
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

/// A fresh create token for a state of `lineage`: `<lineage8>-<ULID>`. The prefix lets refresh
/// tell this state's images from other states' and from hand-made ones (design.md section 6).
pub fn new_token(lineage: &str) -> String {
    format!("{}-{}", token_prefix(lineage), ulid::Ulid::new())
}

/// Whether `token` was made by a state of `lineage` (tokens of the old 26-character shape carry
/// no lineage and are never claimed).
pub fn is_token_of(lineage: &str, token: &str) -> bool {
    token
        .strip_prefix(token_prefix(lineage))
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|ulid| {
            ulid.len() == ULID_LEN && ulid.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

/// A ULID's length in Crockford base 32.
const ULID_LEN: usize = 26;

/// The lineage's first 8 hex digits (a UUID starts with 8 of them).
fn token_prefix(lineage: &str) -> &str {
    lineage.get(..8).unwrap_or(lineage)
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
    #[error(
        "{location} belongs to {state}, but the configuration points at {configured}: refusing \
         to use it, nothing was changed. Run with the configuration the state was made with \
         (check [cloud] in imsform.toml and HW_REGION_NAME / HW_PROJECT_ID left set in the \
         environment), or, if the state is to follow the configuration, move it with \
         `imsform state rebind`"
    )]
    OtherIdentity {
        location: String,
        state: Box<Identity>,
        configured: Box<Identity>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_lineage_prefix_and_only_this_lineage_claims_them() {
        let lineage = "3f2a9c1e-0b7d-4e8f-9a6b-5c4d3e2f1a0b";
        let token = new_token(lineage);
        assert_eq!(token.len(), 35);
        assert!(token.starts_with("3f2a9c1e-"), "{token}");
        assert!(crate::ims::is_valid_tag_value(&token));
        assert!(is_token_of(lineage, &token));
        assert!(!is_token_of("3f2a9c1f-0000-4000-8000-000000000000", &token));
        // The old shape (a bare ULID) and hand-made values are never claimed.
        assert!(!is_token_of(lineage, &ulid::Ulid::new().to_string()));
        assert!(!is_token_of(lineage, "3f2a9c1e-mine"));
        assert!(!is_token_of(lineage, "3f2a9c1e"));
    }
}
