//! Object operations: PUT (a single upload, up to 5 GB), HEAD, GET (with `Range`), DELETE, and
//! HEAD of the bucket itself. User metadata travels as `x-obs-meta-*` (or `x-amz-meta-*`) and
//! the storage class as `x-obs-storage-class`; HEAD answers leave the class out for Standard
//! objects, as OBS does. Bodies stream to and from disk ([`super::store`]).

use std::collections::BTreeMap;
use std::io::SeekFrom;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use futures_util::{StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::receive::{check_headers, receive};
use super::reply::{ObsError, Reply};
use super::store::ObjectMeta;
use super::{ObsRequest, blocking};
use crate::obs::{Family, MAX_PART_SIZE, StorageClass, sign};

/// The content type of objects sent without one.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// User metadata of a request: `x-obs-meta-NAME: value` as `name -> value`.
pub fn user_metadata(headers: &HeaderMap, family: Family) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix(family.meta_prefix())?;
            Some((name.to_owned(), value.to_str().ok()?.trim().to_owned()))
        })
        .collect()
}

/// The requested storage class; Standard (the emulator's buckets' class) when none is sent.
pub fn storage_class(headers: &HeaderMap, family: Family) -> Result<StorageClass, ObsError> {
    match headers.get(family.storage_class_header()) {
        None => Ok(StorageClass::Standard),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|value| StorageClass::parse(value, family))
            .ok_or_else(|| {
                ObsError::bad(
                    "InvalidStorageClass",
                    "The storage class you specified is not valid",
                )
            }),
    }
}

pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(DEFAULT_CONTENT_TYPE)
        .to_owned()
}

fn set(response: &mut Response, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
        response.headers_mut().insert(name, value);
    }
}

/// `PUT /bucket/key`: stores the body as the object.
pub async fn put(request: ObsRequest, body: Body) -> Reply {
    check_headers(&request.headers, MAX_PART_SIZE)?;
    let class = storage_class(&request.headers, request.family)?;
    let temp = request.store.temp_file(&request.region, &request.bucket);
    let received = receive(body, &request.headers, temp).await?;
    let meta = ObjectMeta {
        key: request.key.clone(),
        size: received.size,
        etag: received.md5.clone(),
        storage_class: class,
        content_type: content_type(&request.headers),
        metadata: user_metadata(&request.headers, request.family),
        last_modified: Utc::now(),
        segments: Vec::new(),
    };
    let (store, region, bucket) = (
        request.store.clone(),
        request.region.clone(),
        request.bucket.clone(),
    );
    let path = received.path;
    blocking(move || store.put_object(&region, &bucket, meta, vec![(path, received.size)])).await?;
    let mut response = Response::new(Body::empty());
    set(&mut response, "etag", &format!("\"{}\"", received.md5));
    Ok(response)
}

/// `DELETE /bucket/key`: 204, whether or not the object existed.
pub async fn delete(request: ObsRequest) -> Reply {
    let ObsRequest {
        store,
        region,
        bucket,
        key,
        ..
    } = request;
    blocking(move || store.delete_object(&region, &bucket, &key)).await?;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// `HEAD /bucket`: 200 with the bucket's region.
pub fn head_bucket(request: &ObsRequest) -> Response {
    let mut response = Response::new(Body::empty());
    let name = match request.family {
        Family::Obs => "x-obs-bucket-location",
        Family::Aws => "x-amz-bucket-region",
    };
    set(&mut response, name, &request.region);
    response
}

/// `HEAD` or `GET /bucket/key`, the latter honouring one `Range: bytes=…`.
pub async fn read(request: ObsRequest, head: bool) -> Reply {
    let (store, region, bucket, key) = (
        request.store.clone(),
        request.region.clone(),
        request.bucket.clone(),
        request.key.clone(),
    );
    let meta = blocking(move || store.object(&region, &bucket, &key))
        .await?
        .ok_or_else(ObsError::no_key)?;
    let range = match request
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        Some(text) if !head => parse_range(text, meta.size)?,
        _ => None,
    };
    let (start, length) = range.unwrap_or((0, meta.size));
    let mut response = if head {
        Response::new(Body::empty())
    } else {
        Response::new(body_of(&request, &meta, start, length))
    };
    describe(&mut response, &meta, request.family, length);
    if let Some((start, length)) = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let end = start + length - 1;
        set(
            &mut response,
            "content-range",
            &format!("bytes {start}-{end}/{}", meta.size),
        );
    }
    Ok(response)
}

/// The headers that describe an object.
fn describe(response: &mut Response, meta: &ObjectMeta, family: Family, length: u64) {
    set(response, "content-length", &length.to_string());
    set(response, "etag", &format!("\"{}\"", meta.etag));
    set(response, "content-type", &meta.content_type);
    set(response, "accept-ranges", "bytes");
    set(
        response,
        "last-modified",
        &meta.last_modified.format(sign::DATE_FORMAT).to_string(),
    );
    if meta.storage_class != StorageClass::Standard {
        set(
            response,
            family.storage_class_header(),
            meta.storage_class.header_value(family),
        );
    }
    for (name, value) in &meta.metadata {
        set(response, &format!("{}{name}", family.meta_prefix()), value);
    }
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` as (start, length); `None` for a form not served
/// (several ranges): the whole object. 416 `InvalidRange` when nothing of it is in the object.
pub fn parse_range(text: &str, size: u64) -> Result<Option<(u64, u64)>, ObsError> {
    let invalid = || {
        ObsError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
    };
    let Some(spec) = text.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let (start, end) = match (first.trim().is_empty(), number(first), number(last)) {
        (true, _, Some(suffix)) if suffix > 0 => {
            (size.saturating_sub(suffix), size.saturating_sub(1))
        }
        (false, Some(start), None) if last.trim().is_empty() => (start, size.saturating_sub(1)),
        (false, Some(start), Some(end)) if end >= start => (start, end.min(size.saturating_sub(1))),
        _ => return Ok(None),
    };
    if size == 0 || start >= size {
        return Err(invalid());
    }
    Ok(Some((start, end - start + 1)))
}

/// A body streaming `length` bytes from `start` across the object's segments.
fn body_of(request: &ObsRequest, meta: &ObjectMeta, start: u64, length: u64) -> Body {
    let mut pieces: Vec<(PathBuf, u64, u64)> = Vec::new();
    let (mut offset, end) = (0u64, start + length);
    for (name, size) in &meta.segments {
        let (from, to) = (start.max(offset), end.min(offset + size));
        if from < to {
            let path = request
                .store
                .data_file(&request.region, &request.bucket, name);
            pieces.push((path, from - offset, to - from));
        }
        offset += size;
    }
    let stream = futures_util::stream::iter(pieces)
        .then(|(path, skip, take)| async move {
            let mut file = tokio::fs::File::open(&path).await?;
            file.seek(SeekFrom::Start(skip)).await?;
            Ok::<_, std::io::Error>(ReaderStream::with_capacity(file.take(take), 256 * 1024))
        })
        .try_flatten();
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_every_form() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some((0, 10)));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some((90, 10)));
        assert_eq!(parse_range("bytes=-5", 100).unwrap(), Some((95, 5)));
        assert_eq!(parse_range("bytes=50-500", 100).unwrap(), Some((50, 50)));
        assert_eq!(parse_range("bytes=0-1,5-6", 100).unwrap(), None);
        assert_eq!(parse_range("items=0-1", 100).unwrap(), None);
        assert_eq!(
            parse_range("bytes=100-", 100).unwrap_err().code,
            "InvalidRange"
        );
    }
}
