//! Distribution in the client: image members (sharing with other projects of the region) and
//! copies (in the region, or to another region), per ims-distribution.md. The operations are
//! inherent methods of [`super::Client`] (in `ops`), outside the [`super::CloudApi`] seam that
//! plan and apply use today; a client per region comes from [`super::ClientFactory`].
//!
//! - `request`: the pure request builders;
//! - `wire`: the pure reading of member lists and of job reports with member `results`;
//! - `ops`: the [`super::Client`] methods, member-list paging and job waiting.
//!
//! Retries: member batches are sets, so sending one again after a lost answer converges to
//! the same members and they are retried like reads; a copy sent twice makes two images, so a
//! lost copy answer is [`super::CloudError::OutcomeUnknown`] and never re-sent.

mod ops;
pub mod request;
pub mod wire;

use super::Job;

/// A member's answer to a share.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberStatus {
    Pending,
    Accepted,
    Rejected,
    /// A status this build does not know, kept verbatim.
    Other(String),
}

impl MemberStatus {
    pub fn parse(text: &str) -> MemberStatus {
        match text {
            "pending" => MemberStatus::Pending,
            "accepted" => MemberStatus::Accepted,
            "rejected" => MemberStatus::Rejected,
            other => MemberStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            MemberStatus::Pending => "pending",
            MemberStatus::Accepted => "accepted",
            MemberStatus::Rejected => "rejected",
            MemberStatus::Other(other) => other,
        }
    }
}

/// One member of an image, as the owner reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMember {
    /// The consumer's project id.
    pub member_id: String,
    pub status: MemberStatus,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// A consumer's answer to shares (`PUT /v1/cloudimages/members`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Reject,
}

/// One entry of a member job's `entities.results`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberResult {
    pub image_id: String,
    /// Absent in some documented examples.
    pub project_id: Option<String>,
    /// As reported: `success` in examples, `SUCCESS|FAIL|RUNNING|INIT` in the field table.
    pub status: String,
}

impl MemberResult {
    /// Whether this image's part of the batch failed (any case of `FAIL`).
    pub fn failed(&self) -> bool {
        self.status.eq_ignore_ascii_case("fail") || self.status.eq_ignore_ascii_case("failed")
    }
}

/// A job read from `GET /v1/{project_id}/jobs/{job_id}` with the member `results` that the
/// progress endpoint drops (ims-distribution.md section 2). A copy's new image is
/// `job.image_id` once the job has succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct JobReport {
    pub job: Job,
    pub results: Vec<MemberResult>,
}

/// `POST /v1/cloudimages/{image_id}/copy`: a copy in the same project and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyInRegion {
    pub name: String,
    pub description: Option<String>,
}

/// `POST /v1/cloudimages/{image_id}/cross_region_copy`: a copy into `project_name` of `region`
/// (a region's default project is named like the region), made by IMS under `agency_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyToRegion {
    pub name: String,
    pub description: Option<String>,
    pub region: String,
    pub project_name: String,
    pub agency_name: String,
}
