//! The values the OBS client takes and gives: what to upload and where, what the journal keeps
//! of a multipart upload in flight ([`MultipartState`]), the events an upload reports as it
//! goes ([`UploadEvent`]), and its errors. Plain data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cloud::CloudError;
use crate::obs::StorageClass;
use crate::upload::{Fingerprint, Progress};

/// An object as HEAD describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// Without quotes.
    pub etag: String,
    /// Standard when OBS names none (it leaves the header out for Standard objects).
    pub storage_class: StorageClass,
    /// User metadata, names lower-cased without the `x-obs-meta-` prefix.
    pub metadata: BTreeMap<String, String>,
}

impl ObjectInfo {
    /// The SHA-256 imsform recorded when it uploaded the object.
    pub fn sha256(&self) -> Option<&str> {
        self.metadata
            .get(crate::obs::META_SHA256)
            .map(String::as_str)
    }
}

/// Where an object goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    pub key: String,
}

/// The local file to upload, as the plan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    pub path: PathBuf,
    /// The file's fingerprint when it was hashed; a different one at upload time means the
    /// file changed since the plan, and the upload stops ([`UploadError::FileChanged`]).
    pub fingerprint: Fingerprint,
    /// Lower-case hex; sent as the `imsform-sha256` user metadata.
    pub sha256: String,
}

/// One part the server holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedPart {
    pub number: u32,
    /// Without quotes.
    pub etag: String,
    pub size: u64,
}

/// What the apply journal keeps of a multipart upload in flight, to resume it after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartState {
    pub upload_id: String,
    /// Every part but the last has this size; part `n` starts at `(n - 1) * part_size`.
    pub part_size: u64,
    /// The parts known complete (the server is asked again on resume: ListParts).
    pub parts: Vec<CompletedPart>,
}

/// What an upload reports as it goes, in order: `Initiated` once (multipart only, before any
/// part is sent), `PartCompleted` per part sent, `Completed` at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadEvent {
    Initiated { upload_id: String, part_size: u64 },
    PartCompleted(CompletedPart),
    Completed { etag: String },
}

/// Receives [`UploadEvent`]s; the apply journal records them.
pub type Events<'a> = &'a (dyn Fn(UploadEvent) + Send + Sync);

/// How an upload is carried out.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Files up to this size go up in one PUT; larger ones in parts.
    pub threshold: u64,
    /// `None`: 16 MiB, larger when the file needs more than 10 000 parts.
    pub part_size: Option<u64>,
    /// Parts sent at once (`[apply] parallelism`).
    pub parallelism: usize,
    /// The state's lineage, sent as the `imsform-lineage` user metadata.
    pub lineage: Option<String>,
    /// Counts the bytes sent, for a display of progress.
    pub progress: Option<Arc<Progress>>,
}

/// The default threshold between one PUT and multipart: 64 MiB.
pub const DEFAULT_THRESHOLD: u64 = 64 * 1024 * 1024;
/// The default part size: 16 MiB.
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;

impl Default for UploadOptions {
    fn default() -> UploadOptions {
        UploadOptions {
            threshold: DEFAULT_THRESHOLD,
            part_size: None,
            parallelism: 10,
            lineage: None,
            progress: None,
        }
    }
}

/// How an upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploaded {
    /// The key already held an object with this file's SHA-256: nothing was sent.
    AlreadyThere(ObjectInfo),
    /// One PUT.
    Put { etag: String },
    /// Multipart; `parts_sent` counts the parts this run sent (a resumed upload sends only
    /// those the server lacked).
    Multipart { etag: String, parts_sent: u32 },
}

/// Why an upload failed.
#[derive(Debug, Error)]
pub enum UploadError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not the one the plan hashed (size, modification time or inode differ): a
    /// journaled upload of it must be aborted, and the plan made again.
    #[error("{} changed since it was hashed; plan again", path.display())]
    FileChanged { path: PathBuf },
}
