//! The typed IMS operations of [`Client`]: the [`CloudApi`] implementation plus the reads apply
//! and the CLI need besides it (os_version list, quota). Each operation builds its request in
//! [`super::request`], sends it through [`Client::ims`] (auth, rate limit, retries) and reads
//! the answer with [`super::wire`]. Pagination follows every style of ims-api.md section 10.

use std::collections::{BTreeMap, BTreeSet};

use super::client::Client;
use super::request::{self, ApiRequest, ImageType};
use super::wire::{self, NextPage};
use super::{
    AttrUpdate, CloudApi, CloudError, CreateImage, ImageStatus, Job, JobReport, MemberStatus,
    RemoteImage,
};

/// Stops a cloud that keeps announcing pages from looping forever (10 million images).
const MAX_PAGES: usize = 10_000;

impl Client {
    /// Every private image matching `filters`, following all pages.
    pub async fn list_all(
        &self,
        filters: &[(String, String)],
    ) -> Result<Vec<RemoteImage>, CloudError> {
        self.list_of(ImageType::Private, filters).await
    }

    /// The project's own images that have members, all pages, found without a request per
    /// image: `__imagetype=shared&owner=<project>` (ims-distribution.md section 3.1; the
    /// filter's meaning for the owner is UNCONFIRMED, so callers keep a fallback that reads
    /// each image's members).
    pub async fn list_shared_by_project(&self) -> Result<Vec<RemoteImage>, CloudError> {
        self.list_of(ImageType::Shared, &[]).await
    }

    /// Every image of `kind` owned by the project and matching `filters`, following all pages.
    async fn list_of(
        &self,
        kind: ImageType,
        filters: &[(String, String)],
    ) -> Result<Vec<RemoteImage>, CloudError> {
        let project_id = self.project_id().await?.to_owned();
        let limit = self.page_size();
        let mut request = request::list_typed(kind, &project_id, limit, filters, None);
        let mut seen_pages = BTreeSet::new();
        let mut seen_ids = BTreeSet::new();
        let mut images = Vec::new();
        loop {
            let response = self.ims(&request, &[200]).await?;
            let body = response.json(request.operation)?;
            let page =
                wire::parse_page(&body, self.page_size()).ok_or_else(|| CloudError::Protocol {
                    operation: request.operation,
                    status: response.status,
                    detail: "no `images` list in the answer".into(),
                })?;
            let empty = page.images.is_empty();
            // Images created or deleted between pages can shift them; keep each id once.
            images.extend(
                page.images
                    .into_iter()
                    .filter(|image| seen_ids.insert(image.id.clone())),
            );
            request = match page.next {
                NextPage::Done => break,
                _ if empty => break,
                NextPage::Marker(marker) => {
                    request::list_typed(kind, &project_id, limit, filters, Some(&marker))
                }
                NextPage::Link { path, query } => request::follow_next(&path, query),
            };
            let key = format!("{}?{}", request.path, request.query_string());
            if !seen_pages.insert(key) || seen_pages.len() > MAX_PAGES {
                return Err(CloudError::Protocol {
                    operation: request.operation,
                    status: response.status,
                    detail: "the cloud announced a page it had already served".into(),
                });
            }
        }
        Ok(images)
    }

    /// `GET /v3/projects?name={project name}` (the region's name by default) on IAM: exactly one project, else a clear error.
    pub(crate) async fn lookup_project_id(&self) -> Result<String, CloudError> {
        let request = request::list_projects(&self.project_name);
        let response = self.send(&request, &[200], None).await?;
        let body = response.json(request.operation)?;
        let ids = wire::parse_project_ids(&body).ok_or_else(|| CloudError::Protocol {
            operation: request.operation,
            status: response.status,
            detail: "no `projects` list in the answer".into(),
        })?;
        match ids.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(CloudError::Config(format!(
                "IAM knows no project named `{}` in region {} for these credentials: check the \
                 region (and [cloud.regions.{}] project), or set [cloud] project_id",
                self.project_name, self.region, self.region
            ))),
            many => Err(CloudError::Config(format!(
                "IAM returned {} projects named `{}`: set [cloud] project_id to choose one",
                many.len(),
                self.project_name
            ))),
        }
    }

    async fn read_job(&self, request: &ApiRequest, job_id: &str) -> Result<Job, CloudError> {
        let response = self.ims(request, &[200]).await?;
        let body = response.json(request.operation)?;
        wire::parse_job(&body, job_id).ok_or_else(|| CloudError::Protocol {
            operation: request.operation,
            status: response.status,
            detail: "no known job `status` in the answer".into(),
        })
    }

    /// The `__os_version` values the cloud accepts, sorted.
    pub async fn os_versions(&self) -> Result<Vec<String>, CloudError> {
        let request = request::os_versions();
        let response = self.ims(&request, &[200]).await?;
        wire::parse_os_versions(&response.json(request.operation)?).ok_or_else(|| {
            CloudError::Protocol {
                operation: request.operation,
                status: response.status,
                detail: "expected a JSON array of platforms".into(),
            }
        })
    }

    /// The private image quota as `(used, quota)`.
    pub async fn quota(&self) -> Result<(u64, u64), CloudError> {
        let request = request::quota();
        let response = self.ims(&request, &[200]).await?;
        wire::parse_quota(&response.json(request.operation)?).ok_or_else(|| CloudError::Protocol {
            operation: request.operation,
            status: response.status,
            detail: "no `image` resource in `quotas.resources`".into(),
        })
    }

    async fn patch(
        &self,
        image_id: &str,
        ops: Vec<serde_json::Value>,
    ) -> Result<RemoteImage, CloudError> {
        let request = request::update(image_id, ops);
        let response = self.ims(&request, &[200]).await?;
        self.image_from(&request, &response)
    }

    /// One change alone: `replace` (unless it is already known to conflict), then `add` on
    /// IMG.0035; removing an absent description is done (`None`: nothing was sent back).
    async fn patch_one(
        &self,
        image_id: &str,
        change: &AttrUpdate,
        conflicted: bool,
    ) -> Result<Option<RemoteImage>, CloudError> {
        if !conflicted {
            match self
                .patch(image_id, vec![request::update_op(change, "replace")])
                .await
            {
                Err(err) if err.code() == Some(IMG_ATTRIBUTE_CONFLICT) => {}
                other => return other.map(Some),
            }
        }
        if matches!(change, AttrUpdate::Description(None)) {
            return Ok(None);
        }
        self.patch(image_id, vec![request::update_op(change, "add")])
            .await
            .map(Some)
    }

    fn image_from(
        &self,
        request: &ApiRequest,
        response: &super::client::Response,
    ) -> Result<RemoteImage, CloudError> {
        wire::parse_image(&response.json(request.operation)?).ok_or_else(|| CloudError::Protocol {
            operation: request.operation,
            status: response.status,
            detail: "no image `id` in the answer".into(),
        })
    }
}

/// `replace` of an attribute the image does not have.
const IMG_ATTRIBUTE_CONFLICT: &str = "IMG.0035";

impl CloudApi for Client {
    async fn list_private_images(&self) -> Result<Vec<RemoteImage>, CloudError> {
        self.list_all(&[]).await
    }

    async fn find_by_tag(&self, key: &str, value: &str) -> Result<Vec<RemoteImage>, CloudError> {
        self.list_all(&[("tag".into(), format!("{key}={value}"))])
            .await
    }

    async fn get_image(&self, image_id: &str) -> Result<Option<RemoteImage>, CloudError> {
        let request = request::get_image(image_id);
        let response = self.ims(&request, &[200]).await?;
        let body = response.json(request.operation)?;
        let page = wire::parse_page(&body, usize::MAX).ok_or_else(|| CloudError::Protocol {
            operation: request.operation,
            status: response.status,
            detail: "no `images` list in the answer".into(),
        })?;
        Ok(page.images.into_iter().find(|image| image.id == image_id))
    }

    async fn create_metadata(&self, create: &CreateImage) -> Result<RemoteImage, CloudError> {
        let request = request::create_metadata(create);
        let response = self.ims(&request, &[201]).await?;
        // The image exists now; an answer we cannot read leaves its id unknown.
        self.image_from(&request, &response)
            .map_err(|err| CloudError::OutcomeUnknown {
                operation: request.operation,
                detail: err.to_string(),
            })
    }

    async fn register(&self, image_id: &str, image_url: &str) -> Result<String, CloudError> {
        let request = request::register(image_id, image_url);
        let response = self.ims(&request, &[200]).await?;
        let body = response.json(request.operation).ok();
        body.as_ref()
            .and_then(wire::parse_job_id)
            .ok_or_else(|| CloudError::OutcomeUnknown {
                operation: request.operation,
                detail: "the answer carried no job_id".into(),
            })
    }

    async fn job(&self, job_id: &str) -> Result<Job, CloudError> {
        let project_id = self.project_id().await?.to_owned();
        self.read_job(&request::job(&project_id, job_id), job_id)
            .await
    }

    async fn update(
        &self,
        image_id: &str,
        changes: &[AttrUpdate],
    ) -> Result<RemoteImage, CloudError> {
        let ops = changes
            .iter()
            .map(|c| request::update_op(c, "replace"))
            .collect();
        match self.patch(image_id, ops).await {
            Err(err) if err.code() == Some(IMG_ATTRIBUTE_CONFLICT) => {}
            other => return other,
        }
        // An op conflicted (`replace` of an absent attribute): each op alone, falling back to
        // `add`. With a single op, the conflict is already known to be its own.
        let alone = changes.len() == 1;
        let mut last = None;
        for change in changes {
            last = self.patch_one(image_id, change, alone).await?.or(last);
        }
        match last {
            Some(image) => Ok(image),
            None => self
                .get_image(image_id)
                .await?
                .ok_or_else(|| CloudError::Protocol {
                    operation: "update image",
                    status: 404,
                    detail: format!("image {image_id} disappeared during the update"),
                }),
        }
    }

    async fn update_tags(
        &self,
        image_id: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), CloudError> {
        let project_id = self.project_id().await?.to_owned();
        // Delete first so that a full image (10 tags) can take its new tags.
        let remove: BTreeMap<String, String> = remove
            .iter()
            .filter(|key| !set.contains_key(*key))
            .map(|key| (key.clone(), String::new()))
            .collect();
        for (action, tags) in [("delete", &remove), ("create", set)] {
            if !tags.is_empty() {
                let request = request::tags_action(&project_id, image_id, action, tags);
                self.ims(&request, &[204, 200]).await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, image_id: &str) -> Result<(), CloudError> {
        match self.ims(&request::delete(image_id), &[204, 200]).await {
            Err(CloudError::Api { status: 404, .. }) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn images_in_status(&self, status: &ImageStatus) -> Result<Vec<RemoteImage>, CloudError> {
        self.list_all(&[("status".into(), status.as_str().into())])
            .await
    }

    async fn job_progress(&self, job_id: &str) -> Result<Job, CloudError> {
        self.read_job(&request::job_progress(job_id), job_id).await
    }

    async fn members(&self, image_id: &str) -> Result<BTreeMap<String, MemberStatus>, CloudError> {
        let members = Client::members(self, image_id).await?;
        Ok(members
            .into_iter()
            .map(|m| (m.member_id, m.status))
            .collect())
    }

    async fn add_members(&self, image_id: &str, projects: &[String]) -> Result<String, CloudError> {
        Client::add_members(self, &[image_id.to_owned()], projects).await
    }

    async fn remove_members(
        &self,
        image_id: &str,
        projects: &[String],
    ) -> Result<String, CloudError> {
        Client::remove_members(self, &[image_id.to_owned()], projects).await
    }

    async fn job_report(&self, job_id: &str) -> Result<JobReport, CloudError> {
        Client::job_report(self, job_id).await
    }
}
