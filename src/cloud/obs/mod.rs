//! The OBS client: another endpoint of the cloud layer, used to upload image files before IMS
//! registers them (design.md section 13, obs-upload.md). Same credentials as IMS (AK/SK; OBS
//! takes no IAM token), same retry rules, its own endpoint per region (`[cloud] obs_endpoint`,
//! `[cloud.regions.R] obs_endpoint`, else `https://obs.REGION.myhuaweicloud.com`).
//!
//! - `endpoint.rs`: virtual-hosted URLs on real endpoints, path style on loopback ones;
//! - `request.rs`: pure request builders and the `OBS AK:sig` signing headers;
//! - `client.rs`: [`ObsClient`], the transport: signing per attempt, streamed file bodies,
//!   retries; `wire.rs`: XML errors, HEAD headers, the `-vv` line;
//! - `ops.rs`: the calls one by one (HEAD, GET, PUT, DELETE, the five multipart calls);
//! - `multipart.rs`: the resumable multipart upload; `upload.rs`: [`ObsClient::upload_file`],
//!   the entry point of the apply step;
//! - `types.rs`: what goes in and out, including [`MultipartState`], what the journal keeps.
//!
//! The apply integration calls, per planned upload:
//! `client.upload_file(&target, &file, journal_state.as_ref(), &options, &|event| …)`, where
//! `file` is the [`LocalFile`] the plan hashed (`crate::upload::DigestCache::sha256`), and
//! records [`UploadEvent::Initiated`] and each [`UploadEvent::PartCompleted`] in the journal.
//! On [`UploadError::FileChanged`] of a journaled upload it calls [`ObsClient::abort`].

mod client;
mod endpoint;
mod multipart;
mod ops;
mod request;
mod types;
mod upload;
mod wire;

pub use client::{ObsClient, ObsResponse};
pub use endpoint::{Located, ObsEndpoint};
pub use multipart::{part_count, part_range, part_size, reconcile};
pub use request::{ObsRequest, Payload};
pub use types::{
    CompletedPart, DEFAULT_PART_SIZE, DEFAULT_THRESHOLD, Events, LocalFile, MultipartState,
    ObjectInfo, Target, UploadError, UploadEvent, UploadOptions, Uploaded,
};
pub use upload::metadata;
