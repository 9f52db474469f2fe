//! Lenient reading of IMS responses into the module's types: images (tags as `k=v` or legacy
//! `k.v`, numbers as numbers or strings, `__image_size` as a string), list pages in all three
//! pagination styles, jobs (`end_time` `""`, `entities.image_id` present or absent, progress as
//! a number or a string), project lists, the os_version list and the quota. Pure.

use serde_json::Value;

use super::{ImageStatus, Job, JobStatus, RemoteImage};
use crate::sign;

/// Where the next list page is, as a page announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPage {
    /// A `next` link: its path and decoded query (any scheme and host are dropped: the next
    /// page is always asked of our own endpoint, so credentials never go elsewhere).
    Link {
        path: String,
        query: Vec<(String, String)>,
    },
    /// Ask again with `marker=<id>`.
    Marker(String),
    /// This was the last page.
    Done,
}

/// One page of `GET /v2/cloudimages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub images: Vec<RemoteImage>,
    pub next: NextPage,
}

/// Reads a list page: `next` if present, else `page_info.next_marker`, else `marker=<last id>`
/// when the page is full (`len >= limit`).
pub fn parse_page(body: &Value, limit: usize) -> Option<Page> {
    let raw_images = body.get("images")?.as_array()?;
    let images: Vec<RemoteImage> = raw_images.iter().filter_map(parse_image).collect();
    let link = body
        .get("next")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let marker = body
        .get("page_info")
        .and_then(|info| info.get("next_marker"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let next = if let Some(link) = link {
        split_link(link)
    } else if let Some(marker) = marker {
        NextPage::Marker(marker.to_owned())
    } else if raw_images.len() >= limit {
        raw_images
            .last()
            .and_then(|image| image.get("id"))
            .and_then(Value::as_str)
            .map_or(NextPage::Done, |id| NextPage::Marker(id.to_owned()))
    } else {
        NextPage::Done
    };
    Some(Page { images, next })
}

fn split_link(link: &str) -> NextPage {
    let without_scheme = link.split_once("://").map_or(link, |(_, rest)| rest);
    let path_and_query = if link.contains("://") {
        without_scheme
            .find('/')
            .map_or("/", |at| &without_scheme[at..])
    } else {
        link
    };
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    NextPage::Link {
        path: path.to_owned(),
        query: sign::parse_query(query),
    }
}

/// Reads one image object; `None` when it has no id.
pub fn parse_image(value: &Value) -> Option<RemoteImage> {
    let id = text(value, "id")?;
    let tags = value
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(parse_tag)
                .collect()
        })
        .unwrap_or_default();
    Some(RemoteImage {
        id,
        name: text(value, "name").unwrap_or_default(),
        status: ImageStatus::parse(&text(value, "status").unwrap_or_default()),
        tags,
        os_version: text(value, "__os_version"),
        disk_format: text(value, "disk_format"),
        min_disk: number(value, "min_disk").unwrap_or(0) as u32,
        min_ram: number(value, "min_ram").unwrap_or(0) as u32,
        description: text(value, "__description"),
        protected: boolean(value, "protected"),
        checksum: text(value, "checksum"),
        size: number(value, "__image_size").or_else(|| number(value, "size")),
        created_at: text(value, "created_at"),
        updated_at: text(value, "updated_at"),
        image_url: text(value, "__data_origin")
            .and_then(|origin| origin.strip_prefix("file,").map(str::to_owned))
            .filter(|url| !url.is_empty()),
        copied_from: text(value, "__data_origin").and_then(|origin| {
            let (region, id) = origin.strip_prefix("image,")?.split_once(',')?;
            Some((region.to_owned(), id.to_owned()))
        }),
        members: None,
    })
}

/// `"k=v"`, or legacy `"k.v"` when there is no `=`, or a bare key with an empty value.
pub fn parse_tag(tag: &str) -> (String, String) {
    let (key, value) = tag
        .split_once('=')
        .or_else(|| tag.split_once('.'))
        .unwrap_or((tag, ""));
    (key.to_owned(), value.to_owned())
}

/// A non-empty string field (numbers are rendered as text).
pub(crate) fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative integer given as a number or as a string.
fn number(value: &Value, key: &str) -> Option<u64> {
    match value.get(key)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn boolean(value: &Value, key: &str) -> bool {
    match value.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Reads a job from either job endpoint; `None` without a known status.
pub fn parse_job(value: &Value, job_id: &str) -> Option<Job> {
    let status = match text(value, "status")?.to_ascii_uppercase().as_str() {
        "INIT" => JobStatus::Init,
        "RUNNING" => JobStatus::Running,
        "SUCCESS" => JobStatus::Success,
        "FAIL" | "FAILED" => JobStatus::Fail,
        _ => return None,
    };
    let entities = value.get("entities").cloned().unwrap_or(Value::Null);
    let progress = match entities.get("process_percent") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Some(Job {
        id: text(value, "job_id").map_or_else(|| job_id.to_owned(), |id| id.trim().to_owned()),
        status,
        image_id: text(&entities, "image_id"),
        error_code: text(value, "error_code"),
        fail_reason: text(value, "fail_reason"),
        progress: progress.map(|p| p.clamp(0.0, 1.0)),
    })
}

/// The job id of a register response, trimmed.
pub fn parse_job_id(value: &Value) -> Option<String> {
    text(value, "job_id")
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

/// The ids in an IAM `{"projects":[{"id",…}]}` answer.
pub fn parse_project_ids(value: &Value) -> Option<Vec<String>> {
    let projects = value.get("projects")?.as_array()?;
    Some(projects.iter().filter_map(|p| text(p, "id")).collect())
}

/// Every `os_version` string of `GET /v1/cloudimages/os_version`, sorted and unique.
pub fn parse_os_versions(value: &Value) -> Option<Vec<String>> {
    let platforms = value.as_array()?;
    let mut versions: Vec<String> = platforms
        .iter()
        .filter_map(|p| p.get("version_list").and_then(Value::as_array))
        .flatten()
        .filter_map(|v| text(v, "os_version"))
        .collect();
    versions.sort();
    versions.dedup();
    Some(versions)
}

/// The private image quota: `(used, quota)` of the `image` resource.
pub fn parse_quota(value: &Value) -> Option<(u64, u64)> {
    let resources = value.get("quotas")?.get("resources")?.as_array()?;
    let image = resources
        .iter()
        .find(|r| r.get("type").and_then(Value::as_str) == Some("image"))?;
    Some((number(image, "used")?, number(image, "quota")?))
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
