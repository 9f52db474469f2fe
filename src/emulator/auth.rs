//! Authentication as the API gateway does it (ims-api.md section 4.2): SDK-HMAC-SHA256 AK/SK
//! signatures (with `X-Security-Token` for temporary credentials) or `X-Auth-Token`, then the
//! project check. Canonicalisation is `crate::sign`'s, shared with the client and pinned by the
//! known vectors; this file only gathers the request's parts and decides. Owns no state.

use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDateTime, Utc};

use std::time::Duration;

use super::config::Config;
use super::model::Caller;
use super::reply::{ApiError, RequestId};
use super::world::{Shared, World};
use crate::sign;

/// The largest accepted distance between `X-Sdk-Date` and the emulator's clock.
const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// The parts of a request the signature covers.
pub struct SignedParts<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Authenticates a request; returns the principal (the AK, or `token`) used for throttling.
pub fn authenticate(
    parts: &SignedParts<'_>,
    config: &Config,
    now: DateTime<Utc>,
    request_id: &RequestId,
) -> Result<String, ApiError> {
    let fail = |detail: &str| ApiError::unauthorized(detail, request_id);
    if let Some(token) = header(parts.headers, "x-auth-token") {
        if config.tokens.iter().any(|known| known == token) {
            return Ok("token".to_owned());
        }
        if config.expired_tokens.iter().any(|known| known == token) {
            return Err(fail("the token has expired"));
        }
        return Err(fail("decrypt token fail"));
    }
    let authorization = header(parts.headers, "authorization")
        .ok_or_else(|| fail("the Authorization header is missing"))?;
    let parsed = sign::parse_authorization(authorization)
        .ok_or_else(|| fail("the Authorization header is malformed"))?;
    let (secret_key, security_token) = config
        .secret_for(&parsed.access_key)
        .ok_or_else(|| fail("Get secretKey failed, ak not exist"))?;
    let date = header(parts.headers, sign::DATE_HEADER)
        .ok_or_else(|| fail("the X-Sdk-Date header is missing"))?;
    check_date(date, now).map_err(|detail| fail(&detail))?;
    if let Some(expected) = security_token
        && header(parts.headers, "x-security-token") != Some(expected)
    {
        return Err(fail("the security token is invalid"));
    }
    let signed: Vec<(String, String)> = parsed
        .signed_headers
        .iter()
        .map(|name| {
            let value = header(parts.headers, name).unwrap_or_default();
            (name.clone(), value.to_owned())
        })
        .collect();
    let hash = sign::payload_hash(
        header(parts.headers, sign::CONTENT_SHA256_HEADER),
        parts.body,
    );
    let canonical = sign::canonical_request(
        parts.method,
        parts.raw_path,
        &sign::parse_query(parts.raw_query),
        &signed,
        &hash,
    );
    let to_sign = sign::string_to_sign(date, &canonical);
    if sign::signature_matches(secret_key, &to_sign, &parsed.signature) {
        Ok(parsed.access_key)
    } else {
        Err(fail("verify aksk signature fail"))
    }
}

/// `X-Sdk-Date` must parse and be within 15 minutes of `now`.
fn check_date(date: &str, now: DateTime<Utc>) -> Result<(), String> {
    let parsed = NaiveDateTime::parse_from_str(date, sign::DATE_FORMAT)
        .map_err(|_| format!("the X-Sdk-Date {date:?} is not in the format YYYYMMDDThhmmssZ"))?
        .and_utc();
    let skew = (now - parsed).num_seconds().abs();
    if skew > MAX_SKEW_SECONDS {
        return Err(format!(
            "signature expired, signature time:{date},server time:{}",
            now.format(sign::DATE_FORMAT)
        ));
    }
    Ok(())
}

/// `X-Project-Id` must name a project of the endpoint's `region`, and so must a
/// `{project_id}` in the path; the request then acts as that project.
pub fn check_project(
    headers: &HeaderMap,
    path_project: Option<&str>,
    config: &Config,
    region: &str,
    request_id: &RequestId,
) -> Result<Caller, ApiError> {
    let fail = |detail: &str| ApiError::unauthorized(detail, request_id);
    let project = header(headers, "x-project-id")
        .ok_or_else(|| fail("the X-Project-Id header is missing"))?;
    if config.region_of(project) != Some(region) {
        return Err(fail(
            "the project in X-Project-Id does not exist in this region",
        ));
    }
    if path_project.is_some_and(|in_path| in_path != project) {
        return Err(fail("the project in the path does not match X-Project-Id"));
    }
    Ok(Caller {
        project: project.to_owned(),
        region: region.to_owned(),
    })
}

impl World {
    /// Whether `access_key` is locked out now.
    pub fn locked(&self, access_key: &str) -> bool {
        self.failures
            .get(access_key)
            .and_then(|(_, until)| *until)
            .is_some_and(|until| self.now < until)
    }

    /// Counts a signature result for `access_key`; the `limit`-th consecutive failure locks it.
    pub fn count_signature(&mut self, access_key: &str, ok: bool, limit: (u32, Duration)) {
        if ok {
            self.failures.remove(access_key);
            return;
        }
        let now = self.now;
        let (count, until) = self.failures.entry(access_key.to_owned()).or_default();
        *count += 1;
        if *count >= limit.0 {
            *count = 0;
            *until = Some(now + limit.1);
        }
    }
}

/// Authentication with the optional lockout of an AK after repeated signature failures.
pub async fn authenticate_counted(
    shared: &Shared,
    parts: &SignedParts<'_>,
    request_id: &RequestId,
) -> Result<String, ApiError> {
    let config = &shared.config;
    let Some(limit) = config.lockout else {
        return authenticate(parts, config, Utc::now(), request_id);
    };
    let access_key = header(parts.headers, "authorization")
        .and_then(sign::parse_authorization)
        .map(|parsed| parsed.access_key)
        .filter(|access_key| config.secret_for(access_key).is_some());
    let Some(access_key) = access_key else {
        return authenticate(parts, config, Utc::now(), request_id);
    };
    let key = access_key.clone();
    if shared.run(move |world| world.locked(&key)).await {
        return Err(ApiError::unauthorized(
            "AK access failed to reach the limit,forbidden",
            request_id,
        ));
    }
    let result = authenticate(parts, config, Utc::now(), request_id);
    let ok = result.is_ok();
    shared
        .run(move |world| world.count_signature(&access_key, ok, limit))
        .await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_within_fifteen_minutes_pass() {
        let now = NaiveDateTime::parse_from_str("20240115T083000Z", sign::DATE_FORMAT)
            .unwrap()
            .and_utc();
        assert!(check_date("20240115T084500Z", now).is_ok());
        assert!(check_date("20240115T081500Z", now).is_ok());
        assert!(check_date("20240115T084501Z", now).is_err());
        assert!(check_date("2024-01-15T08:30:00Z", now).is_err());
    }
}
