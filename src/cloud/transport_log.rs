//! What the transport ([`super::client`]) says about each attempt: one `-vv` line per exchange
//! (method, path and query, status or failure, duration, request id) and the one-line reading of
//! a transport error. Never a header: the signature and tokens live there.

use std::time::Duration;

use super::request::ApiRequest;

/// One line per attempt at `-vv`: method, path, status (or failure), duration and request id.
/// Never a header: the signature and tokens live there.
pub(super) fn log_exchange<B, R>(
    request: &ApiRequest,
    took: Duration,
    result: &Result<(u16, B, Option<String>, R), reqwest::Error>,
) {
    let (method, path, ms) = (request.method, &request.path, took.as_millis());
    let query = request.query_string();
    let sep = if query.is_empty() { "" } else { "?" };
    match result {
        Ok((status, _, request_id, _)) => {
            let id = request_id.as_deref().unwrap_or("-");
            tracing::debug!("{method} {path}{sep}{query} -> {status} in {ms}ms [request id {id}]");
        }
        Err(error) => {
            let error = error_chain(error);
            tracing::debug!("{method} {path}{sep}{query} -> failed in {ms}ms: {error}");
        }
    }
}

/// The error and its sources on one line (reqwest's top-level message alone is vague).
pub(super) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
