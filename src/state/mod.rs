//! The state file (`imsform.state.json`): its format, the lock, atomic saves, the backup and the
//! journal of operations in flight (design.md sections 4 and 6).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::manifest::model::{Address, ImageAttrs};

/// The format this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole state: one JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    /// A UUID fixed when the state is created.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    /// e.g. the registration job's `error_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub reason: String,
}

/// One operation in flight, written before its first call to the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEntry {
    pub address: Address,
    pub operation: PendingOperation,
    /// RFC 3339.
    pub started_at: String,
}

/// The journaled operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A state that cannot be read, locked or written.
#[derive(Debug, Error)]
pub enum StateError {
    #[error("{0}")]
    Invalid(String),
}
