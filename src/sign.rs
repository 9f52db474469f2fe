//! SDK-HMAC-SHA256 request signing (ims-api.md section 4), as Huawei's official SDK does it.
//!
//! Pure functions of the request, the credentials and the `X-Sdk-Date` header: the client signs
//! with [`sign`], the emulator checks with [`parse_authorization`] and [`canonical_request`]. Both
//! sides share this canonicalisation, so a bug here would hide itself: the seven known-answer
//! vectors of ims-api.md section 4.3 pin it byte for byte (tests below).

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// The algorithm's name, first word of the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The signed timestamp header.
pub const DATE_HEADER: &str = "X-Sdk-Date";
/// `X-Sdk-Date`'s format (UTC).
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// The header that replaces the body hash for non-JSON content types.
pub const CONTENT_SHA256_HEADER: &str = "X-Sdk-Content-Sha256";
/// Its only value.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986: everything but `A-Z a-z 0-9 - _ . ~` is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `text` keeping only RFC 3986 unreserved characters (upper-case hex).
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// The canonical URI: decode the path, re-encode each segment, end with `/`.
pub fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    let mut uri = decoded.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query string of decoded `(key, value)` pairs: sorted by key then value, each
/// encoded, joined with `&`. The client also sends exactly this string as the URL's query.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Splits a raw URL query into percent-decoded pairs (on `&`, then on the first `=`).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let decode = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
            (decode(key), decode(value))
        })
        .collect()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The hashed payload: the empty hash for no body, else `X-Sdk-Content-Sha256` when given, else
/// the body's SHA-256.
pub fn payload_hash(content_sha256_header: Option<&str>, body: &[u8]) -> String {
    if body.is_empty() {
        EMPTY_SHA256.to_owned()
    } else if let Some(value) = content_sha256_header {
        value.to_owned()
    } else {
        sha256_hex(body)
    }
}

/// The canonical request. `signed` holds the signed headers as `(lower-case name, value)`,
/// sorted by name; values are trimmed here.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    signed: &[(String, String)],
    payload_hash: &str,
) -> String {
    let headers: String = signed
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query(query),
        headers,
        signed_header_names(signed),
        payload_hash
    )
}

fn signed_header_names(signed: &[(String, String)]) -> String {
    signed
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

/// `SDK-HMAC-SHA256\n<date>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Lower-case hex HMAC-SHA256 of the string to sign, keyed with the secret key.
pub fn signature(secret_key: &str, string_to_sign: &str) -> String {
    hex::encode(hmac(secret_key, string_to_sign).finalize().into_bytes())
}

/// Checks `expected` (hex) against the signature in constant time.
pub fn signature_matches(secret_key: &str, string_to_sign: &str, expected: &str) -> bool {
    hex::decode(expected).is_ok_and(|bytes| {
        hmac(secret_key, string_to_sign)
            .verify_slice(&bytes)
            .is_ok()
    })
}

fn hmac(secret_key: &str, message: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC-SHA256 takes a key of any length");
    mac.update(message.as_bytes());
    mac
}

/// The result of signing: the header to send, and the intermediate texts for debugging tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub authorization: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// Signs a request as the SDK does. `headers` must already hold `X-Sdk-Date` and `Host`; when
/// the content type is not JSON, `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` is added to them.
/// Every header whose name has no underscore is signed.
///
/// # Panics
/// When `headers` has no `X-Sdk-Date`: a programming error of the caller.
pub fn sign(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    access_key: &str,
    secret_key: &str,
) -> Signed {
    let find = |headers: &[(String, String)], name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let content_type = find(headers, "content-type");
    if content_type.is_some_and(|ct| {
        !ct.starts_with("application/json") && !ct.starts_with("application/bson")
    }) && find(headers, CONTENT_SHA256_HEADER).is_none()
    {
        headers.push((
            CONTENT_SHA256_HEADER.to_owned(),
            UNSIGNED_PAYLOAD.to_owned(),
        ));
    }
    let date = find(headers, DATE_HEADER).expect("the caller sets X-Sdk-Date before signing");
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| !name.contains('_'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .collect();
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    let hash = payload_hash(find(headers, CONTENT_SHA256_HEADER).as_deref(), body);
    let canonical_request = canonical_request(method, path, query, &signed, &hash);
    let string_to_sign = string_to_sign(&date, &canonical_request);
    let authorization = format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={}",
        signed_header_names(&signed),
        signature(secret_key, &string_to_sign)
    );
    Signed {
        authorization,
        canonical_request,
        string_to_sign,
    }
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    /// Lower-case header names as listed in `SignedHeaders`.
    pub signed_headers: Vec<String>,
    /// 64 lower-case hex digits.
    pub signature: String,
}

/// Parses `SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<64 hex>`.
pub fn parse_authorization(value: &str) -> Option<Authorization> {
    let rest = value.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let mut parts = rest.split(", ");
    let access_key = parts.next()?.strip_prefix("Access=")?;
    let signed_headers = parts.next()?.strip_prefix("SignedHeaders=")?;
    let signature = parts.next()?.strip_prefix("Signature=")?;
    let valid = parts.next().is_none()
        && !access_key.is_empty()
        && !access_key.contains(',')
        && !signed_headers.is_empty()
        && !signed_headers.contains(',')
        && signature.len() == 64
        && signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then(|| Authorization {
        access_key: access_key.to_owned(),
        signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
        signature: signature.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AK: &str = "HPUAEXAMPLEAK0000001";
    const SK: &str = "ExampleSecretKey0123456789abcdefghijKLMN";
    const HOST: &str = "ims.cn-north-4.myhuaweicloud.com";
    const PROJECT: &str = "0123456789abcdef0123456789abcdef";
    const DATE: &str = "20240115T083000Z";

    fn headers(content_type: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = [
            ("Content-Type", content_type),
            ("X-Sdk-Date", DATE),
            ("X-Project-Id", PROJECT),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        headers.push(("Host".to_owned(), HOST.to_owned()));
        headers
    }

    fn sign_vector(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        mut headers: Vec<(String, String)>,
        body: &str,
    ) -> Signed {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        sign(method, path, &query, &mut headers, body.as_bytes(), AK, SK)
    }

    fn hash_line(signed: &Signed) -> &str {
        signed.string_to_sign.lines().nth(2).unwrap()
    }

    const STD_SIGNED: &str = "content-type;host;x-project-id;x-sdk-date";

    fn auth(signed_headers: &str, signature: &str) -> String {
        format!("{ALGORITHM} Access={AK}, SignedHeaders={signed_headers}, Signature={signature}")
    }

    #[test]
    fn v1_get_without_query_or_body() {
        let signed = sign_vector(
            "GET",
            "/v2/images/4e1a2b3c-0000-4000-8000-00000000abcd",
            &[],
            headers("application/json", &[]),
            "",
        );
        assert_eq!(
            signed.canonical_request,
            "GET\n/v2/images/4e1a2b3c-0000-4000-8000-00000000abcd/\n\n\
             content-type:application/json\nhost:ims.cn-north-4.myhuaweicloud.com\n\
             x-project-id:0123456789abcdef0123456789abcdef\nx-sdk-date:20240115T083000Z\n\n\
             content-type;host;x-project-id;x-sdk-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            signed.string_to_sign,
            "SDK-HMAC-SHA256\n20240115T083000Z\n\
             f2de9fe03a3aac121f307bf5fba86f2f4818c4b0d641b41e8fdd99bfe865f630"
        );
        assert_eq!(
            signed.authorization,
            auth(
                STD_SIGNED,
                "092607a1a7074a8560f9cfdd79cf61a71133dd5e493dfeda8bdff175ea815744"
            )
        );
    }

    #[test]
    fn v2_get_with_query_sorts_and_encodes() {
        let query = [
            ("name", "web server 01"),
            ("__imagetype", "private"),
            ("limit", "10"),
            ("status", "active"),
            ("created_at", "gt:2018-10-28T10:00:00Z"),
            ("tag", "env.prod"),
        ];
        let signed = sign_vector(
            "GET",
            "/v2/images",
            &query,
            headers("application/json", &[]),
            "",
        );
        let expected_query = "__imagetype=private&created_at=gt%3A2018-10-28T10%3A00%3A00Z&\
                              limit=10&name=web%20server%2001&status=active&tag=env.prod";
        assert_eq!(
            signed.canonical_request.lines().nth(2),
            Some(expected_query)
        );
        assert_eq!(
            hash_line(&signed),
            "fb33c98f9d899ebf8eb32927ec3a2481f28669b05bc75c65ef9568a13a57c552"
        );
        assert_eq!(
            signed.authorization,
            auth(
                STD_SIGNED,
                "1d90bc5ed8f32a36c8b4ae438f40d7fc4853dadba538a99959de13d7331832b4"
            )
        );
    }

    #[test]
    fn v3_post_with_json_body() {
        let body = r#"{"__os_version": "Ubuntu 22.04 server 64bit", "container_format": "bare", "disk_format": "qcow2", "min_disk": 40, "min_ram": 1024, "name": "web-base-2024", "tags": ["team.web", "env.prod"], "visibility": "private", "protected": false}"#;
        assert_eq!(
            sha256_hex(body.as_bytes()),
            "e77c40847eaefcd093aa6a2d9ee897e121af2c98d185aa71d19d7d20b83bfa10"
        );
        let headers = headers("application/json;charset=UTF-8", &[]);
        let signed = sign_vector("POST", "/v2/images", &[], headers, body);
        assert_eq!(
            hash_line(&signed),
            "6072b648326c49e0515344a2c4211ec033d10887ba976c2fef5387d1dd847198"
        );
        assert_eq!(
            signed.authorization,
            auth(
                STD_SIGNED,
                "cc2fe346eb4a918a2e86c1aa388f8a38eb3cd571664b61e3443b87740a4bea16"
            )
        );
    }

    #[test]
    fn v4_put_register() {
        let body = r#"{"image_url": "my-bucket:images/web-base.qcow2"}"#;
        let path = "/v1/cloudimages/4e1a2b3c-0000-4000-8000-00000000abcd/upload";
        let headers = headers("application/json;charset=UTF-8", &[]);
        let signed = sign_vector("PUT", path, &[], headers, body);
        assert_eq!(canonical_uri(path), format!("{path}/"));
        assert_eq!(
            hash_line(&signed),
            "0755bc4f7375ded52d399f5010187f7995a476dc2ec3b48cd9030e09bacd8f75"
        );
        assert_eq!(
            signed.authorization,
            auth(
                STD_SIGNED,
                "1cc79b4ae23bc0c907b9feeafdf5014aa7638768d1ed3fe26dda67bc22ee7e1e"
            )
        );
    }

    #[test]
    fn v5_patch_with_non_json_content_type_is_unsigned_payload() {
        let body = r#"[{"op": "replace", "path": "/name", "value": "web-base-2024b"}]"#;
        let mut headers = headers("application/openstack-images-v2.1-json-patch", &[]);
        let signed = sign(
            "PATCH",
            "/v2/images/4e1a2b3c-0000-4000-8000-00000000abcd",
            &[],
            &mut headers,
            body.as_bytes(),
            AK,
            SK,
        );
        assert!(headers.contains(&(
            CONTENT_SHA256_HEADER.to_owned(),
            UNSIGNED_PAYLOAD.to_owned()
        )));
        assert!(signed.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
        assert_eq!(
            hash_line(&signed),
            "9e34ab7163ff4ddcccb5f1e36f576abc68b04cdb645ab551918ec01e61659ed7"
        );
        assert_eq!(
            signed.authorization,
            auth(
                "content-type;host;x-project-id;x-sdk-content-sha256;x-sdk-date",
                "059a25d936455c9dcb3317846b7d8c5d22c10c73687211e67296d04fed6c7e9f"
            )
        );
    }

    #[test]
    fn v6_security_token_is_signed_and_underscore_headers_are_not() {
        let headers = headers(
            "application/json",
            &[
                ("X-Security-Token", "tmpTokenABC123"),
                ("X_Custom_Header", "skipped"),
            ],
        );
        let path = "/v1/0123456789abcdef0123456789abcdef/jobs/ff8080828a7c1f0a018a7d6b1c2d0042";
        let signed = sign_vector("GET", path, &[], headers, "");
        assert_eq!(
            hash_line(&signed),
            "340f0b2a334163fac5edf889b90d6e410621ad458fecf3596d3b7998340be574"
        );
        assert_eq!(
            signed.authorization,
            auth(
                "content-type;host;x-project-id;x-sdk-date;x-security-token",
                "c174089f54cf53146fa6a1e5c1cb0af26b6542ea59906a053878d2d89363ec17"
            )
        );
    }

    #[test]
    fn v7_minimal() {
        let mut headers = vec![
            ("X-Sdk-Date".to_owned(), "20191115T033655Z".to_owned()),
            ("Host".to_owned(), "example.com".to_owned()),
        ];
        let signed = sign("GET", "/", &[], &mut headers, b"", AK, SK);
        assert_eq!(
            signed.canonical_request,
            "GET\n/\n\nhost:example.com\nx-sdk-date:20191115T033655Z\n\nhost;x-sdk-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hash_line(&signed),
            "845f5f053e69e0d7cdf17c143bd6ffbc72d7be020b93b6ca2da8022efee7d6b8"
        );
        assert_eq!(
            signed.authorization,
            auth(
                "host;x-sdk-date",
                "0a8fff29f37824c07252dd1b60da8c34dcb0724ffca127146bb87d749fe6c83c"
            )
        );
    }

    #[test]
    fn go_sdk_canonical_query() {
        let pairs: Vec<(String, String)> = [
            ("test", "一 (&=?!#%.*)"),
            ("path", "/tmp/123"),
            ("multi", "3"),
            ("multi", "1"),
            ("enable", "true"),
            ("multi", "2"),
            ("limit", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            canonical_query(&pairs),
            "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&\
             test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
        );
        let mut round_trip = parse_query(&canonical_query(&pairs));
        round_trip.sort();
        let mut sorted = pairs.clone();
        sorted.sort();
        assert_eq!(round_trip, sorted);
    }

    #[test]
    fn authorization_parses_and_verifies() {
        let headers = headers("application/json", &[]);
        let signed = sign_vector("GET", "/v2/cloudimages", &[], headers, "");
        let parsed = parse_authorization(&signed.authorization).unwrap();
        assert_eq!(parsed.access_key, AK);
        assert_eq!(
            parsed.signed_headers,
            ["content-type", "host", "x-project-id", "x-sdk-date"]
        );
        assert!(signature_matches(
            SK,
            &signed.string_to_sign,
            &parsed.signature
        ));
        assert!(!signature_matches(
            "wrong",
            &signed.string_to_sign,
            &parsed.signature
        ));
        assert!(parse_authorization("SDK-HMAC-SHA256 Access=a, SignedHeaders=h").is_none());
        assert!(parse_authorization("Basic abc").is_none());
        assert!(
            parse_authorization(&signed.authorization.replace("Signature=", "Signature=x"))
                .is_none()
        );
    }
}
