//! [`ObsClient::upload_file`]: the one call the apply step makes to put a planned file into
//! its content-addressed key. HEAD first: a key that already holds an object with this file's
//! SHA-256 is left alone (its content is this file). Otherwise one PUT up to the threshold,
//! multipart above it; a journaled multipart upload is resumed instead of started.

use std::collections::BTreeMap;

use super::client::ObsClient;
use super::types::{
    Events, LocalFile, MultipartState, Target, UploadError, UploadEvent, UploadOptions, Uploaded,
};
use crate::obs::{META_LINEAGE, META_SHA256};

/// The user metadata of an object imsform uploads: the file's SHA-256 and the state's lineage.
pub fn metadata(file: &LocalFile, options: &UploadOptions) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::from([(META_SHA256.to_owned(), file.sha256.clone())]);
    if let Some(lineage) = &options.lineage {
        metadata.insert(META_LINEAGE.to_owned(), lineage.clone());
    }
    metadata
}

impl ObsClient {
    /// Uploads `file` to `target`, or resumes `resume` (the journal's multipart upload of it).
    /// Reports [`UploadEvent`]s as it goes; see `multipart.rs` for the resume contract.
    pub async fn upload_file(
        &self,
        target: &Target,
        file: &LocalFile,
        resume: Option<&MultipartState>,
        options: &UploadOptions,
        events: Events<'_>,
    ) -> Result<Uploaded, UploadError> {
        if let Some(state) = resume {
            return self
                .resume_multipart(target, file, state, options, events)
                .await;
        }
        if let Some(info) = self.head(target).await?
            && info.sha256() == Some(file.sha256.as_str())
            && info.size == file.fingerprint.size
        {
            return Ok(Uploaded::AlreadyThere(info));
        }
        if !file.fingerprint.matches(&file.path) {
            return Err(UploadError::FileChanged {
                path: file.path.clone(),
            });
        }
        let metadata = metadata(file, options);
        if file.fingerprint.size > options.threshold {
            return self
                .multipart_upload(target, file, &metadata, options, events)
                .await;
        }
        let size = file.fingerprint.size;
        let progress = options.progress.as_ref();
        let etag = self
            .put_file(target, &file.path, size, &metadata, progress)
            .await?;
        if !file.fingerprint.matches(&file.path) {
            // The object holds whatever was read; it must not pass for this file.
            let _ = self.delete(target).await;
            return Err(UploadError::FileChanged {
                path: file.path.clone(),
            });
        }
        events(UploadEvent::Completed { etag: etag.clone() });
        Ok(Uploaded::Put { etag })
    }
}
