//! Receiving a request body onto disk as it arrives: a temporary file, its size and its MD5,
//! checked against `Content-Length` and `Content-MD5` when the client sent them. Never holds
//! more than one chunk in memory. `aws-chunked` bodies are refused: imsform must never send
//! one (obs-upload.md section 5), and this is where a test would notice.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use super::reply::ObsError;

/// A body stored in a temporary file.
#[derive(Debug)]
pub struct Received {
    pub path: PathBuf,
    pub size: u64,
    /// Lower-case hex.
    pub md5: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Refuses what no well-behaved upload sends: `aws-chunked` encoding, and bodies larger than
/// `max` by their `Content-Length`.
pub fn check_headers(headers: &HeaderMap, max: u64) -> Result<(), ObsError> {
    let encoding = header(headers, "content-encoding").unwrap_or_default();
    let streaming = header(headers, "x-amz-content-sha256").unwrap_or_default();
    if encoding.contains("aws-chunked") || streaming.starts_with("STREAMING-") {
        return Err(ObsError::bad(
            "InvalidRequest",
            "aws-chunked encoded bodies are not supported",
        ));
    }
    let length = header(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if length.is_some_and(|length| length > max) {
        return Err(ObsError::bad(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
        ));
    }
    Ok(())
}

/// Writes `body` to `path`; removes the file again when anything is wrong with it.
pub async fn receive(body: Body, headers: &HeaderMap, path: PathBuf) -> Result<Received, ObsError> {
    let result = write(body, headers, &path).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

async fn write(body: Body, headers: &HeaderMap, path: &PathBuf) -> Result<Received, ObsError> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|error| ObsError::internal(&error))?;
    let mut hasher = Md5::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            ObsError::bad("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
        })?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|error| ObsError::internal(&error))?;
    }
    file.flush()
        .await
        .map_err(|error| ObsError::internal(&error))?;
    let declared = header(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|declared| declared != size) {
        return Err(ObsError::bad(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ));
    }
    let md5: [u8; 16] = hasher.finalize().into();
    if let Some(given) = header(headers, "content-md5") {
        let given = BASE64
            .decode(given.trim())
            .ok()
            .filter(|bytes| bytes.len() == 16)
            .ok_or_else(|| {
                ObsError::bad(
                    "InvalidDigest",
                    "The Content-MD5 you specified is not valid.",
                )
            })?;
        if given != md5 {
            return Err(ObsError::bad(
                "BadDigest",
                "The Content-MD5 you specified did not match what was received.",
            ));
        }
    }
    Ok(Received {
        path: path.clone(),
        size,
        md5: hex::encode(md5),
    })
}
