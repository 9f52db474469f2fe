//! Reading OBS answers and writing headers: OBS's XML errors into [`CloudError`] (403s of bad
//! credentials or clock become [`CloudError::Auth`] with what to check), HEAD headers into
//! [`ObjectInfo`], header pairs into a `HeaderMap` with the secrets marked sensitive, and the
//! `-vv` line of each attempt, which never shows a header value. Pure but for the log line.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::request::{FAMILY, ObsRequest};
use super::types::ObjectInfo;
use crate::cloud::CloudError;
use crate::obs::{StorageClass, unquote_etag, xml};

/// An error answer: OBS's XML `<Error>` (code, message, request id), or for bodiless answers
/// (HEAD) the status. 403s that mean bad credentials or clock become [`CloudError::Auth`].
pub(super) fn read_error(
    operation: &'static str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> CloudError {
    let text = String::from_utf8_lossy(body);
    let code = xml::text(&text, "Code").unwrap_or_else(|| status.to_string());
    let message = xml::text(&text, "Message").unwrap_or_else(|| match status {
        404 => "not found".to_owned(),
        _ => text.chars().take(300).collect(),
    });
    let request_id = headers
        .get(FAMILY.request_id_header())
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| xml::text(&text, "RequestId"));
    let hint = match code.as_str() {
        "SignatureDoesNotMatch" => Some("OBS rejected the request signature: check HW_SECRET_KEY"),
        "InvalidAccessKeyId" => Some("OBS does not know this access key: check HW_ACCESS_KEY"),
        "RequestTimeTooSkewed" => Some(
            "OBS rejected the request time: check this machine's clock (within 15 minutes of the cloud's)",
        ),
        "InvalidToken" | "ExpiredToken" => {
            Some("OBS rejected the temporary credentials: HW_SECURITY_TOKEN is invalid or expired")
        }
        _ => None,
    };
    match hint {
        Some(hint) => CloudError::Auth {
            status,
            code,
            message,
            request_id,
            hint: hint.to_owned(),
        },
        None => CloudError::Api {
            operation,
            status,
            code,
            message,
            request_id,
        },
    }
}

/// What a HEAD answer says about the object.
pub fn object_info(headers: &HeaderMap) -> ObjectInfo {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let metadata: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix(FAMILY.meta_prefix())?;
            Some((name.to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    ObjectInfo {
        size: get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        etag: unquote_etag(get("etag").unwrap_or_default()).to_owned(),
        storage_class: get(FAMILY.storage_class_header())
            .and_then(|v| StorageClass::parse(v, FAMILY))
            .unwrap_or(StorageClass::Standard),
        metadata,
    }
}

/// Header pairs into a `HeaderMap`, the signature and token marked sensitive.
pub(super) fn header_map(headers: Vec<(String, String)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            value.set_sensitive(matches!(
                name.as_str(),
                "authorization" | "x-obs-security-token"
            ));
            map.append(name, value);
        }
    }
    map
}

/// One line per attempt at `-vv`: method, bucket, key and query, status or failure, duration,
/// request id. Never a header value.
pub(super) fn log_attempt(
    request: &ObsRequest,
    took: Duration,
    result: &Result<(u16, HeaderMap, Vec<u8>), reqwest::Error>,
) {
    let (method, ms) = (request.method, took.as_millis());
    let query = request.query_string();
    let sep = if query.is_empty() { "" } else { "?" };
    let target = format!("/{}/{}{sep}{query}", request.bucket, request.key);
    match result {
        Ok((status, headers, _)) => {
            let id = headers
                .get(FAMILY.request_id_header())
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::debug!("OBS {method} {target} -> {status} in {ms}ms [request id {id}]");
        }
        Err(error) => {
            let error = crate::cloud::transport_log::error_chain(error);
            tracing::debug!("OBS {method} {target} -> failed in {ms}ms: {error}");
        }
    }
}
