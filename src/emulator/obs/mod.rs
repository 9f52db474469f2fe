//! The emulator's OBS: one endpoint per region (its own listener, as each Huawei region has
//! its own OBS host), path-style addressing (`/bucket/key`, what loopback endpoints use), the
//! object and multipart operations imsform and Huawei's OBS SDK call, objects on disk.
//!
//! Every request passes the same gate as IMS requests, in this order: statistics (counted by
//! `"METHOD /{bucket}/{object}?sub-resource"`) and recording (headers without secrets, no
//! body), the silent fault and injected latency, the signature (403 with OBS's XML error), throttling and injected
//! 5xx (before acting), the bucket's region (404 `NoSuchBucket`, or 301 `PermanentRedirect`
//! for a bucket of another region), the operation, then the decision to drop the answer after
//! acting. So the fault injection of `POST /__emulator/faults` applies to OBS as well.
//!
//! - `store.rs`: buckets, objects and uploads on disk; `receive.rs`: bodies onto disk;
//! - `objects.rs`: PUT, HEAD, GET, DELETE, HEAD bucket; `multipart.rs`: the five multipart
//!   calls; `auth.rs`: signatures; `reply.rs`: errors and request ids;
//! - `registration.rs`: what IMS checks of the object it registers (`Store::registration_problem`).
//!
//! Owns no IMS state; reaches the world only for statistics, recording and faults.

mod auth;
mod multipart;
mod objects;
mod receive;
pub mod registration;
mod reply;
pub mod store;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;

use super::router::{DropConnection, stall};
use super::world::{RecordedRequest, Shared};
use crate::obs::Family;
use reply::{Context, ObsError};
use store::Store;

/// Headers never recorded.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-obs-security-token",
    "x-amz-security-token",
];

/// One OBS request, parsed and authenticated, as the operations see it.
pub struct ObsRequest {
    pub store: Store,
    pub region: String,
    pub bucket: String,
    /// Decoded; empty for the bucket itself.
    pub key: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    pub headers: axum::http::HeaderMap,
    pub family: Family,
}

/// Runs blocking store work off the async threads; a disk failure is a 500 `InternalError`.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, ObsError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ObsError::internal(&error)),
        Err(error) => Err(ObsError::internal(&std::io::Error::other(
            error.to_string(),
        ))),
    }
}

/// The operations served, each with its statistics name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    HeadBucket,
    Put,
    Head,
    Get,
    Delete,
    Initiate,
    UploadPart,
    ListParts,
    Complete,
    Abort,
}

impl Operation {
    fn of(method: &Method, key: &str, query: &[(String, String)]) -> Option<Operation> {
        let has = |name: &str| query.iter().any(|(key, _)| key == name);
        if key.is_empty() {
            return (method == Method::HEAD).then_some(Operation::HeadBucket);
        }
        let upload = has("uploadId");
        Some(match *method {
            Method::PUT if upload && has("partNumber") => Operation::UploadPart,
            Method::PUT if !upload => Operation::Put,
            Method::HEAD => Operation::Head,
            Method::GET if upload => Operation::ListParts,
            Method::GET => Operation::Get,
            Method::DELETE if upload => Operation::Abort,
            Method::DELETE => Operation::Delete,
            Method::POST if has("uploads") => Operation::Initiate,
            Method::POST if upload => Operation::Complete,
            _ => return None,
        })
    }

    /// The statistics (and `drop_routes`) name, like IMS's `"METHOD /template"`.
    fn route(self) -> &'static str {
        match self {
            Operation::HeadBucket => "HEAD /{bucket}",
            Operation::Put => "PUT /{bucket}/{object}",
            Operation::Head => "HEAD /{bucket}/{object}",
            Operation::Get => "GET /{bucket}/{object}",
            Operation::Delete => "DELETE /{bucket}/{object}",
            Operation::Initiate => "POST /{bucket}/{object}?uploads",
            Operation::UploadPart => "PUT /{bucket}/{object}?partNumber&uploadId",
            Operation::ListParts => "GET /{bucket}/{object}?uploadId",
            Operation::Complete => "POST /{bucket}/{object}?uploadId",
            Operation::Abort => "DELETE /{bucket}/{object}?uploadId",
        }
    }
}

/// What the OBS router of one region needs.
#[derive(Clone)]
struct Gate {
    shared: Shared,
    region: String,
}

/// The OBS endpoint of `region`.
pub fn router(shared: Shared, region: &str) -> Router {
    let gate = Gate {
        shared,
        region: region.to_owned(),
    };
    Router::new().fallback(handle).with_state(gate)
}

/// `/bucket/key…` into the decoded bucket and key.
fn split_path(raw: &str) -> (String, String) {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let trimmed = raw.strip_prefix('/').unwrap_or(raw);
    match trimmed.split_once('/') {
        Some((bucket, key)) => (decode(bucket), decode(key)),
        None => (decode(trimmed), String::new()),
    }
}

fn record(parts: &axum::http::request::Parts) -> RecordedRequest {
    RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| !SECRET_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    }
}

/// Reads and forgets a body the answer does not need, so the client reads the answer rather
/// than a connection reset.
async fn drain(body: Body) {
    body.into_data_stream()
        .for_each(|_| std::future::ready(()))
        .await;
}

async fn handle(State(gate): State<Gate>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let context = Context::new(auth::family_of(&parts.headers));
    let head = parts.method == Method::HEAD;
    let query = crate::sign::parse_query(parts.uri.query().unwrap_or(""));
    let (bucket, key) = split_path(parts.uri.path());
    let Some(operation) = Operation::of(&parts.method, &key, &query) else {
        drain(body).await;
        let error = ObsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
        return error.render(head, &context);
    };
    let (shared, route) = (gate.shared.clone(), operation.route());
    let recorded = record(&parts);
    let (latency, silent) = shared
        .run(move |world| {
            *world.stats.entry(route.to_owned()).or_insert(0) += 1;
            world.record(recorded);
            (world.faults.latency(), world.faults.silent())
        })
        .await;
    if silent {
        drain(body).await;
        return stall(&shared).await;
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let request = ObsRequest {
        store: shared.config.obs.clone(),
        region: gate.region.clone(),
        bucket,
        key,
        query,
        headers: parts.headers.clone(),
        family: context.family,
    };
    let admitted = admit(&shared, &parts, &request).await;
    let result = match admitted {
        Ok(()) => dispatch(operation, request, body).await,
        Err(error) => {
            drain(body).await;
            Err(error)
        }
    };
    let mut response = result.unwrap_or_else(|error| error.render(head, &context));
    context.stamp(&mut response);
    if shared
        .run(move |world| world.faults.drop_response(route))
        .await
    {
        response.extensions_mut().insert(DropConnection);
    }
    response
}

/// Signature, throttling, injected failures and the bucket's region, before acting.
async fn admit(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    request: &ObsRequest,
) -> Result<(), ObsError> {
    let principal = auth::authenticate(
        parts.method.as_str(),
        parts.uri.path(),
        &request.query,
        &parts.headers,
        &shared.config,
        chrono::Utc::now(),
    )?;
    let (throttled, injected) = shared
        .run(move |world| {
            (
                world
                    .faults
                    .take_token(&principal.access_key, world.now)
                    .err(),
                world.faults.injected_error(),
            )
        })
        .await;
    if throttled.is_some() {
        return Err(ObsError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ));
    }
    match injected {
        Some(500) => {
            return Err(ObsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error (injected). Please try again.",
            ));
        }
        Some(_) => {
            return Err(ObsError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Service unavailable (injected). Please try again.",
            ));
        }
        None => {}
    }
    let (store, bucket) = (request.store.clone(), request.bucket.clone());
    match blocking(move || Ok(store.bucket_region(&bucket))).await? {
        None => Err(ObsError::no_bucket(&request.bucket)),
        Some(region) if region != request.region => Err(ObsError::new(
            StatusCode::MOVED_PERMANENTLY,
            "PermanentRedirect",
            format!(
                "The bucket {} is in {region}: use that region's endpoint.",
                request.bucket
            ),
        )),
        Some(_) => Ok(()),
    }
}

async fn dispatch(operation: Operation, request: ObsRequest, body: Body) -> reply::Reply {
    match operation {
        Operation::HeadBucket => Ok(objects::head_bucket(&request)),
        Operation::Put => objects::put(request, body).await,
        Operation::Head => objects::read(request, true).await,
        Operation::Get => objects::read(request, false).await,
        Operation::Delete => objects::delete(request).await,
        Operation::Initiate => multipart::initiate(request).await,
        Operation::UploadPart => multipart::upload_part(request, body).await,
        Operation::ListParts => multipart::list_parts(request).await,
        Operation::Complete => multipart::complete(request, body).await,
        Operation::Abort => multipart::abort(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|name| ((*name).to_owned(), String::new()))
            .collect()
    }

    #[test]
    fn operations_are_told_apart_by_method_and_sub_resource() {
        assert_eq!(
            Operation::of(&Method::PUT, "k", &pairs(&["partNumber", "uploadId"])),
            Some(Operation::UploadPart)
        );
        assert_eq!(Operation::of(&Method::PUT, "k", &[]), Some(Operation::Put));
        assert_eq!(
            Operation::of(&Method::POST, "k", &pairs(&["uploads"])),
            Some(Operation::Initiate)
        );
        assert_eq!(
            Operation::of(&Method::GET, "k", &pairs(&["uploadId"])),
            Some(Operation::ListParts)
        );
        assert_eq!(
            Operation::of(&Method::HEAD, "", &[]),
            Some(Operation::HeadBucket)
        );
        assert_eq!(Operation::of(&Method::GET, "", &[]), None);
        assert_eq!(
            split_path("/b/a%20b/c.qcow2"),
            ("b".to_owned(), "a b/c.qcow2".to_owned())
        );
        assert_eq!(split_path("/b"), ("b".to_owned(), String::new()));
    }
}
