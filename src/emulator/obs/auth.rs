//! Checking an OBS request's signature as OBS does: `Authorization: OBS AK:sig` (or `AWS …`,
//! signature V2) over the string to sign of `crate::obs::sign`, the request date within 15
//! minutes, the security token of temporary credentials. Every failure is a 403 with OBS's
//! code; a wrong secret is `SignatureDoesNotMatch` with the string the emulator signed, as OBS
//! answers. Owns no state.

use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::reply::ObsError;
use crate::emulator::config::Config;
use crate::obs::{Family, sign, xml};

/// Who sent the request: the access key and the header dialect it signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub access_key: String,
    pub family: Family,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The dialect of a request's `Authorization`, `OBS` when there is none or it is unreadable.
pub fn family_of(headers: &HeaderMap) -> Family {
    header(headers, "authorization")
        .and_then(sign::parse_authorization)
        .map_or(Family::Obs, |(family, _, _)| family)
}

/// Authenticates a path-style request: `raw_path` is `/bucket/key` as sent, `query` its
/// decoded pairs.
pub fn authenticate(
    method: &str,
    raw_path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Principal, ObsError> {
    let denied = |message: &str| ObsError::forbidden("AccessDenied", message);
    let authorization = header(headers, "authorization")
        .ok_or_else(|| denied("Anonymous access is forbidden for this operation"))?;
    let (family, access_key, given) = sign::parse_authorization(authorization)
        .ok_or_else(|| denied("The Authorization header is malformed"))?;
    let (secret_key, token) = config.secret_for(&access_key).ok_or_else(|| {
        ObsError::forbidden(
            "InvalidAccessKeyId",
            "The access key Id you provided does not exist in our records.",
        )
    })?;
    let date = header(headers, family.date_header())
        .or_else(|| header(headers, "date"))
        .ok_or_else(|| denied("The request has no Date header"))?;
    check_date(date, now)?;
    let token_header = format!("{}security-token", family.header_prefix());
    if let Some(expected) = token
        && header(headers, &token_header) != Some(expected)
    {
        return Err(ObsError::forbidden(
            "InvalidToken",
            "The provided security token is malformed or otherwise invalid.",
        ));
    }
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let resource = sign::with_sub_resources(raw_path.to_owned(), query, family);
    let to_sign = sign::string_to_sign(method, &pairs, family, &resource);
    if !sign::signature_matches(secret_key, &to_sign, &given) {
        let mut error = ObsError::forbidden(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        );
        error.extra = xml::leaf("StringToSign", &to_sign);
        return Err(error);
    }
    Ok(Principal { access_key, family })
}

/// `Date` (or `x-obs-date`) in RFC 1123, within 15 minutes of `now`.
fn check_date(date: &str, now: DateTime<Utc>) -> Result<(), ObsError> {
    let parsed = NaiveDateTime::parse_from_str(date.trim(), sign::DATE_FORMAT)
        .map(|naive| naive.and_utc())
        .or_else(|_| DateTime::parse_from_rfc2822(date.trim()).map(|d| d.with_timezone(&Utc)))
        .map_err(|_| ObsError::forbidden("AccessDenied", format!("Invalid date: {date}")))?;
    if (now - parsed).num_seconds().abs() > sign::MAX_SKEW_SECONDS {
        return Err(ObsError::forbidden(
            "RequestTimeTooSkewed",
            "The difference between the request time and the server's time is too large.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_both_formats_and_within_fifteen_minutes_pass() {
        let now = DateTime::parse_from_rfc3339("2026-01-15T08:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(check_date("Thu, 15 Jan 2026 08:44:00 GMT", now).is_ok());
        assert!(check_date("Thu, 15 Jan 2026 08:44:00 +0000", now).is_ok());
        let skewed = check_date("Thu, 15 Jan 2026 08:46:00 GMT", now).unwrap_err();
        assert_eq!(skewed.code, "RequestTimeTooSkewed");
        assert_eq!(
            check_date("yesterday", now).unwrap_err().code,
            "AccessDenied"
        );
    }
}
