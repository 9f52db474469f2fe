//! The OBS calls one by one, as [`ObsClient`] methods: HEAD, GET into a file, PUT of a whole
//! file, DELETE, and the five multipart calls. Each is one request (with its retries); the
//! uploads that combine them are in `upload.rs` and `multipart.rs`.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::AsyncWriteExt;

use super::client::ObsClient;
use super::request;
use super::types::{CompletedPart, ObjectInfo, Target, UploadError};
use super::wire::object_info;
use crate::cloud::CloudError;
use crate::obs::{unquote_etag, xml};
use crate::upload::Progress;

/// The binary MD5 of `len` bytes of `path` from `offset`, read off the async threads.
pub async fn md5_of(path: &Path, offset: u64, len: u64) -> Result<[u8; 16], UploadError> {
    let owned = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&owned)?;
        crate::upload::digest::md5_range(&file, offset, len)
    })
    .await
    .unwrap_or_else(|error| Err(std::io::Error::other(error.to_string())));
    result.map_err(|source| UploadError::File {
        path: path.to_path_buf(),
        source,
    })
}

fn etag_of(
    response: &super::client::ObsResponse,
    operation: &'static str,
) -> Result<String, CloudError> {
    response
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(|etag| unquote_etag(etag).to_owned())
        .filter(|etag| !etag.is_empty())
        .ok_or_else(|| CloudError::Protocol {
            operation,
            status: response.status,
            detail: "the answer has no ETag".into(),
        })
}

impl ObsClient {
    /// The object's metadata, `None` when there is no such object.
    pub async fn head(&self, target: &Target) -> Result<Option<ObjectInfo>, CloudError> {
        let request = request::head_object(&target.bucket, &target.key);
        match self.send(&request, &[200], None).await {
            Ok(response) => Ok(Some(object_info(&response.headers))),
            Err(error) if error.status() == Some(404) => Ok(None),
            Err(error) if error.status() == Some(403) => {
                Err(self.why_forbidden(target, error).await)
            }
            Err(error) => Err(error),
        }
    }

    /// A HEAD answer carries no body, so a 403 does not say why. The same question as a GET
    /// of one byte does (`SignatureDoesNotMatch`, `InvalidAccessKeyId`, …): that error, when it
    /// has a code, else `head_error`.
    async fn why_forbidden(&self, target: &Target, head_error: CloudError) -> CloudError {
        let mut probe = request::get_object(&target.bucket, &target.key);
        probe
            .headers
            .push(("Range".to_owned(), "bytes=0-0".to_owned()));
        match self.send(&probe, &[200, 206], None).await {
            Err(error) if error.code().is_some_and(|code| code != "403") => error,
            _ => head_error,
        }
    }

    /// Downloads the object into `dest` (created or truncated); returns its size. The content
    /// passes through memory: meant for checking small objects, not for images.
    pub async fn download(&self, target: &Target, dest: &Path) -> Result<u64, UploadError> {
        let request = request::get_object(&target.bucket, &target.key);
        let response = self.send(&request, &[200], None).await?;
        let failed = |source| UploadError::File {
            path: dest.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::create(dest).await.map_err(failed)?;
        file.write_all(&response.body).await.map_err(failed)?;
        file.flush().await.map_err(failed)?;
        Ok(response.body.len() as u64)
    }

    /// One PUT of the whole file with its `Content-MD5`; returns the ETag.
    pub async fn put_file(
        &self,
        target: &Target,
        path: &Path,
        size: u64,
        metadata: &std::collections::BTreeMap<String, String>,
        progress: Option<&Arc<Progress>>,
    ) -> Result<String, UploadError> {
        let md5 = BASE64.encode(md5_of(path, 0, size).await?);
        let request = request::put_object(
            &target.bucket,
            &target.key,
            (path.to_path_buf(), size),
            &md5,
            metadata,
        );
        let response = self.send(&request, &[200], progress).await?;
        Ok(etag_of(&response, request.operation)?)
    }

    /// Deletes the object (success when it does not exist).
    pub async fn delete(&self, target: &Target) -> Result<(), CloudError> {
        let request = request::delete_object(&target.bucket, &target.key);
        self.send(&request, &[200, 204], None).await.map(|_| ())
    }

    /// Starts a multipart upload whose object gets `metadata` and class Standard; returns the
    /// upload id.
    pub async fn initiate(
        &self,
        target: &Target,
        metadata: &std::collections::BTreeMap<String, String>,
    ) -> Result<String, CloudError> {
        let request = request::initiate(&target.bucket, &target.key, metadata);
        let response = self.send(&request, &[200], None).await?;
        xml::text(&String::from_utf8_lossy(&response.body), "UploadId")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| CloudError::Protocol {
                operation: request.operation,
                status: response.status,
                detail: "the answer names no UploadId".into(),
            })
    }

    /// Sends part `number` (`len` bytes of `path` from `offset`) with its `Content-MD5`.
    pub async fn upload_part(
        &self,
        target: &Target,
        upload_id: &str,
        number: u32,
        file: (&Path, u64, u64),
        progress: Option<&Arc<Progress>>,
    ) -> Result<CompletedPart, UploadError> {
        let (path, offset, len) = file;
        let md5 = md5_of(path, offset, len).await?;
        let request = request::upload_part(
            (&target.bucket, &target.key, upload_id),
            number,
            (path.to_path_buf(), offset, len),
            &BASE64.encode(md5),
        );
        let response = self.send(&request, &[200], progress).await?;
        let etag = etag_of(&response, request.operation)?;
        Ok(CompletedPart {
            number,
            etag,
            size: len,
        })
    }

    /// Every part the server holds for the upload (all pages), by number.
    pub async fn list_parts(
        &self,
        target: &Target,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>, CloudError> {
        let mut parts = Vec::new();
        let mut marker = 0;
        loop {
            let request = request::list_parts(&target.bucket, &target.key, upload_id, marker);
            let response = self.send(&request, &[200], None).await?;
            let text = String::from_utf8_lossy(&response.body);
            for part in xml::elements(&text, "Part") {
                let number = xml::text(part, "PartNumber").and_then(|n| n.parse().ok());
                let size = xml::text(part, "Size").and_then(|n| n.parse().ok());
                let etag = xml::text(part, "ETag").map(|e| unquote_etag(&e).to_owned());
                let (Some(number), Some(size), Some(etag)) = (number, size, etag) else {
                    return Err(CloudError::Protocol {
                        operation: request.operation,
                        status: response.status,
                        detail: "a part lacks its number, size or ETag".into(),
                    });
                };
                parts.push(CompletedPart { number, etag, size });
            }
            let truncated = xml::text(&text, "IsTruncated").is_some_and(|t| t == "true");
            let next = xml::text(&text, "NextPartNumberMarker").and_then(|n| n.parse::<u32>().ok());
            match next.filter(|next| truncated && *next > marker) {
                Some(next) => marker = next,
                None => break,
            }
        }
        parts.sort_by_key(|part| part.number);
        Ok(parts)
    }

    /// Completes the upload from `parts` (ascending); returns the object's ETag. Not retried:
    /// see `multipart.rs` for how a lost answer is resolved.
    pub async fn complete(
        &self,
        target: &Target,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<String, CloudError> {
        let request = request::complete(&target.bucket, &target.key, upload_id, parts);
        let response = self.send(&request, &[200], None).await?;
        let text = String::from_utf8_lossy(&response.body);
        if let Some(code) = xml::text(&text, "Code") {
            // OBS may answer 200 and then report a failure in the body.
            let message = xml::text(&text, "Message").unwrap_or_default();
            return Err(CloudError::Api {
                operation: request.operation,
                status: 200,
                code,
                message,
                request_id: None,
            });
        }
        Ok(xml::text(&text, "ETag")
            .map(|e| unquote_etag(&e).to_owned())
            .unwrap_or_default())
    }

    /// Abandons the upload and its parts; success when it no longer exists.
    pub async fn abort(&self, target: &Target, upload_id: &str) -> Result<(), CloudError> {
        let request = request::abort(&target.bucket, &target.key, upload_id);
        match self.send(&request, &[200, 204], None).await {
            Err(error) if error.code() == Some("NoSuchUpload") => Ok(()),
            other => other.map(|_| ()),
        }
    }
}
