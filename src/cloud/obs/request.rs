//! Pure request builders for the OBS calls imsform makes, and the headers that sign them
//! (`Authorization: OBS AK:sig`, `crate::obs::sign`). Every object written gets the Standard
//! storage class explicitly (IMS registers nothing else) and imsform's user metadata; bodies
//! are plain bytes with a `Content-Length` and, for data, a `Content-MD5`: never `aws-chunked`.
//! Nothing here sends anything or reads a clock.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::obs::{Family, StorageClass, encode_key, sign, xml};

use super::types::CompletedPart;

/// The one dialect imsform speaks.
pub const FAMILY: Family = Family::Obs;
/// `Content-Type` of file data.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Empty,
    Bytes(Vec<u8>),
    /// `len` bytes of the file at `path` from `offset`, streamed (re-read on each attempt).
    File {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
}

impl Payload {
    /// The `Content-Length`.
    pub fn length(&self) -> u64 {
        match self {
            Payload::Empty => 0,
            Payload::Bytes(bytes) => bytes.len() as u64,
            Payload::File { len, .. } => *len,
        }
    }
}

/// One OBS request before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObsRequest {
    /// For messages: "upload part".
    pub operation: &'static str,
    pub method: &'static str,
    pub bucket: String,
    /// Decoded; encoded with [`encode_key`] into the path.
    pub key: String,
    /// Decoded pairs, sent in this order.
    pub query: Vec<(String, String)>,
    /// Besides the signing headers.
    pub headers: Vec<(String, String)>,
    pub payload: Payload,
    /// Safe to send again when its answer is lost.
    pub idempotent: bool,
}

impl ObsRequest {
    fn new(operation: &'static str, method: &'static str, bucket: &str, key: &str) -> ObsRequest {
        ObsRequest {
            operation,
            method,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            payload: Payload::Empty,
            idempotent: true,
        }
    }

    /// The URL query string.
    pub fn query_string(&self) -> String {
        self.query
            .iter()
            .map(|(name, value)| {
                if value.is_empty() {
                    crate::sign::encode(name)
                } else {
                    format!(
                        "{}={}",
                        crate::sign::encode(name),
                        crate::sign::encode(value)
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// The headers of a new object's data: class Standard, content type, user metadata.
fn object_headers(metadata: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut headers = vec![
        pair("Content-Type", OCTET_STREAM),
        pair(
            FAMILY.storage_class_header(),
            StorageClass::Standard.header_value(FAMILY),
        ),
    ];
    for (name, value) in metadata {
        headers.push((format!("{}{name}", FAMILY.meta_prefix()), value.clone()));
    }
    headers
}

/// `HEAD /bucket/key`.
pub fn head_object(bucket: &str, key: &str) -> ObsRequest {
    ObsRequest::new("read object metadata", "HEAD", bucket, key)
}

/// `GET /bucket/key`.
pub fn get_object(bucket: &str, key: &str) -> ObsRequest {
    ObsRequest::new("download object", "GET", bucket, key)
}

/// `PUT /bucket/key` with the whole file (`content_md5`: Base64).
pub fn put_object(
    bucket: &str,
    key: &str,
    file: (PathBuf, u64),
    content_md5: &str,
    metadata: &BTreeMap<String, String>,
) -> ObsRequest {
    let mut request = ObsRequest::new("upload object", "PUT", bucket, key);
    request.headers = object_headers(metadata);
    request.headers.push(pair("Content-MD5", content_md5));
    request.payload = Payload::File {
        path: file.0,
        offset: 0,
        len: file.1,
    };
    request
}

/// `POST /bucket/key?uploads`: starts a multipart upload. A lost answer leaves at most an
/// upload nobody completes (storage OBS's lifecycle rules clean up), so it is retried.
pub fn initiate(bucket: &str, key: &str, metadata: &BTreeMap<String, String>) -> ObsRequest {
    let mut request = ObsRequest::new("start multipart upload", "POST", bucket, key);
    request.query = vec![pair("uploads", "")];
    request.headers = object_headers(metadata);
    request
}

/// `PUT /bucket/key?partNumber=N&uploadId=ID`: part `number` is `len` bytes of `path` from
/// `offset`. Sent again, it replaces itself.
pub fn upload_part(
    target: (&str, &str, &str),
    number: u32,
    file: (PathBuf, u64, u64),
    content_md5: &str,
) -> ObsRequest {
    let (bucket, key, upload_id) = target;
    let mut request = ObsRequest::new("upload part", "PUT", bucket, key);
    request.query = vec![
        pair("partNumber", &number.to_string()),
        pair("uploadId", upload_id),
    ];
    request.headers = vec![
        pair("Content-Type", OCTET_STREAM),
        pair("Content-MD5", content_md5),
    ];
    request.payload = Payload::File {
        path: file.0,
        offset: file.1,
        len: file.2,
    };
    request
}

/// `GET /bucket/key?uploadId=ID&part-number-marker=M`: one page of parts.
pub fn list_parts(bucket: &str, key: &str, upload_id: &str, marker: u32) -> ObsRequest {
    let mut request = ObsRequest::new("list uploaded parts", "GET", bucket, key);
    request.query = vec![pair("uploadId", upload_id)];
    if marker > 0 {
        request
            .query
            .push(pair("part-number-marker", &marker.to_string()));
    }
    request
}

/// `POST /bucket/key?uploadId=ID` naming every part. Not idempotent: once it succeeded, the
/// upload is gone, so a lost answer is resolved by a HEAD of the object, not by sending it again.
pub fn complete(bucket: &str, key: &str, upload_id: &str, parts: &[CompletedPart]) -> ObsRequest {
    let mut request = ObsRequest::new("complete multipart upload", "POST", bucket, key);
    request.query = vec![pair("uploadId", upload_id)];
    let body: String = parts
        .iter()
        .map(|part| {
            format!(
                "<Part>{}{}</Part>",
                xml::leaf("PartNumber", &part.number.to_string()),
                xml::leaf("ETag", &format!("\"{}\"", part.etag))
            )
        })
        .collect();
    let body = format!("<CompleteMultipartUpload>{body}</CompleteMultipartUpload>");
    request.headers = vec![pair("Content-Type", "application/xml")];
    request.payload = Payload::Bytes(body.into_bytes());
    request.idempotent = false;
    request
}

/// `DELETE /bucket/key?uploadId=ID`: abandons an upload and its parts.
pub fn abort(bucket: &str, key: &str, upload_id: &str) -> ObsRequest {
    let mut request = ObsRequest::new("abort multipart upload", "DELETE", bucket, key);
    request.query = vec![pair("uploadId", upload_id)];
    request
}

/// `DELETE /bucket/key`.
pub fn delete_object(bucket: &str, key: &str) -> ObsRequest {
    ObsRequest::new("delete object", "DELETE", bucket, key)
}

/// The signing headers to add: `Date`, `x-obs-security-token` for temporary credentials, and
/// `Authorization`. `date` is RFC 1123 (`sign::DATE_FORMAT`); `resource` is `/bucket/key`.
pub fn signing_headers(
    request: &ObsRequest,
    resource: &str,
    credentials: (&str, &str, Option<&str>),
    date: &str,
) -> Vec<(String, String)> {
    let (access_key, secret_key, token) = credentials;
    let mut headers = request.headers.clone();
    headers.push(pair("Date", date));
    if let Some(token) = token {
        headers.push(pair(
            &format!("{}security-token", FAMILY.header_prefix()),
            token,
        ));
    }
    let resource = sign::with_sub_resources(resource.to_owned(), &request.query, FAMILY);
    let to_sign = sign::string_to_sign(request.method, &headers, FAMILY, &resource);
    let signature = sign::signature(secret_key, &to_sign);
    let mut added: Vec<(String, String)> = headers.split_off(request.headers.len());
    added.push(pair(
        "Authorization",
        &sign::authorization(FAMILY, access_key, &signature),
    ));
    added
}

/// The path part of a key: [`encode_key`].
pub fn encoded(key: &str) -> String {
    encode_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_carry_standard_class_metadata_and_md5() {
        let metadata = BTreeMap::from([("imsform-sha256".to_owned(), "ab".to_owned())]);
        let put = put_object("b", "k.qcow2", ("/f".into(), 10), "bWQ1", &metadata);
        assert!(
            put.headers
                .contains(&pair("x-obs-storage-class", "STANDARD"))
        );
        assert!(
            put.headers
                .contains(&pair("x-obs-meta-imsform-sha256", "ab"))
        );
        assert!(put.headers.contains(&pair("Content-MD5", "bWQ1")));
        assert_eq!(put.payload.length(), 10);
        let initiate = initiate("b", "k", &metadata);
        assert!(
            initiate
                .headers
                .contains(&pair("x-obs-storage-class", "STANDARD"))
        );
        assert_eq!(initiate.query_string(), "uploads");
        let part = upload_part(("b", "k", "u1"), 3, ("/f".into(), 8, 4), "bWQ1");
        assert_eq!(part.query_string(), "partNumber=3&uploadId=u1");
        let parts = [CompletedPart {
            number: 1,
            etag: "e1".into(),
            size: 4,
        }];
        let complete = complete("b", "k", "u1", &parts);
        assert!(!complete.idempotent);
        let Payload::Bytes(body) = &complete.payload else {
            panic!("a body")
        };
        assert_eq!(
            String::from_utf8_lossy(body),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part></CompleteMultipartUpload>"
        );
    }

    #[test]
    fn signing_adds_date_token_and_authorization_over_the_resource() {
        let request = upload_part(("b", "k", "u1"), 2, ("/f".into(), 0, 4), "bWQ1");
        let date = "Tue, 15 Oct 2015 07:20:09 GMT";
        let headers = signing_headers(&request, "/b/k", ("AK", "SK", Some("tok")), date);
        let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["Date", "x-obs-security-token", "Authorization"]);
        let to_sign = "PUT\nbWQ1\napplication/octet-stream\nTue, 15 Oct 2015 07:20:09 GMT\n\
                       x-obs-security-token:tok\n/b/k?partNumber=2&uploadId=u1";
        let expected = format!("OBS AK:{}", sign::signature("SK", to_sign));
        assert_eq!(headers[2].1, expected);
    }
}
