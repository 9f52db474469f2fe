//! The route table and the gate every IMS request passes: request id, statistics, recording,
//! latency, authentication, project check (the [`Caller`] handlers act as), throttling,
//! injected 5xx, and after the handler has acted, the decision to drop the response. Unknown
//! routes are 404 APIG.0101. Each region has its own router (and listener) over the one world,
//! as each Huawei region has its own IMS endpoint.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use super::model::Caller;
use super::reply::{ApiError, RequestId};
use super::world::{RecordedRequest, Shared};
use super::{admin, auth, copy, images, info, jobs, list, members, tags, update};

/// Bodies larger than this are refused (the gateway's AK/SK limit is about 12 MB).
const BODY_LIMIT: usize = 12 * 1024 * 1024;

/// Marks a response whose connection must be dropped instead of answered.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// Headers never recorded.
const SECRET_HEADERS: &[&str] = &["authorization", "x-auth-token", "x-security-token"];

/// What the gate of one region's router needs.
#[derive(Clone)]
struct Gate {
    shared: Shared,
    region: String,
}

/// The member and copy routes of ims-distribution.md section 1 (the deprecated single-member
/// Glance calls, rows 8 to 10, are not served).
fn distribution() -> Router<Shared> {
    Router::new()
        .route(
            "/v1/cloudimages/members",
            post(members::add)
                .put(members::answer)
                .delete(members::remove),
        )
        .route("/v2/images/{image_id}/members", get(members::list))
        .route(
            "/v1/{project_id}/cloudimages/{image_id}/members",
            get(members::list_in_project),
        )
        .route(
            "/v2/images/{image_id}/members/{member_id}",
            get(members::show),
        )
        .route(
            "/v1/{project_id}/cloudimages/{image_id}/members/{member_id}",
            get(members::show_in_project),
        )
        .route("/v1/cloudimages/{image_id}/copy", post(copy::in_region))
        .route("/v2.1/cloudimages/{image_id}/copy", post(copy::in_region))
        .route(
            "/v1/cloudimages/{image_id}/cross_region_copy",
            post(copy::cross_region),
        )
}

/// The whole application as seen through `region`'s endpoint.
pub fn router(shared: Shared, region: &str) -> Router {
    let gate_state = Gate {
        shared: shared.clone(),
        region: region.to_owned(),
    };
    let ims = Router::new()
        .route("/v2/images", post(images::create).get(list::native_list))
        .route(
            "/v2/images/{image_id}",
            get(images::show)
                .patch(update::update)
                .delete(images::delete),
        )
        .route(
            "/v2/images/{image_id}/tags/{tag}",
            put(tags::native_add).delete(tags::native_delete),
        )
        .route("/v1/cloudimages/{image_id}/upload", put(jobs::register))
        .route("/v1/{project_id}/jobs/{job_id}", get(jobs::show))
        .route("/v1/cloudimages/job/{job_id}", get(jobs::show_progress))
        .route("/v2/cloudimages", get(list::list))
        .route(
            "/v2/cloudimages/{image_id}",
            axum::routing::patch(update::update),
        )
        .route(
            "/v2/{project_id}/images/{image_id}/tags",
            post(tags::add).get(tags::list),
        )
        .route(
            "/v2/{project_id}/images/{image_id}/tags/action",
            post(tags::batch),
        )
        .route(
            "/v2/{project_id}/images/{image_id}/tags/{key}",
            axum::routing::delete(tags::delete),
        )
        .route("/v1/cloudimages/quota", get(info::quota))
        .route("/v1/{project_id}/cloudimages/quota", get(info::quota))
        .route("/v1/cloudimages/os_version", get(info::os_versions))
        .route("/v3/projects", get(info::projects))
        .merge(distribution())
        .route_layer(middleware::from_fn_with_state(gate_state, gate));
    let admin = Router::new()
        .route("/__emulator/stats", get(admin::stats))
        .route("/__emulator/images", get(admin::images))
        .route("/__emulator/faults", post(admin::faults))
        .route("/__emulator/reset", post(admin::reset));
    ims.merge(admin)
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .layer(middleware::from_fn(request_id))
        .with_state(shared)
}

/// Gives every request an id and every response its `X-Request-Id`.
async fn request_id(mut request: Request, next: Next) -> Response {
    let id = RequestId::generate();
    request.extensions_mut().insert(id.clone());
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn request_id_of(request: &Request) -> RequestId {
    request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate)
}

async fn unknown_route(request: Request) -> Response {
    let id = request_id_of(&request);
    ApiError::gateway(
        StatusCode::NOT_FOUND,
        "APIG.0101",
        "The API does not exist or has not been published in the environment.",
        &id,
    )
    .into_response()
}

/// The `{project_id}` segment of `path` when `template` has one.
fn path_project(template: &str, path: &str) -> Option<String> {
    let index = template
        .split('/')
        .position(|segment| segment == "{project_id}")?;
    let raw = path.split('/').nth(index)?;
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn record(request: &axum::http::request::Parts, body: &[u8]) -> RecordedRequest {
    RecordedRequest {
        method: request.method.to_string(),
        path: request.uri.path().to_owned(),
        query: request.uri.query().unwrap_or("").to_owned(),
        headers: request
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
        body: body.to_vec(),
    }
}

/// Authentication, throttling and injected failures, before the handler acts; the caller's
/// project once checked (`None` for IAM, which needs no project).
async fn admit(
    gate: &Gate,
    parts: &axum::http::request::Parts,
    body: &[u8],
    template: &str,
    id: &RequestId,
) -> Result<Option<Caller>, ApiError> {
    let shared = &gate.shared;
    let signed = auth::SignedParts {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    let principal = auth::authenticate_counted(shared, &signed, id).await?;
    let caller = if template == "/v3/projects" {
        None
    } else {
        let in_path = path_project(template, parts.uri.path());
        let config = &shared.config;
        let caller =
            auth::check_project(&parts.headers, in_path.as_deref(), config, &gate.region, id)?;
        Some(caller)
    };
    let (throttled, injected) = shared
        .run(move |world| {
            (
                world.faults.take_token(&principal, world.now).err(),
                world.faults.injected_error(),
            )
        })
        .await;
    if let Some(seconds) = throttled {
        let mut error = ApiError::gateway(
            StatusCode::TOO_MANY_REQUESTS,
            "APIG.0308",
            "The throttling threshold has been reached: policy user over ratelimit,limit:1,time:1 second",
            id,
        );
        if let ApiError::Gateway { retry_after, .. } = &mut error {
            *retry_after = Some(seconds);
        }
        return Err(error);
    }
    match injected {
        Some(500) => Err(ApiError::gateway(
            StatusCode::INTERNAL_SERVER_ERROR,
            "APIG.0203",
            "Backend error (injected).",
            id,
        )),
        Some(_) => Err(ApiError::gateway(
            StatusCode::SERVICE_UNAVAILABLE,
            "APIG.0202",
            "Backend unavailable (injected).",
            id,
        )),
        None => Ok(caller),
    }
}

/// The gate of every IMS route.
async fn gate(
    State(gate): State<Gate>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let id = request_id_of(&request);
    let route = format!("{} {}", request.method(), matched.as_str());
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, BODY_LIMIT).await else {
        return ApiError::gateway(
            StatusCode::PAYLOAD_TOO_LARGE,
            "APIG.0201",
            "Request entity too large.",
            &id,
        )
        .into_response();
    };
    let shared = gate.shared.clone();
    let recorded = record(&parts, &body);
    let stat = route.clone();
    let (latency, silent) = shared
        .run(move |world| {
            *world.stats.entry(stat).or_insert(0) += 1;
            world.record(recorded);
            (world.faults.latency(), world.faults.silent())
        })
        .await;
    if silent {
        return stall(&shared).await;
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let caller = match admit(&gate, &parts, &body, matched.as_str(), &id).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let mut request = Request::from_parts(parts, Body::from(body));
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
    }
    let mut response = next.run(request).await;
    if shared
        .run(move |world| world.faults.drop_response(&route))
        .await
    {
        response.extensions_mut().insert(DropConnection);
    }
    response
}

/// The `silent` fault: no answer while it lasts (the connection stays open), then a dropped
/// connection; the request is never acted on.
pub(super) async fn stall(shared: &Shared) -> Response {
    while shared.run(|world| world.faults.silent()).await {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_comes_from_the_templated_segment() {
        assert_eq!(
            path_project("/v1/{project_id}/jobs/{job_id}", "/v1/abc/jobs/j").as_deref(),
            Some("abc")
        );
        assert_eq!(path_project("/v2/cloudimages", "/v2/cloudimages"), None);
    }
}
