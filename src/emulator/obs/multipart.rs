//! Multipart uploads as OBS serves them (obs-upload.md section 1): Initiate (`POST ?uploads`),
//! Upload Part (`PUT ?partNumber&uploadId`, numbers 1 to 10 000, a part sent again replaces
//! the earlier one), List Parts (`GET ?uploadId`, paged by `max-parts` and
//! `part-number-marker`), Complete (`POST ?uploadId`: ascending parts with their ETags, every
//! part but the last at least 100 KB; the object's ETag is `MD5(M1‖…‖Mn)-N`; parts left out
//! are deleted) and Abort (`DELETE ?uploadId`).

use axum::body::{Body, to_bytes};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

use super::objects::{content_type, storage_class, user_metadata};
use super::receive::{check_headers, receive};
use super::reply::{ObsError, Reply};
use super::store::{ObjectMeta, PartMeta, UploadMeta};
use super::{ObsRequest, blocking};
use crate::obs::{MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, multipart_etag, unquote_etag, xml};

/// The largest Complete body read (10 000 parts of about 100 bytes each fit).
const COMPLETE_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// `max-parts` when the client asks for none, and the most it may ask for.
const MAX_LISTED: usize = 1000;

fn xml_response(root: &str, body: &str) -> Response {
    let mut response = Response::new(Body::from(xml::document(root, body)));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/xml"),
    );
    response
}

impl ObsRequest {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The upload named by `uploadId`, which must be for this key.
    async fn upload(&self) -> Result<(String, UploadMeta), ObsError> {
        let id = self.query("uploadId").unwrap_or_default().to_owned();
        let (store, region, bucket, lookup) = (
            self.store.clone(),
            self.region.clone(),
            self.bucket.clone(),
            id.clone(),
        );
        let meta = blocking(move || store.upload(&region, &bucket, &lookup)).await?;
        match meta {
            Some(meta) if meta.key == self.key => Ok((id, meta)),
            _ => Err(ObsError::no_upload()),
        }
    }
}

/// `POST /bucket/key?uploads`.
pub async fn initiate(request: ObsRequest) -> Reply {
    let meta = UploadMeta {
        key: request.key.clone(),
        storage_class: storage_class(&request.headers, request.family)?,
        content_type: content_type(&request.headers),
        metadata: user_metadata(&request.headers, request.family),
        initiated: Utc::now(),
    };
    let (store, region, bucket) = (
        request.store.clone(),
        request.region.clone(),
        request.bucket.clone(),
    );
    let id = blocking(move || store.create_upload(&region, &bucket, &meta)).await?;
    let body = format!(
        "{}{}{}",
        xml::leaf("Bucket", &request.bucket),
        xml::leaf("Key", &request.key),
        xml::leaf("UploadId", &id)
    );
    Ok(xml_response("InitiateMultipartUploadResult", &body))
}

/// `PUT /bucket/key?partNumber=N&uploadId=ID`.
pub async fn upload_part(request: ObsRequest, body: Body) -> Reply {
    let number = request
        .query("partNumber")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=MAX_PARTS).contains(n))
        .ok_or_else(|| {
            ObsError::bad(
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
            )
        })?;
    check_headers(&request.headers, MAX_PART_SIZE)?;
    let (id, _) = request.upload().await?;
    let temp = request.store.temp_file(&request.region, &request.bucket);
    let received = receive(body, &request.headers, temp).await?;
    let part = PartMeta {
        number,
        size: received.size,
        etag: received.md5.clone(),
        file: String::new(),
        last_modified: Utc::now(),
    };
    let (store, region, bucket) = (
        request.store.clone(),
        request.region.clone(),
        request.bucket.clone(),
    );
    blocking(move || store.put_part(&region, &bucket, &id, &received.path, part)).await?;
    let mut response = Response::new(Body::empty());
    if let Ok(value) = format!("\"{}\"", received.md5).parse() {
        response.headers_mut().insert("etag", value);
    }
    Ok(response)
}

/// `GET /bucket/key?uploadId=ID[&max-parts=N][&part-number-marker=M]`.
pub async fn list_parts(request: ObsRequest) -> Reply {
    let (id, upload) = request.upload().await?;
    let max = request
        .query("max-parts")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(MAX_LISTED)
        .clamp(1, MAX_LISTED);
    let marker = request
        .query("part-number-marker")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    let (store, region, bucket, lookup) = (
        request.store.clone(),
        request.region.clone(),
        request.bucket.clone(),
        id.clone(),
    );
    let parts = blocking(move || store.parts(&region, &bucket, &lookup)).await?;
    let after: Vec<&PartMeta> = parts.iter().filter(|part| part.number > marker).collect();
    let page = &after[..after.len().min(max)];
    let truncated = after.len() > page.len();
    let next = page.last().map_or(marker, |part| part.number);
    let mut body = format!(
        "{}{}{}<Initiator><ID>emulator</ID></Initiator><Owner><ID>emulator</ID></Owner>{}{}{}{}{}",
        xml::leaf("Bucket", &request.bucket),
        xml::leaf("Key", &request.key),
        xml::leaf("UploadId", &id),
        xml::leaf(
            "StorageClass",
            upload.storage_class.header_value(request.family)
        ),
        xml::leaf("PartNumberMarker", &marker.to_string()),
        xml::leaf("NextPartNumberMarker", &next.to_string()),
        xml::leaf("MaxParts", &max.to_string()),
        xml::leaf("IsTruncated", if truncated { "true" } else { "false" }),
    );
    for part in page {
        body.push_str(&format!(
            "<Part>{}{}{}{}</Part>",
            xml::leaf("PartNumber", &part.number.to_string()),
            xml::leaf(
                "LastModified",
                &part
                    .last_modified
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string()
            ),
            xml::leaf("ETag", &format!("\"{}\"", part.etag)),
            xml::leaf("Size", &part.size.to_string()),
        ));
    }
    Ok(xml_response("ListPartsResult", &body))
}

/// The `(number, ETag)` pairs of a Complete body, checked for order.
fn requested_parts(body: &str) -> Result<Vec<(u32, String)>, ObsError> {
    let malformed = || {
        ObsError::bad(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema.",
        )
    };
    let mut parts = Vec::new();
    for part in xml::elements(body, "Part") {
        let number = xml::text(part, "PartNumber")
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(malformed)?;
        let etag = xml::text(part, "ETag").ok_or_else(malformed)?;
        if parts.last().is_some_and(|(last, _)| *last >= number) {
            return Err(ObsError::bad(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
            ));
        }
        parts.push((number, unquote_etag(&etag).to_owned()));
    }
    if parts.is_empty() {
        return Err(malformed());
    }
    Ok(parts)
}

/// The stored parts Complete names, in order, each checked against its ETag and size.
fn chosen_parts(stored: &[PartMeta], wanted: &[(u32, String)]) -> Result<Vec<PartMeta>, ObsError> {
    let invalid = || {
        ObsError::bad(
            "InvalidPart",
            "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
        )
    };
    let mut chosen = Vec::new();
    for (index, (number, etag)) in wanted.iter().enumerate() {
        let part = stored
            .iter()
            .find(|part| part.number == *number)
            .filter(|part| part.etag == *etag)
            .ok_or_else(invalid)?;
        if index + 1 < wanted.len() && part.size < MIN_PART_SIZE {
            return Err(ObsError::bad(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
            ));
        }
        chosen.push(part.clone());
    }
    Ok(chosen)
}

/// `POST /bucket/key?uploadId=ID` with the parts to join.
pub async fn complete(request: ObsRequest, body: Body) -> Reply {
    let bytes = to_bytes(body, COMPLETE_BODY_LIMIT)
        .await
        .map_err(|_| ObsError::bad("MalformedXML", "The Complete body is too large."))?;
    let wanted = requested_parts(&String::from_utf8_lossy(&bytes))?;
    let (id, upload) = request.upload().await?;
    let (store, region, bucket) = (
        request.store.clone(),
        request.region.clone(),
        request.bucket.clone(),
    );
    let lookup = id.clone();
    let stored = blocking(move || store.parts(&region, &bucket, &lookup)).await?;
    let chosen = chosen_parts(&stored, &wanted)?;
    let md5s: Vec<String> = chosen.iter().map(|part| part.etag.clone()).collect();
    let etag = multipart_etag(&md5s).unwrap_or_default();
    let meta = ObjectMeta {
        key: upload.key.clone(),
        size: chosen.iter().map(|part| part.size).sum(),
        etag: etag.clone(),
        storage_class: upload.storage_class,
        content_type: upload.content_type,
        metadata: upload.metadata,
        last_modified: Utc::now(),
        segments: Vec::new(),
    };
    let (store, region, bucket) = (
        request.store.clone(),
        request.region.clone(),
        request.bucket.clone(),
    );
    blocking(move || {
        let files: Vec<_> = chosen
            .iter()
            .map(|part| (store.data_file(&region, &bucket, &part.file), part.size))
            .collect();
        let keep: Vec<String> = chosen.iter().map(|part| part.file.clone()).collect();
        store.put_object(&region, &bucket, meta, files)?;
        store.remove_upload(&region, &bucket, &id, &keep)
    })
    .await?;
    let location = format!(
        "/{}/{}",
        request.bucket,
        crate::obs::encode_key(&request.key)
    );
    let body = format!(
        "{}{}{}{}",
        xml::leaf("Location", &location),
        xml::leaf("Bucket", &request.bucket),
        xml::leaf("Key", &request.key),
        xml::leaf("ETag", &format!("\"{etag}\"")),
    );
    Ok(xml_response("CompleteMultipartUploadResult", &body))
}

/// `DELETE /bucket/key?uploadId=ID`: 204; the parts are deleted.
pub async fn abort(request: ObsRequest) -> Reply {
    let (id, _) = request.upload().await?;
    let (store, region, bucket) = (
        request.store.clone(),
        request.region.clone(),
        request.bucket.clone(),
    );
    blocking(move || store.remove_upload(&region, &bucket, &id, &[])).await?;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(number: u32, size: u64) -> PartMeta {
        PartMeta {
            number,
            size,
            etag: format!("e{number}"),
            file: String::new(),
            last_modified: Utc::now(),
        }
    }

    #[test]
    fn complete_checks_order_etags_and_sizes() {
        let body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>\
                    <Part><PartNumber>2</PartNumber><ETag>e2</ETag></Part></CompleteMultipartUpload>";
        let wanted = requested_parts(body).unwrap();
        assert_eq!(wanted, vec![(1, "e1".to_owned()), (2, "e2".to_owned())]);
        let stored = [part(1, MIN_PART_SIZE), part(2, 1)];
        assert_eq!(chosen_parts(&stored, &wanted).unwrap().len(), 2);
        let small = [part(1, MIN_PART_SIZE - 1), part(2, 1)];
        assert_eq!(
            chosen_parts(&small, &wanted).unwrap_err().code,
            "EntityTooSmall"
        );
        assert_eq!(
            chosen_parts(&stored[..1], &wanted).unwrap_err().code,
            "InvalidPart"
        );
        let reversed = "<Part><PartNumber>2</PartNumber><ETag>e</ETag></Part><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>";
        assert_eq!(
            requested_parts(reversed).unwrap_err().code,
            "InvalidPartOrder"
        );
        assert_eq!(requested_parts("<x/>").unwrap_err().code, "MalformedXML");
    }
}
