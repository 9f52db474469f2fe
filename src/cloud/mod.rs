//! The IMS client: everything imsform says to IMS goes through here. Credentials, endpoints,
//! signing, the one place that touches reqwest, retries, rate limiting, pagination and job
//! polling. Plan and apply see only the [`CloudApi`] seam and the types below.
//!
//! - [`config`]: [`config::CloudConfig`], which cloud to connect to, as the command line read it;
//! - [`credentials`]: `HW_*` environment variables, secrets kept out of `Debug`;
//! - [`endpoint`]: region defaults, overrides, the loopback-only rule for `http://`;
//! - [`request`]: pure request builders and authentication headers (signing via [`crate::sign`]);
//! - [`wire`]: lenient response parsing and the three pagination styles;
//! - [`error`]: [`CloudError`] and the reading of every error-body family;
//! - [`retry`]: the retry policy (documented there), pure and unit-tested;
//! - [`ratelimit`]: the shared client-side token bucket;
//! - [`client`]: [`Client`], the one place that touches reqwest; [`options`]: its settings;
//! - `ops`: the typed operations ([`CloudApi`] for [`Client`]); `gone`: waiting out deletes;
//! - [`jobs`]: [`JobWatcher`], many registration jobs watched with one list request per tick;
//! - [`distribution`]: members and copies (inherent [`Client`] methods, outside the seam);
//! - [`ownership`]: whose an image is, read by id without the private-image filters;
//! - [`factory`]: [`ClientFactory`], one client per region sharing one rate limit;
//! - [`liveness`]: whether each endpoint answers; a silent one ends the run's waits on it.
//! - [`obs`]: the OBS client ([`obs::ObsClient`]): uploads of image files, resumable multipart.

pub mod client;
pub mod config;
pub mod credentials;
pub mod distribution;
#[cfg(test)]
pub(crate) mod emulated;
pub mod endpoint;
pub mod error;
pub mod factory;
mod gone;
pub mod jobs;
pub mod liveness;
pub mod obs;
mod ops;
pub mod options;
pub mod ownership;
pub mod ratelimit;
pub mod request;
pub mod retry;
mod transport_log;
pub mod wire;

use std::collections::BTreeMap;
use std::future::Future;

use tokio::time::Instant;

use crate::manifest::model::DiskFormat;

pub use client::Client;
pub use credentials::Credentials;
pub use distribution::{JobReport, MemberResult, MemberStatus};
pub use error::CloudError;
pub use factory::ClientFactory;
pub use jobs::{GoneWatch, JobOutcome, JobProgress, JobWatcher, WatchConfig, Watching};
pub use liveness::{Liveness, Unresponsive};
pub use options::{ClientOptions, Clock};
pub use retry::RetryPolicy;

/// `status` of an image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageStatus {
    Queued,
    Saving,
    Active,
    Killed,
    Deleted,
    /// A status this build does not know, kept verbatim.
    Other(String),
}

impl ImageStatus {
    pub fn parse(text: &str) -> ImageStatus {
        match text {
            "queued" => ImageStatus::Queued,
            "saving" => ImageStatus::Saving,
            "active" => ImageStatus::Active,
            "killed" => ImageStatus::Killed,
            "deleted" => ImageStatus::Deleted,
            other => ImageStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ImageStatus::Queued => "queued",
            ImageStatus::Saving => "saving",
            ImageStatus::Active => "active",
            ImageStatus::Killed => "killed",
            ImageStatus::Deleted => "deleted",
            ImageStatus::Other(other) => other,
        }
    }
}

/// A private image as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteImage {
    pub id: String,
    pub name: String,
    pub status: ImageStatus,
    /// Key/value tags, including the reserved `imsform-token` tag when present.
    pub tags: BTreeMap<String, String>,
    pub os_version: Option<String>,
    /// As reported; may differ from what was created (the cloud converts formats).
    pub disk_format: Option<String>,
    pub min_disk: u32,
    pub min_ram: u32,
    pub description: Option<String>,
    pub protected: bool,
    pub checksum: Option<String>,
    pub size: Option<u64>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// The OBS file the image was registered from, where IMS reports it (`__data_origin` =
    /// `file,<bucket:object>`); `None` where it does not.
    pub image_url: Option<String>,
    /// The image a copy was made from (`__data_origin` = `image,<region>,<image id>`), as
    /// `(region, image id)`; `None` for any other image.
    pub copied_from: Option<(String, String)>,
    /// The image's members (consumer project id to status), when they were read: refresh reads
    /// them only for images that share; `None` otherwise.
    pub members: Option<BTreeMap<String, MemberStatus>>,
}

/// `POST /v2/images`: the metadata of a new image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateImage {
    pub name: String,
    pub os_version: String,
    pub disk_format: DiskFormat,
    pub min_disk: u32,
    pub min_ram: u32,
    pub protected: bool,
    /// Including the reserved token tag.
    pub tags: BTreeMap<String, String>,
}

/// An in-place attribute change (`PATCH /v2/cloudimages/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrUpdate {
    Name(String),
    MinRam(u32),
    /// `None` removes the description.
    Description(Option<String>),
}

/// `status` of an asynchronous job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    Init,
    Running,
    Success,
    Fail,
}

/// One asynchronous job as the cloud reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub status: JobStatus,
    /// `entities.image_id`, when present.
    pub image_id: Option<String>,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
    /// 0.0-1.0, from the progress endpoint when available.
    pub progress: Option<f64>,
}

/// The seam between plan/apply and IMS. The real client and test doubles implement it.
pub trait CloudApi: Send + Sync {
    /// Every private image of the project, all pages, in a handful of requests.
    fn list_private_images(
        &self,
    ) -> impl Future<Output = Result<Vec<RemoteImage>, CloudError>> + Send;
    /// The private images carrying tag `key=value` (`GET /v2/cloudimages?tag=key=value`).
    fn find_by_tag(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<Vec<RemoteImage>, CloudError>> + Send;
    /// One image by id, `None` when it does not exist (`GET /v2/cloudimages?id=`).
    fn get_image(
        &self,
        image_id: &str,
    ) -> impl Future<Output = Result<Option<RemoteImage>, CloudError>> + Send;
    /// `POST /v2/images`. A lost response is [`CloudError::OutcomeUnknown`], never re-sent.
    fn create_metadata(
        &self,
        request: &CreateImage,
    ) -> impl Future<Output = Result<RemoteImage, CloudError>> + Send;
    /// `PUT /v1/cloudimages/{id}/upload`; returns the job id. A lost answer is
    /// [`CloudError::OutcomeUnknown`], never re-sent: the image's status tells whether the
    /// registration was taken (`saving`, `active`, `killed`) or not (`queued`).
    fn register(
        &self,
        image_id: &str,
        image_url: &str,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// The job's status (with progress when the cloud reports it).
    fn job(&self, job_id: &str) -> impl Future<Output = Result<Job, CloudError>> + Send;
    /// `PATCH /v2/cloudimages/{id}` with one op per change (`replace`, falling back to `add`).
    fn update(
        &self,
        image_id: &str,
        changes: &[AttrUpdate],
    ) -> impl Future<Output = Result<RemoteImage, CloudError>> + Send;
    /// Adds or overwrites `set` and removes `remove` through the batch tag API.
    fn update_tags(
        &self,
        image_id: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// `DELETE /v2/images/{id}`; an image already gone is success. Does not wait.
    fn delete(&self, image_id: &str) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// The private images in `status`, all pages (`GET /v2/cloudimages?status=`): one request
    /// reports every image in that status, e.g. all registrations in flight (`saving`). The
    /// default filters [`CloudApi::list_private_images`]; [`Client`] asks the cloud to filter.
    fn images_in_status(
        &self,
        status: &ImageStatus,
    ) -> impl Future<Output = Result<Vec<RemoteImage>, CloudError>> + Send {
        let status = status.clone();
        async move {
            let images = self.list_private_images().await?;
            Ok(images.into_iter().filter(|i| i.status == status).collect())
        }
    }
    /// The job with its progress (`GET /v1/cloudimages/job/{job_id}`); the default is
    /// [`CloudApi::job`].
    fn job_progress(&self, job_id: &str) -> impl Future<Output = Result<Job, CloudError>> + Send {
        self.job(job_id)
    }
    /// Every member of `image_id` (all pages): each consumer project's status.
    fn members(
        &self,
        image_id: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, MemberStatus>, CloudError>> + Send;
    /// Shares `image_id` with `projects` (a batch job); returns the job id. A batch is a set:
    /// sent again, it converges to the same members, so it is retried like a read.
    fn add_members(
        &self,
        image_id: &str,
        projects: &[String],
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// Stops sharing `image_id` with `projects` (a batch job); returns the job id.
    fn remove_members(
        &self,
        image_id: &str,
        projects: &[String],
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// The job with its member results (`GET /v1/{project_id}/jobs/{job_id}`).
    fn job_report(
        &self,
        job_id: &str,
    ) -> impl Future<Output = Result<JobReport, CloudError>> + Send;
    /// Reads the job until it succeeds or fails, at intervals backing off from
    /// `cadence.poll_interval` to ten times it; [`CloudError::Timeout`] at `deadline`.
    fn wait_job(
        &self,
        job_id: &str,
        cadence: &WatchConfig,
        deadline: Instant,
    ) -> impl Future<Output = Result<JobReport, CloudError>> + Send {
        let (job_id, first) = (job_id.to_owned(), cadence.poll_interval);
        async move {
            let started = Instant::now();
            let mut interval = first;
            loop {
                let report = self.job_report(&job_id).await?;
                if matches!(report.job.status, JobStatus::Success | JobStatus::Fail) {
                    return Ok(report);
                }
                if Instant::now() + interval > deadline {
                    return Err(CloudError::Timeout {
                        what: format!("job {job_id}"),
                        after: started.elapsed(),
                    });
                }
                tokio::time::sleep(interval).await;
                interval = (interval * 2).min(first * 10);
            }
        }
    }
    /// Waits until none of `ids` is listed any more (deletion is asynchronous), polling the
    /// list rather than each image, with intervals backing off from 1 s to 10 s;
    /// [`CloudError::Timeout`] at `deadline`. For many parallel deletes, prefer
    /// [`JobWatcher::watch_gone`], whose watches share one list per tick.
    fn wait_gone(
        &self,
        ids: &[String],
        deadline: Instant,
    ) -> impl Future<Output = Result<(), CloudError>> + Send {
        gone::wait_gone(self, ids, deadline)
    }
}
