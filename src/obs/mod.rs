//! OBS wire facts shared by the OBS client (`cloud::obs`) and the emulator's OBS
//! (`emulator::obs`), as `ims` is for IMS: limits, storage classes, the two header families,
//! object-key encoding, the multipart ETag rule, the signature ([`sign`]) and the small XML
//! dialect OBS speaks ([`xml`]). Pure; no I/O, no HTTP. Facts: obs-upload.md sections 1-3.
//!
//! Both sides share this code, so a bug here would hide itself: the signature is pinned by the
//! published examples (tests in [`sign`]) and by Huawei's own SDK driving the emulator
//! (`tests/sdk/obs_check.py`).

pub mod sign;
pub mod xml;

use md5::{Digest, Md5};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The smallest part OBS accepts, but for the last one (native API reference).
pub const MIN_PART_SIZE: u64 = 100 * 1024;
/// The largest part, and the largest single PUT.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Part numbers run from 1 to this.
pub const MAX_PARTS: u32 = 10_000;
/// User metadata imsform puts on the objects it uploads: the file's SHA-256 (lower-case hex).
pub const META_SHA256: &str = "imsform-sha256";
/// User metadata imsform puts on the objects it uploads: the state's lineage.
pub const META_LINEAGE: &str = "imsform-lineage";

/// Which of OBS's two header dialects a request speaks: the native one (`Authorization: OBS`,
/// `x-obs-*` headers) or the S3-compatible one (`Authorization: AWS`, `x-amz-*`). Never mixed
/// in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Obs,
    Aws,
}

impl Family {
    /// `OBS` or `AWS`: the first word of `Authorization`.
    pub fn auth_prefix(self) -> &'static str {
        match self {
            Family::Obs => "OBS",
            Family::Aws => "AWS",
        }
    }

    /// `x-obs-` or `x-amz-`.
    pub fn header_prefix(self) -> &'static str {
        match self {
            Family::Obs => "x-obs-",
            Family::Aws => "x-amz-",
        }
    }

    /// `x-obs-meta-` or `x-amz-meta-`: user metadata.
    pub fn meta_prefix(self) -> &'static str {
        match self {
            Family::Obs => "x-obs-meta-",
            Family::Aws => "x-amz-meta-",
        }
    }

    /// `x-obs-storage-class` or `x-amz-storage-class`.
    pub fn storage_class_header(self) -> &'static str {
        match self {
            Family::Obs => "x-obs-storage-class",
            Family::Aws => "x-amz-storage-class",
        }
    }

    /// `x-obs-date` or `x-amz-date`: replaces `Date` in the string to sign when present.
    pub fn date_header(self) -> &'static str {
        match self {
            Family::Obs => "x-obs-date",
            Family::Aws => "x-amz-date",
        }
    }

    /// `x-obs-request-id` or `x-amz-request-id`.
    pub fn request_id_header(self) -> &'static str {
        match self {
            Family::Obs => "x-obs-request-id",
            Family::Aws => "x-amz-request-id",
        }
    }
}

/// An object's storage class. IMS registers only [`StorageClass::Standard`] objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StorageClass {
    Standard,
    Warm,
    Cold,
}

impl StorageClass {
    /// Parses a storage-class header of `family`: `STANDARD`/`WARM`/`COLD` (native) or
    /// `STANDARD`/`STANDARD_IA`/`GLACIER` (S3).
    pub fn parse(value: &str, family: Family) -> Option<StorageClass> {
        match (family, value.trim()) {
            (_, "STANDARD") => Some(StorageClass::Standard),
            (Family::Obs, "WARM") | (Family::Aws, "STANDARD_IA") => Some(StorageClass::Warm),
            (Family::Obs, "COLD") | (Family::Aws, "GLACIER") => Some(StorageClass::Cold),
            _ => None,
        }
    }

    /// The header value in `family`'s names.
    pub fn header_value(self, family: Family) -> &'static str {
        match (self, family) {
            (StorageClass::Standard, _) => "STANDARD",
            (StorageClass::Warm, Family::Obs) => "WARM",
            (StorageClass::Warm, Family::Aws) => "STANDARD_IA",
            (StorageClass::Cold, Family::Obs) => "COLD",
            (StorageClass::Cold, Family::Aws) => "GLACIER",
        }
    }
}

/// What an object key keeps unencoded in a URL path: RFC 3986's unreserved characters and `/`
/// (the official SDK's `quote(key, safe='/~')`).
const KEY_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// An object key as it goes into a URL path and into the signed resource.
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_SAFE).to_string()
}

/// Lower-case hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// The ETag of a completed multipart upload: `MD5(M1‖…‖Mn)-N`, where Mi is the binary MD5 of
/// part i, in part order (obs-upload.md section 1). `part_md5s` are lower-case hex.
pub fn multipart_etag(part_md5s: &[String]) -> Option<String> {
    let mut hasher = Md5::new();
    for md5 in part_md5s {
        hasher.update(hex::decode(md5).ok()?);
    }
    Some(format!(
        "{}-{}",
        hex::encode(hasher.finalize()),
        part_md5s.len()
    ))
}

/// An ETag without the quotes HTTP puts around it.
pub fn unquote_etag(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_slashes_and_unreserved_characters() {
        assert_eq!(
            encode_key("imsform/web-0a1b.qcow2"),
            "imsform/web-0a1b.qcow2"
        );
        assert_eq!(encode_key("a b/ü~+"), "a%20b/%C3%BC~%2B");
    }

    #[test]
    fn the_multipart_etag_hashes_the_binary_part_md5s() {
        // Two parts "a" and "b": MD5(MD5("a") || MD5("b")), then "-2".
        let parts = [md5_hex(b"a"), md5_hex(b"b")];
        let mut joined = hex::decode(&parts[0]).unwrap();
        joined.extend(hex::decode(&parts[1]).unwrap());
        let expected = format!("{}-2", md5_hex(&joined));
        assert_eq!(multipart_etag(&parts), Some(expected));
        assert_eq!(multipart_etag(&["zz".to_owned()]), None);
    }

    #[test]
    fn storage_classes_read_in_both_dialects() {
        assert_eq!(
            StorageClass::parse("WARM", Family::Obs),
            Some(StorageClass::Warm)
        );
        assert_eq!(
            StorageClass::parse("STANDARD_IA", Family::Aws),
            Some(StorageClass::Warm)
        );
        assert_eq!(StorageClass::parse("WARM", Family::Aws), None);
        assert_eq!(StorageClass::Cold.header_value(Family::Aws), "GLACIER");
        assert_eq!(unquote_etag("\"abc\""), "abc");
    }
}
