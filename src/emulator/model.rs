//! The emulator's state as plain data: images ([`Image`], [`Status`]) and jobs ([`Job`],
//! [`Outcome`]), who is calling ([`Caller`]), an image's members ([`Member`]) and what an
//! asynchronous job does ([`Work`]), with the pure effects a finished job has on its image
//! ([`finish`]) and on an image's members. Imports nothing from the rest of the emulator, so
//! `world.rs`, `persist.rs` and the handlers can all use it without a cycle.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::sign;

/// The project a request acts as (its `X-Project-Id`, checked by the gate) and the region of
/// the endpoint it reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub project: String,
    pub region: String,
}

/// A member's answer to a share (ims-distribution.md section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Pending,
    Accepted,
    Rejected,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Pending => "pending",
            MemberStatus::Accepted => "accepted",
            MemberStatus::Rejected => "rejected",
        }
    }
}

/// One consumer project of a shared image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub status: MemberStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a job does when it finishes. Registration jobs persisted before distribution existed
/// have no `work` and are registrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// `PUT /v1/cloudimages/{id}/upload`: the job's image becomes `active` or `killed`.
    #[default]
    Register,
    /// `POST /v1/cloudimages/members`: each project becomes a `pending` member of each image.
    AddMembers {
        images: Vec<String>,
        projects: Vec<String>,
    },
    /// `DELETE /v1/cloudimages/members`.
    DeleteMembers {
        images: Vec<String>,
        projects: Vec<String>,
    },
    /// `PUT /v1/cloudimages/members`: the consumer `project` answers for each image.
    UpdateMembers {
        images: Vec<String>,
        project: String,
        status: MemberStatus,
    },
    /// An in-region or cross-region copy: the job's image (the copy) becomes `active`.
    Copy {
        source_region: String,
        source_id: String,
        cross_region: bool,
    },
}

impl Work {
    /// The `job_type` IMS reports (ims-distribution.md sections 3 and 4; the cross-region
    /// type follows HW's newest page, `ims_03_0911`).
    pub fn job_type(&self) -> &'static str {
        match self {
            Work::Register => "imsNativeImportImageJob",
            Work::AddMembers { .. } => "imsAddImageMembersJob",
            Work::DeleteMembers { .. } => "imsDelImageMembersJob",
            Work::UpdateMembers { .. } => "imsUpdateImageMembersJob",
            Work::Copy {
                cross_region: false,
                ..
            } => "imsCopyImageInRegionJob",
            Work::Copy {
                cross_region: true, ..
            } => "imsCrossRegionCopyImageJob",
        }
    }

    /// The images whose members this job changes (none for registrations and copies).
    pub fn member_images(&self) -> &[String] {
        match self {
            Work::AddMembers { images, .. }
            | Work::DeleteMembers { images, .. }
            | Work::UpdateMembers { images, .. } => images,
            Work::Register | Work::Copy { .. } => &[],
        }
    }

    /// Applies a finished member job to the members of one of its images. Adding an existing
    /// member keeps its status, deleting an absent one does nothing, and an answer from a
    /// project that is no longer a member is dropped (the emulator's choices for the
    /// UNCONFIRMED idempotency of ims-distribution.md section 8, item 5).
    pub fn apply_members(&self, members: &mut BTreeMap<String, Member>, now: DateTime<Utc>) {
        match self {
            Work::AddMembers { projects, .. } => {
                for project in projects {
                    members.entry(project.clone()).or_insert(Member {
                        status: MemberStatus::Pending,
                        created_at: now,
                        updated_at: now,
                    });
                }
            }
            Work::DeleteMembers { projects, .. } => {
                for project in projects {
                    members.remove(project);
                }
            }
            Work::UpdateMembers {
                project, status, ..
            } => {
                if let Some(member) = members.get_mut(project) {
                    member.status = *status;
                    member.updated_at = now;
                }
            }
            Work::Register | Work::Copy { .. } => {}
        }
    }

    /// `entities.results` of a finished member job: one `success` per image and project for
    /// adds and answers (lower-case as in the OTC examples, with the `project_id` the field
    /// table names), none for deletes (as in the OTC example). `None` for other jobs.
    pub fn results(&self) -> Option<Vec<Value>> {
        let result = |image: &String, project: &String| json!({"image_id": image, "project_id": project, "status": "success"});
        match self {
            Work::AddMembers { images, projects } => Some(
                images
                    .iter()
                    .flat_map(|image| projects.iter().map(move |p| result(image, p)))
                    .collect(),
            ),
            Work::UpdateMembers {
                images, project, ..
            } => Some(images.iter().map(|image| result(image, project)).collect()),
            Work::DeleteMembers { .. } => Some(Vec::new()),
            Work::Register | Work::Copy { .. } => None,
        }
    }
}

/// An image's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Saving,
    Active,
    Killed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Saving => "saving",
            Status::Active => "active",
            Status::Killed => "killed",
        }
    }
}

/// One private image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub protected: bool,
    pub container_format: String,
    pub disk_format: String,
    pub min_disk: u32,
    pub min_ram: u64,
    pub os_version: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub active_at: Option<DateTime<Utc>>,
    /// Key/value tags (rendered as `key=value` strings in the image's `tags` array).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Optional string attributes set by PATCH (`__description`, `max_ram`, `__support_kvm`, …).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub data_origin: Option<String>,
    /// The owning project (its region is the image's region); empty in worlds saved before
    /// projects existed, which `Shared::new` (`world.rs`) gives to the first region's default project.
    #[serde(default)]
    pub owner: String,
    /// Consumer projects the image is shared with, by project id.
    #[serde(default)]
    pub members: BTreeMap<String, Member>,
    /// Set when deleted: the emulator clock time at which it disappears (not persisted).
    #[serde(skip)]
    pub gone_at: Option<Duration>,
}

/// How a registration job ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Success,
    Fail { code: String, reason: String },
}

/// A registration job; its status is derived from the clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub image_id: String,
    pub image_name: String,
    pub image_url: String,
    pub begin_time: DateTime<Utc>,
    /// Emulator clock time at which the job started.
    pub started: Duration,
    pub duration: Duration,
    pub outcome: Outcome,
    /// Set once the outcome has been applied to the image.
    #[serde(default)]
    pub finished: bool,
    /// What the job does; `image_id` is the copy for copies and empty for member jobs.
    #[serde(default)]
    pub work: Work,
    /// The project that started the job (only it can read the job); filled like
    /// [`Image::owner`] for old worlds.
    #[serde(default)]
    pub project: String,
}

impl Job {
    /// Progress in 0.0..=1.0 at emulator time `now`.
    pub fn progress(&self, now: Duration) -> f64 {
        if self.duration.is_zero() {
            return 1.0;
        }
        let elapsed = now.saturating_sub(self.started).as_secs_f64();
        (elapsed / self.duration.as_secs_f64()).min(1.0)
    }
}

/// Applies a finished job's outcome to its image.
pub fn finish(image: &mut Image, job: &Job) {
    let now = Utc::now();
    image.updated_at = now;
    match &job.outcome {
        // A copy carries its source's file facts from the start.
        Outcome::Success if matches!(job.work, Work::Copy { .. }) => {
            image.status = Status::Active;
            image.active_at = Some(now);
        }
        Outcome::Success => {
            let digest = sign::sha256_hex(job.image_url.as_bytes());
            // A stable size between 1 and 4 GiB derived from the URL.
            let size = (u64::from_str_radix(&digest[..8], 16).unwrap_or(0) % (3 << 30)) + (1 << 30);
            image.status = Status::Active;
            image.active_at = Some(now);
            image.size = Some(size);
            image.checksum = Some(digest[..32].to_owned());
            image.disk_format = "zvhd2".to_owned();
            image.data_origin = Some(format!("file,{}", job.image_url));
        }
        Outcome::Fail { .. } => image.status = Status::Killed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work_on(members: &mut BTreeMap<String, Member>, work: &Work) {
        work.apply_members(members, Utc::now());
    }

    #[test]
    fn member_jobs_add_answer_and_remove_idempotently() {
        let mut members = BTreeMap::new();
        let images = vec!["i".to_owned()];
        let add = Work::AddMembers {
            images: images.clone(),
            projects: vec!["a".into(), "b".into()],
        };
        work_on(&mut members, &add);
        assert_eq!(members["a"].status, MemberStatus::Pending);
        let accept = Work::UpdateMembers {
            images: images.clone(),
            project: "a".into(),
            status: MemberStatus::Accepted,
        };
        work_on(&mut members, &accept);
        work_on(&mut members, &add);
        assert_eq!(
            members["a"].status,
            MemberStatus::Accepted,
            "re-adding keeps the answer"
        );
        let delete = Work::DeleteMembers {
            images: images.clone(),
            projects: vec!["b".into(), "c".into()],
        };
        work_on(&mut members, &delete);
        assert_eq!(members.keys().collect::<Vec<_>>(), ["a"]);
        let stranger = Work::UpdateMembers {
            images,
            project: "z".into(),
            status: MemberStatus::Rejected,
        };
        work_on(&mut members, &stranger);
        assert!(!members.contains_key("z"));
    }

    #[test]
    fn results_and_job_types_follow_the_kind() {
        let add = Work::AddMembers {
            images: vec!["i1".into(), "i2".into()],
            projects: vec!["p".into()],
        };
        let results = add.results().unwrap_or_default();
        assert_eq!(results.len(), 2);
        assert_eq!(results[1]["image_id"], "i2");
        assert_eq!(results[1]["status"], "success");
        assert_eq!(add.job_type(), "imsAddImageMembersJob");
        assert_eq!(Work::Register.results(), None);
        let copy = Work::Copy {
            source_region: "r".into(),
            source_id: "s".into(),
            cross_region: true,
        };
        assert_eq!(copy.job_type(), "imsCrossRegionCopyImageJob");
        assert!(copy.member_images().is_empty());
    }
}
