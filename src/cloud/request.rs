//! Pure request builders: what each IMS operation sends (method, path, query pairs, body,
//! content type, idempotence), following ims-api.md section 10's client conventions and the
//! official SDK's wire shapes (section 5), and the headers that authenticate a request. Nothing
//! here sends anything or reads a clock.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::credentials::Credentials;
use super::{AttrUpdate, CreateImage};
use crate::sign;

/// `Content-Type` of requests with a JSON body, as the SDK sends it (lower-cased).
pub const JSON_UTF8: &str = "application/json;charset=utf-8";
/// `Content-Type` the SDK sends on bodiless requests.
pub const JSON: &str = "application/json";
/// The list page size imsform asks for by default (the emulator's maximum, section 10).
pub const PAGE_SIZE: usize = 1000;

/// Which service a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ims,
    Iam,
}

/// One request, before authentication.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// What the request does, for error messages ("create image metadata").
    pub operation: &'static str,
    pub service: Service,
    pub method: &'static str,
    /// The path after the endpoint, path parameters already encoded.
    pub path: String,
    /// Decoded query pairs; the URL carries exactly `sign::canonical_query(&query)`.
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// `JSON_UTF8` for requests with a body and for DELETE, else `JSON` (as the SDK sends).
    pub content_type: &'static str,
    /// Safe to send again when its answer is lost.
    pub idempotent: bool,
}

impl ApiRequest {
    pub(crate) fn new(operation: &'static str, method: &'static str, path: String) -> ApiRequest {
        ApiRequest {
            operation,
            service: Service::Ims,
            method,
            path,
            query: Vec::new(),
            body: None,
            content_type: if method == "DELETE" { JSON_UTF8 } else { JSON },
            idempotent: true,
        }
    }

    pub(crate) fn with_json(mut self, body: &Value) -> ApiRequest {
        self.body = Some(body.to_string().into_bytes());
        self.content_type = JSON_UTF8;
        self
    }

    /// The URL query string, exactly the canonical one.
    pub fn query_string(&self) -> String {
        sign::canonical_query(&self.query)
    }
}

pub(crate) fn segment(value: &str) -> String {
    sign::encode(value)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `GET /v3/projects?name={region}` on IAM.
pub fn list_projects(name: &str) -> ApiRequest {
    let mut request = ApiRequest::new("look up the project id", "GET", "/v3/projects".into());
    request.service = Service::Iam;
    request.query = pairs(&[("name", name)]);
    request
}

/// `GET /v2/cloudimages` with `filters` plus the private-image filters, one page of `limit`.
pub fn list_images(
    project_id: &str,
    limit: usize,
    filters: &[(String, String)],
    marker: Option<&str>,
) -> ApiRequest {
    list_typed(ImageType::Private, project_id, limit, filters, marker)
}

/// The `__imagetype` of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    /// The project's own images.
    Private,
    /// Images shared with the project, and with `owner=<project>` the project's own images
    /// that have members (ims-distribution.md section 3.1).
    Shared,
}

impl ImageType {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageType::Private => "private",
            ImageType::Shared => "shared",
        }
    }
}

/// `GET /v2/cloudimages?__imagetype=<kind>&owner=<project>&limit=…` with `filters`, one page.
pub fn list_typed(
    kind: ImageType,
    project_id: &str,
    limit: usize,
    filters: &[(String, String)],
    marker: Option<&str>,
) -> ApiRequest {
    let limit = limit.to_string();
    let mut request = ApiRequest::new("list images", "GET", "/v2/cloudimages".into());
    request.query = pairs(&[
        ("__imagetype", kind.as_str()),
        ("owner", project_id),
        ("limit", &limit),
    ]);
    request.query.extend(filters.iter().cloned());
    if let Some(marker) = marker {
        request.query.push(("marker".into(), marker.into()));
    }
    request
}

/// A page named by a `next` link: its path and decoded query, on our own endpoint.
pub fn follow_next(path: &str, query: Vec<(String, String)>) -> ApiRequest {
    let mut request = ApiRequest::new("list images", "GET", path.to_owned());
    request.query = query;
    request
}

/// `GET /v2/cloudimages?id={id}`.
pub fn get_image(image_id: &str) -> ApiRequest {
    let mut request = ApiRequest::new("read image", "GET", "/v2/cloudimages".into());
    request.query = pairs(&[("id", image_id)]);
    request
}

/// `POST /v2/images`: metadata only; expects 201. Not idempotent.
pub fn create_metadata(create: &CreateImage) -> ApiRequest {
    let tags: Vec<String> = create
        .tags
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let body = json!({
        "__os_version": create.os_version,
        "name": create.name,
        "disk_format": create.disk_format.as_str(),
        "min_disk": create.min_disk,
        "min_ram": create.min_ram,
        "protected": create.protected,
        "visibility": "private",
        "container_format": "bare",
        "tags": tags,
    });
    let mut request =
        ApiRequest::new("create image metadata", "POST", "/v2/images".into()).with_json(&body);
    request.idempotent = false;
    request
}

/// `PUT /v1/cloudimages/{id}/upload`: register the OBS file; expects 200 + job id. Not
/// idempotent.
pub fn register(image_id: &str, image_url: &str) -> ApiRequest {
    let path = format!("/v1/cloudimages/{}/upload", segment(image_id));
    let mut request = ApiRequest::new("register image file", "PUT", path)
        .with_json(&json!({ "image_url": image_url }));
    request.idempotent = false;
    request
}

/// `GET /v1/{project_id}/jobs/{job_id}`.
pub fn job(project_id: &str, job_id: &str) -> ApiRequest {
    let path = format!("/v1/{}/jobs/{}", segment(project_id), segment(job_id));
    ApiRequest::new("read job", "GET", path)
}

/// `GET /v1/cloudimages/job/{job_id}` (status plus progress).
pub fn job_progress(job_id: &str) -> ApiRequest {
    let path = format!("/v1/cloudimages/job/{}", segment(job_id));
    ApiRequest::new("read job progress", "GET", path)
}

/// The op of one attribute change: `op` is `replace` or `add` (the IMG.0035 fallback).
pub fn update_op(change: &AttrUpdate, op: &str) -> Value {
    match change {
        AttrUpdate::Name(name) => json!({"op": op, "path": "/name", "value": name}),
        AttrUpdate::MinRam(ram) => json!({"op": op, "path": "/min_ram", "value": ram}),
        AttrUpdate::Description(Some(text)) => {
            json!({"op": op, "path": "/__description", "value": text})
        }
        AttrUpdate::Description(None) => json!({"op": "remove", "path": "/__description"}),
    }
}

/// `PATCH /v2/cloudimages/{id}` with the given ops (a JSON array).
pub fn update(image_id: &str, ops: Vec<Value>) -> ApiRequest {
    let path = format!("/v2/cloudimages/{}", segment(image_id));
    ApiRequest::new("update image", "PATCH", path).with_json(&Value::Array(ops))
}

/// `POST /v2/{project_id}/images/{id}/tags/action`, `create` or `delete`.
pub fn tags_action(
    project_id: &str,
    image_id: &str,
    action: &str,
    tags: &BTreeMap<String, String>,
) -> ApiRequest {
    let path = format!(
        "/v2/{}/images/{}/tags/action",
        segment(project_id),
        segment(image_id)
    );
    let tags: Vec<Value> = tags
        .iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    ApiRequest::new("update image tags", "POST", path)
        .with_json(&json!({"action": action, "tags": tags}))
}

/// `DELETE /v2/images/{id}`; expects 204.
pub fn delete(image_id: &str) -> ApiRequest {
    ApiRequest::new(
        "delete image",
        "DELETE",
        format!("/v2/images/{}", segment(image_id)),
    )
}

/// `GET /v1/cloudimages/os_version`.
pub fn os_versions() -> ApiRequest {
    ApiRequest::new(
        "list os versions",
        "GET",
        "/v1/cloudimages/os_version".into(),
    )
}

/// `GET /v1/cloudimages/quota` (the SDK's path).
pub fn quota() -> ApiRequest {
    ApiRequest::new("read image quota", "GET", "/v1/cloudimages/quota".into())
}

/// What the authentication step needs besides the request.
#[derive(Debug, Clone, Copy)]
pub struct HeaderContext<'a> {
    /// `Host` header value (with `:port` when the URL names one).
    pub host: &'a str,
    /// The endpoint's path prefix, prepended to the request path.
    pub path_prefix: &'a str,
    /// `X-Project-Id`, for IMS requests once known.
    pub project_id: Option<&'a str>,
    /// `X-Sdk-Date`, `%Y%m%dT%H%M%SZ` in UTC.
    pub sdk_date: &'a str,
    pub user_agent: &'a str,
}

/// The headers to send: `Content-Type`, `User-Agent`, `X-Project-Id`, then either the
/// signature headers (`X-Security-Token`, `X-Sdk-Date`, `Host`, `Authorization`; all signed)
/// or `X-Auth-Token`. The path signed is `path_prefix + request.path`.
pub fn auth_headers(
    request: &ApiRequest,
    credentials: &Credentials,
    context: HeaderContext<'_>,
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Content-Type".to_owned(), request.content_type.to_owned()),
        ("User-Agent".to_owned(), context.user_agent.to_owned()),
    ];
    if let Some(project_id) = context.project_id {
        headers.push(("X-Project-Id".into(), project_id.into()));
    }
    match credentials {
        Credentials::Token { token } => headers.push(("X-Auth-Token".into(), token.clone())),
        Credentials::AkSk {
            access_key,
            secret_key,
            security_token,
        } => {
            if let Some(token) = security_token {
                headers.push(("X-Security-Token".into(), token.clone()));
            }
            headers.push((sign::DATE_HEADER.into(), context.sdk_date.into()));
            headers.push(("Host".into(), context.host.into()));
            let path = format!("{}{}", context.path_prefix, request.path);
            let body = request.body.as_deref().unwrap_or_default();
            let signed = sign::sign(
                request.method,
                &path,
                &request.query,
                &mut headers,
                body,
                access_key,
                secret_key,
            );
            headers.push(("Authorization".into(), signed.authorization));
        }
    }
    headers
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
