//! The member and copy operations of [`Client`]: each builds its request in `request`, sends
//! it through [`Client::ims`] (auth, shared rate limit, retries) and reads the answer in
//! `wire`. Member lists follow every page; jobs are read with their member results
//! ([`crate::cloud::CloudApi::wait_job`] waits for them).

use std::collections::BTreeSet;

use super::wire::{parse_job_report, parse_member_page};
use super::{Answer, CopyInRegion, CopyToRegion, ImageMember, JobReport, request};
use crate::cloud::CloudError;
use crate::cloud::client::Client;
use crate::cloud::request::{self as base, ApiRequest};
use crate::cloud::wire::parse_job_id;

/// Stops a cloud that keeps announcing member pages (10 million members).
const MAX_PAGES: usize = 10_000;

impl Client {
    /// Sends a request that starts a job and returns the job id. Without one in the answer,
    /// an idempotent request is a protocol error; any other may have acted, so its outcome is
    /// unknown.
    async fn start_job(&self, request: &ApiRequest) -> Result<String, CloudError> {
        let response = self.ims(request, &[200]).await?;
        let job_id = response
            .json(request.operation)
            .ok()
            .as_ref()
            .and_then(parse_job_id);
        job_id.ok_or_else(|| {
            let detail = "the answer carried no job_id".to_owned();
            if request.idempotent {
                CloudError::Protocol {
                    operation: request.operation,
                    status: response.status,
                    detail,
                }
            } else {
                CloudError::OutcomeUnknown {
                    operation: request.operation,
                    detail,
                }
            }
        })
    }

    /// Shares `images` with the consumer `projects`; returns the job id.
    pub async fn add_members(
        &self,
        images: &[String],
        projects: &[String],
    ) -> Result<String, CloudError> {
        self.start_job(&request::add_members(images, projects))
            .await
    }

    /// Stops sharing `images` with `projects`; returns the job id.
    pub async fn remove_members(
        &self,
        images: &[String],
        projects: &[String],
    ) -> Result<String, CloudError> {
        self.start_job(&request::remove_members(images, projects))
            .await
    }

    /// Accepts or rejects, as this client's project, the shares of `images`; returns the job
    /// id.
    pub async fn answer_shares(
        &self,
        images: &[String],
        answer: Answer,
    ) -> Result<String, CloudError> {
        let project_id = self.project_id().await?.to_owned();
        let request = request::answer_members(images, &project_id, answer);
        self.start_job(&request).await
    }

    /// Every member of `image_id`, all pages.
    pub async fn members(&self, image_id: &str) -> Result<Vec<ImageMember>, CloudError> {
        let project_id = self.project_id().await?.to_owned();
        let limit = self.page_size().min(request::MEMBER_PAGE_MAX);
        let mut members = Vec::new();
        let mut markers = BTreeSet::new();
        let mut marker: Option<String> = None;
        loop {
            let request = request::list_members(&project_id, image_id, limit, marker.as_deref());
            let response = self.ims(&request, &[200]).await?;
            let body = response.json(request.operation)?;
            let page = parse_member_page(&body, limit).ok_or_else(|| CloudError::Protocol {
                operation: request.operation,
                status: response.status,
                detail: "no `members` list in the answer".into(),
            })?;
            let empty = page.members.is_empty();
            members.extend(page.members);
            marker = match page.next_marker {
                Some(next) if !empty => Some(next),
                _ => return Ok(members),
            };
            if !markers.insert(marker.clone()) || markers.len() > MAX_PAGES {
                return Err(CloudError::Protocol {
                    operation: request.operation,
                    status: response.status,
                    detail: "the cloud announced a member page it had already served".into(),
                });
            }
        }
    }

    /// The job with its member results (`GET /v1/{project_id}/jobs/{job_id}`: the progress
    /// endpoint drops `results`).
    pub async fn job_report(&self, job_id: &str) -> Result<JobReport, CloudError> {
        let project_id = self.project_id().await?.to_owned();
        let request = base::job(&project_id, job_id);
        let response = self.ims(&request, &[200]).await?;
        let body = response.json(request.operation)?;
        parse_job_report(&body, job_id).ok_or_else(|| CloudError::Protocol {
            operation: request.operation,
            status: response.status,
            detail: "no known job `status` in the answer".into(),
        })
    }

    /// Copies `image_id` within this region and project; returns the job id, whose success
    /// names the copy. A lost answer is [`CloudError::OutcomeUnknown`], never re-sent.
    pub async fn copy_in_region(
        &self,
        image_id: &str,
        copy: &CopyInRegion,
    ) -> Result<String, CloudError> {
        self.start_job(&request::copy_in_region(image_id, copy))
            .await
    }

    /// Copies `image_id` to another region; returns the job id, which lives in this (the
    /// source) region and whose success names the new image in the destination. A lost
    /// answer is [`CloudError::OutcomeUnknown`], never re-sent.
    pub async fn copy_to_region(
        &self,
        image_id: &str,
        copy: &CopyToRegion,
    ) -> Result<String, CloudError> {
        self.start_job(&request::copy_to_region(image_id, copy))
            .await
    }
}
