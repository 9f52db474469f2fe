//! OBS's header signature: `Authorization: OBS AK:Base64(HMAC-SHA1(SK, StringToSign))`, and its
//! S3 twin `AWS AK:…` (signature V2), which differs only in the header prefix (obs-upload.md
//! section 2). imsform's client signs with the native `OBS` form, the one Huawei's API
//! reference documents; the emulator accepts both, as OBS does.
//!
//! `StringToSign = VERB\nContent-MD5\nContent-Type\nDate\n` + the `x-obs-*` headers (lower-case
//! names, sorted, one per line, values of one name joined with `,`) + the resource
//! (`/bucket/key` plus the sub-resources such as `?partNumber=1&uploadId=…`). When `x-obs-date`
//! is sent, the `Date` line is empty. Pure functions; pinned by the published examples below.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::Family;

/// The `Date` format: RFC 1123 in GMT.
pub const DATE_FORMAT: &str = "%a, %d %b %Y %H:%M:%S GMT";
/// The largest accepted distance between a request's date and the server's clock.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// Query parameters that are part of the signed resource (the OBS reference's list,
/// lower-cased; compared case-insensitively).
const SUB_RESOURCES: &[&str] = &[
    "acl",
    "append",
    "attname",
    "backtosource",
    "cors",
    "customdomain",
    "delete",
    "deletebucket",
    "encryption",
    "length",
    "lifecycle",
    "location",
    "logging",
    "metadata",
    "modify",
    "name",
    "notification",
    "partnumber",
    "policy",
    "position",
    "quota",
    "rename",
    "replication",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "storageclass",
    "storagepolicy",
    "storageinfo",
    "tagging",
    "torrent",
    "truncate",
    "uploadid",
    "uploads",
    "versionid",
    "versioning",
    "versions",
    "website",
];

/// The signed resource: `/bucket/encoded-key` (or `/bucket/` for the bucket itself, `/` for
/// the service), then the sub-resources of `query` (decoded pairs) sorted by name, as
/// `?name` or `?name=value` joined with `&`.
pub fn canonical_resource(
    bucket: &str,
    encoded_key: &str,
    query: &[(String, String)],
    family: Family,
) -> String {
    let path = if bucket.is_empty() {
        "/".to_owned()
    } else {
        format!("/{bucket}/{encoded_key}")
    };
    with_sub_resources(path, query, family)
}

/// `path` (already `/bucket/key` as sent) followed by the signed sub-resources of `query`.
pub fn with_sub_resources(mut path: String, query: &[(String, String)], family: Family) -> String {
    let mut signed: Vec<&(String, String)> = query
        .iter()
        .filter(|(name, _)| {
            let lower = name.to_ascii_lowercase();
            SUB_RESOURCES.contains(&lower.as_str()) || lower.starts_with(family.header_prefix())
        })
        .collect();
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    for (index, (name, value)) in signed.into_iter().enumerate() {
        path.push(if index == 0 { '?' } else { '&' });
        path.push_str(name);
        if !value.is_empty() {
            path.push('=');
            path.push_str(value);
        }
    }
    path
}

/// The string to sign of a request with `headers` (any case, any order) for `resource`.
pub fn string_to_sign(
    method: &str,
    headers: &[(String, String)],
    family: Family,
    resource: &str,
) -> String {
    let find = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map_or("", |(_, value)| value.as_str())
    };
    let mut canonical: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, value) in headers {
        let lower = name.trim().to_ascii_lowercase();
        if !lower.starts_with(family.header_prefix()) {
            continue;
        }
        match canonical.iter_mut().find(|(known, _)| *known == lower) {
            Some((_, values)) => values.push(value.trim()),
            None => canonical.push((lower, vec![value.trim()])),
        }
    }
    canonical.sort();
    let has_own_date = canonical
        .iter()
        .any(|(name, _)| name == family.date_header());
    let date = if has_own_date { "" } else { find("date") };
    let mut text = format!(
        "{}\n{}\n{}\n{}\n",
        method.to_ascii_uppercase(),
        find("content-md5"),
        find("content-type"),
        date
    );
    for (name, values) in canonical {
        text.push_str(&name);
        text.push(':');
        text.push_str(&values.join(","));
        text.push('\n');
    }
    text.push_str(resource);
    text
}

fn hmac(secret_key: &str) -> Hmac<Sha1> {
    // HMAC accepts keys of any length, so this cannot fail.
    Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()).expect("HMAC-SHA1 takes any key length")
}

/// `Base64(HMAC-SHA1(secret_key, string_to_sign))`.
pub fn signature(secret_key: &str, string_to_sign: &str) -> String {
    let mut mac = hmac(secret_key);
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Checks a Base64 signature in constant time.
pub fn signature_matches(secret_key: &str, string_to_sign: &str, given: &str) -> bool {
    let Ok(bytes) = BASE64.decode(given.trim()) else {
        return false;
    };
    let mut mac = hmac(secret_key);
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

/// `OBS AK:signature` (or `AWS AK:signature`).
pub fn authorization(family: Family, access_key: &str, signature: &str) -> String {
    format!("{} {access_key}:{signature}", family.auth_prefix())
}

/// The parts of an `Authorization: OBS AK:sig` (or `AWS …`) header.
pub fn parse_authorization(value: &str) -> Option<(Family, String, String)> {
    let (prefix, rest) = value.trim().split_once(' ')?;
    let family = match prefix {
        "OBS" => Family::Obs,
        "AWS" => Family::Aws,
        _ => return None,
    };
    let (access_key, signature) = rest.trim().rsplit_once(':')?;
    if access_key.is_empty() || signature.is_empty() {
        return None;
    }
    Some((family, access_key.to_owned(), signature.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    // AWS's published signature V2 examples ("Signing and Authenticating REST Requests"):
    // the same HMAC-SHA1 construction OBS uses, with the `x-amz-` prefix.
    const AWS_SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn aws_published_examples() {
        let get = string_to_sign(
            "GET",
            &pairs(&[
                ("Host", "johnsmith.s3.amazonaws.com"),
                ("Date", "Tue, 27 Mar 2007 19:36:42 +0000"),
            ]),
            Family::Aws,
            &canonical_resource("johnsmith", "photos/puppy.jpg", &[], Family::Aws),
        );
        assert_eq!(
            get,
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg"
        );
        assert_eq!(signature(AWS_SK, &get), "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
        let put = string_to_sign(
            "PUT",
            &pairs(&[
                ("Content-Type", "image/jpeg"),
                ("Content-Length", "94328"),
                ("Date", "Tue, 27 Mar 2007 21:15:45 +0000"),
            ]),
            Family::Aws,
            "/johnsmith/photos/puppy.jpg",
        );
        assert_eq!(signature(AWS_SK, &put), "MyyxeRY7whkBe+bq8fHCL/2kKUg=");
        let acl = string_to_sign(
            "GET",
            &pairs(&[("Date", "Tue, 27 Mar 2007 19:44:46 +0000")]),
            Family::Aws,
            &canonical_resource("johnsmith", "", &pairs(&[("acl", "")]), Family::Aws),
        );
        assert_eq!(
            acl,
            "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl"
        );
        assert_eq!(signature(AWS_SK, &acl), "c2WLPFtWHVgbEmeEG93a4cG37dM=");
    }

    #[test]
    fn aws_published_example_with_metadata_headers() {
        // Upper-case names, a repeated name folded into one line, values trimmed.
        let headers = pairs(&[
            ("User-Agent", "curl/7.15.5"),
            ("Date", "Tue, 27 Mar 2007 21:06:08 +0000"),
            ("x-amz-acl", "public-read"),
            ("content-type", "application/x-download"),
            ("Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="),
            ("X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"),
            ("X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"),
            ("X-Amz-Meta-FileChecksum", "0x02661779"),
            ("X-Amz-Meta-ChecksumAlgorithm", " crc32"),
            ("Content-Disposition", "attachment; filename=database.dat"),
        ]);
        let text = string_to_sign(
            "PUT",
            &headers,
            Family::Aws,
            "/static.johnsmith.net/db-backup.dat.gz",
        );
        assert_eq!(
            text,
            "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n\
             x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\n\
             x-amz-meta-filechecksum:0x02661779\n\
             x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n\
             /static.johnsmith.net/db-backup.dat.gz"
        );
        assert_eq!(signature(AWS_SK, &text), "ilyl83RwaSoYIEdixDQcA4OnAnc=");
    }

    #[test]
    fn obs_reference_string_to_sign_examples() {
        // Tables 2, 3, 4 and 6 of OBS's "Authentication of Signature in a Header".
        let get = string_to_sign(
            "GET",
            &pairs(&[
                ("Host", "bucket.obs.region.example.com"),
                ("Date", "Sat, 12 Oct 2015 08:12:38 GMT"),
            ]),
            Family::Obs,
            &canonical_resource("bucket", "object.txt", &[], Family::Obs),
        );
        assert_eq!(
            get,
            "GET\n\n\nSat, 12 Oct 2015 08:12:38 GMT\n/bucket/object.txt"
        );
        let token = string_to_sign(
            "PUT",
            &pairs(&[
                ("x-obs-date", "Tue, 15 Oct 2015 07:20:09 GMT"),
                ("x-obs-security-token", "YwkaRTbdY8g7q...."),
                ("content-type", "text/plain"),
                ("Content-Length", "5913339"),
            ]),
            Family::Obs,
            "/bucket/object.txt",
        );
        assert_eq!(
            token,
            "PUT\n\ntext/plain\n\nx-obs-date:Tue, 15 Oct 2015 07:20:09 GMT\n\
             x-obs-security-token:YwkaRTbdY8g7q....\n/bucket/object.txt"
        );
        let acl = string_to_sign(
            "PUT",
            &pairs(&[
                ("Date", "Mon, 14 Oct 2015 12:08:34 GMT"),
                ("x-obs-acl", "public-read"),
                ("content-type", "text/plain"),
            ]),
            Family::Obs,
            "/bucket/object.txt",
        );
        assert_eq!(
            acl,
            "PUT\n\ntext/plain\nMon, 14 Oct 2015 12:08:34 GMT\nx-obs-acl:public-read\n/bucket/object.txt"
        );
        let md5 = string_to_sign(
            "PUT",
            &pairs(&[
                ("x-obs-date", "Tue, 15 Oct 2015 07:20:09 GMT"),
                ("Content-MD5", "I5pU0r4+sgO9Emgl1KMQUg=="),
            ]),
            Family::Obs,
            "/bucket/object.txt",
        );
        assert_eq!(
            md5,
            "PUT\nI5pU0r4+sgO9Emgl1KMQUg==\n\n\nx-obs-date:Tue, 15 Oct 2015 07:20:09 GMT\n/bucket/object.txt"
        );
    }

    #[test]
    fn sub_resources_are_sorted_and_other_parameters_left_out() {
        let query = pairs(&[("uploadId", "abc"), ("partNumber", "3"), ("max-parts", "9")]);
        assert_eq!(
            canonical_resource("b", "k/x.qcow2", &query, Family::Obs),
            "/b/k/x.qcow2?partNumber=3&uploadId=abc"
        );
        assert_eq!(
            canonical_resource("b", "k", &pairs(&[("uploads", "")]), Family::Obs),
            "/b/k?uploads"
        );
        assert_eq!(canonical_resource("", "", &[], Family::Obs), "/");
    }

    #[test]
    fn authorization_round_trips_and_checks() {
        let header = authorization(Family::Obs, "AK", "c2ln");
        assert_eq!(header, "OBS AK:c2ln");
        assert_eq!(
            parse_authorization(&header),
            Some((Family::Obs, "AK".to_owned(), "c2ln".to_owned()))
        );
        assert_eq!(parse_authorization("SDK-HMAC-SHA256 Access=x"), None);
        assert_eq!(parse_authorization("AWS :x"), None);
        let sig = signature("sk", "text");
        assert!(signature_matches("sk", "text", &sig));
        assert!(!signature_matches("other", "text", &sig));
        assert!(!signature_matches("sk", "text", "not base64!"));
    }
}
