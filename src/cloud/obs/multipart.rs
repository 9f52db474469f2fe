//! Multipart uploads as a resumable operation. [`ObsClient::multipart_upload`] starts one;
//! [`ObsClient::resume_multipart`] picks up a journaled one after a crash. Both then send the
//! parts the server lacks, up to `parallelism` at once, each with its `Content-MD5`, report
//! each completed part ([`UploadEvent::PartCompleted`]: the journal records it), and complete.
//!
//! Contract:
//! - The journal needs the upload id and part size before any part is sent: they come in
//!   [`UploadEvent::Initiated`].
//! - On resume the server is the truth: ListParts says which parts it holds; a part of the
//!   right number and size counts as done (the file is the same one: its fingerprint is
//!   checked first), every other part is sent again. The journal's parts are not needed.
//! - The file must keep the fingerprint the plan saw, before the parts go and before Complete:
//!   otherwise [`UploadError::FileChanged`], and the caller aborts the upload.
//! - Complete is not sent blindly twice: when its answer is lost (or a 5xx), a HEAD of the
//!   object decides: the object with this file's SHA-256 and size means it was completed.
//!   Only an upload that still exists gets Complete again. The same HEAD resolves a resume
//!   whose upload is gone (completed just before the crash).
//! - Any other failure leaves the upload in place, to be resumed.

use futures_util::StreamExt;

use super::client::ObsClient;
use super::types::{
    CompletedPart, Events, LocalFile, MultipartState, Target, UploadError, UploadEvent,
    UploadOptions, Uploaded,
};
use crate::cloud::CloudError;
use crate::obs::{MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};

use super::types::DEFAULT_PART_SIZE;

/// How many times Complete is sent when its answers keep getting lost.
const COMPLETE_ROUNDS: u32 = 3;

/// The part size for a file of `size` bytes: `wanted` (default 16 MiB), raised (in whole MiB)
/// when the file would need more than 10 000 parts, within OBS's 100 KB to 5 GB.
pub fn part_size(size: u64, wanted: Option<u64>) -> u64 {
    let wanted = wanted.unwrap_or(DEFAULT_PART_SIZE);
    let mib = 1024 * 1024;
    let least = size.div_ceil(u64::from(MAX_PARTS));
    let size = if least > wanted {
        least.div_ceil(mib) * mib
    } else {
        wanted
    };
    size.clamp(MIN_PART_SIZE, MAX_PART_SIZE)
}

/// How many parts a file of `size` bytes makes (at least one, even when empty).
pub fn part_count(size: u64, part_size: u64) -> u32 {
    u32::try_from(size.div_ceil(part_size).max(1)).unwrap_or(u32::MAX)
}

/// Part `number`'s offset and length.
pub fn part_range(number: u32, part_size: u64, size: u64) -> (u64, u64) {
    let offset = u64::from(number - 1) * part_size;
    (offset, part_size.min(size.saturating_sub(offset)))
}

/// The parts of `held` that belong to a file of `size` bytes cut in `part_size`: a number in
/// range and the size that number must have.
pub fn reconcile(held: &[CompletedPart], part_size: u64, size: u64) -> Vec<CompletedPart> {
    let count = part_count(size, part_size);
    held.iter()
        .filter(|part| (1..=count).contains(&part.number))
        .filter(|part| part.size == part_range(part.number, part_size, size).1)
        .cloned()
        .collect()
}

fn ensure_unchanged(file: &LocalFile) -> Result<(), UploadError> {
    if file.fingerprint.matches(&file.path) {
        Ok(())
    } else {
        Err(UploadError::FileChanged {
            path: file.path.clone(),
        })
    }
}

fn is_unsure(error: &CloudError) -> bool {
    matches!(
        error,
        CloudError::OutcomeUnknown { .. } | CloudError::BudgetExhausted { .. }
    ) || error.code() == Some("NoSuchUpload")
        || error.status().is_some_and(|status| status >= 500)
}

impl ObsClient {
    /// Starts a multipart upload of `file` to `target` with `metadata`, then sends it.
    pub async fn multipart_upload(
        &self,
        target: &Target,
        file: &LocalFile,
        metadata: &std::collections::BTreeMap<String, String>,
        options: &UploadOptions,
        events: Events<'_>,
    ) -> Result<Uploaded, UploadError> {
        ensure_unchanged(file)?;
        let part_size = part_size(file.fingerprint.size, options.part_size);
        let upload_id = self.initiate(target, metadata).await?;
        events(UploadEvent::Initiated {
            upload_id: upload_id.clone(),
            part_size,
        });
        let state = MultipartState {
            upload_id,
            part_size,
            parts: Vec::new(),
        };
        self.send_and_complete(target, file, &state, Vec::new(), options, events)
            .await
    }

    /// Resumes the journaled upload `state` of `file`: asks the server which parts it holds,
    /// sends only the others, completes. [`UploadError::FileChanged`] when the file is not the
    /// one the upload began with: abort the upload ([`ObsClient::abort`]) and plan again.
    pub async fn resume_multipart(
        &self,
        target: &Target,
        file: &LocalFile,
        state: &MultipartState,
        options: &UploadOptions,
        events: Events<'_>,
    ) -> Result<Uploaded, UploadError> {
        ensure_unchanged(file)?;
        let held = match self.list_parts(target, &state.upload_id).await {
            Ok(held) => held,
            Err(error) if error.code() == Some("NoSuchUpload") => {
                return match self.head(target).await? {
                    Some(info) if info.sha256() == Some(file.sha256.as_str()) => {
                        events(UploadEvent::Completed {
                            etag: info.etag.clone(),
                        });
                        Ok(Uploaded::AlreadyThere(info))
                    }
                    _ => Err(error.into()),
                };
            }
            Err(error) => return Err(error.into()),
        };
        let usable = reconcile(&held, state.part_size, file.fingerprint.size);
        self.send_and_complete(target, file, state, usable, options, events)
            .await
    }

    async fn send_and_complete(
        &self,
        target: &Target,
        file: &LocalFile,
        state: &MultipartState,
        held: Vec<CompletedPart>,
        options: &UploadOptions,
        events: Events<'_>,
    ) -> Result<Uploaded, UploadError> {
        let size = file.fingerprint.size;
        let count = part_count(size, state.part_size);
        if let Some(progress) = &options.progress {
            progress.add(held.iter().map(|part| part.size).sum());
        }
        let missing: Vec<u32> = (1..=count)
            .filter(|number| held.iter().all(|part| part.number != *number))
            .collect();
        let sent = self
            .send_parts(target, file, state, &missing, options, events)
            .await?;
        ensure_unchanged(file)?;
        let mut parts = held;
        parts.extend(sent);
        parts.sort_by_key(|part| part.number);
        let etag = self.finish(target, &state.upload_id, &parts, file).await?;
        events(UploadEvent::Completed { etag: etag.clone() });
        Ok(Uploaded::Multipart {
            etag,
            parts_sent: u32::try_from(missing.len()).unwrap_or(u32::MAX),
        })
    }

    /// Sends `numbers`, `parallelism` at a time; the first failure stops the rest.
    async fn send_parts(
        &self,
        target: &Target,
        file: &LocalFile,
        state: &MultipartState,
        numbers: &[u32],
        options: &UploadOptions,
        events: Events<'_>,
    ) -> Result<Vec<CompletedPart>, UploadError> {
        let size = file.fingerprint.size;
        let mut pending = futures_util::stream::iter(numbers.iter().copied())
            .map(|number| {
                let (offset, len) = part_range(number, state.part_size, size);
                let progress = options.progress.as_ref();
                self.upload_part(
                    target,
                    &state.upload_id,
                    number,
                    (&file.path, offset, len),
                    progress,
                )
            })
            .buffer_unordered(options.parallelism.max(1));
        let mut sent = Vec::with_capacity(numbers.len());
        while let Some(result) = pending.next().await {
            let part = result?;
            events(UploadEvent::PartCompleted(part.clone()));
            sent.push(part);
        }
        Ok(sent)
    }

    /// Completes the upload, resolving lost answers by a HEAD of the object.
    async fn finish(
        &self,
        target: &Target,
        upload_id: &str,
        parts: &[CompletedPart],
        file: &LocalFile,
    ) -> Result<String, UploadError> {
        let mut round = 0;
        loop {
            round += 1;
            let error = match self.complete(target, upload_id, parts).await {
                Ok(etag) => return Ok(etag),
                Err(error) if !is_unsure(&error) => return Err(error.into()),
                Err(error) => error,
            };
            tracing::info!("complete multipart upload: {error}; asking OBS whether it was done");
            if let Some(info) = self.head(target).await?
                && info.sha256() == Some(file.sha256.as_str())
                && info.size == file.fingerprint.size
            {
                return Ok(info.etag);
            }
            if round >= COMPLETE_ROUNDS || error.code() == Some("NoSuchUpload") {
                return Err(error.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn parts_are_16_mib_unless_the_file_needs_more_than_ten_thousand() {
        assert_eq!(part_size(10 * 1024 * MIB, None), 16 * MIB);
        assert_eq!(part_size(10 * 1024 * MIB, Some(64 * MIB)), 64 * MIB);
        let terabyte = 1024 * 1024 * MIB;
        let size = part_size(terabyte, None);
        assert!(part_count(terabyte, size) <= MAX_PARTS);
        assert_eq!(size % MIB, 0);
        assert_eq!(part_size(10, Some(1)), MIN_PART_SIZE);
        assert_eq!(part_count(0, 16 * MIB), 1);
        assert_eq!(part_count(33 * MIB, 16 * MIB), 3);
        assert_eq!(part_range(3, 16 * MIB, 33 * MIB), (32 * MIB, MIB));
    }

    #[test]
    fn only_parts_of_the_right_number_and_size_count_as_held() {
        let part = |number, size| CompletedPart {
            number,
            etag: format!("e{number}"),
            size,
        };
        let held = [part(1, 10), part(2, 7), part(3, 5), part(4, 10)];
        // A 25-byte file in 10-byte parts: 10, 10, 5.
        let usable = reconcile(&held, 10, 25);
        assert_eq!(usable, vec![part(1, 10), part(3, 5)]);
    }
}
