//! Resumable multipart uploads and faults: a journaled upload resumed after a crash sends only
//! the parts the server lacks (counted by the emulator), a changed file is refused so the
//! upload can be aborted, an upload completed just before the crash is recognised, and 5xx
//! bursts and a dropped Complete are absorbed by the retry rules.

use std::collections::BTreeMap;

use imsform::cloud::obs::*;
use imsform::emulator::{Emulator, Faults};

use super::obs::*;
use super::*;

const MIB: u64 = 1024 * 1024;

/// Starts an upload of `file` to `key` in 1 MiB parts and sends only `numbers` of them, as an
/// apply killed mid-upload would leave it.
async fn interrupted(
    client: &ObsClient,
    key: &str,
    file: &LocalFile,
    numbers: &[u32],
) -> MultipartState {
    let options = small(MIB, MIB);
    let upload_id = client
        .initiate(&target(key), &metadata(file, &options))
        .await
        .unwrap();
    let mut parts = Vec::new();
    for &number in numbers {
        let (offset, len) = part_range(number, MIB, file.fingerprint.size);
        let part = client
            .upload_part(
                &target(key),
                &upload_id,
                number,
                (&file.path, offset, len),
                None,
            )
            .await
            .unwrap();
        parts.push(part);
    }
    MultipartState {
        upload_id,
        part_size: MIB,
        parts,
    }
}

#[tokio::test]
async fn a_resumed_upload_sends_only_the_parts_the_server_lacks() {
    let emulator = obs_emulator().await;
    let client = obs_client(&emulator, emulator.secret_key());
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), "web.qcow2", 5 * MIB as usize + 100);
    let file = local(dir.path(), &path);
    let mut state = interrupted(&client, "web.qcow2", &file, &[1, 2, 4]).await;
    // The journal recorded part 1 only: parts 2 and 4 reached the server after the last save.
    state.parts.truncate(1);
    assert_eq!(count(&emulator, PART_ROUTE), 3);
    let recorder = Recorder::default();
    let uploaded = client
        .upload_file(
            &target("web.qcow2"),
            &file,
            Some(&state),
            &small(MIB, MIB),
            &recorder.sink(),
        )
        .await
        .unwrap();
    assert!(
        matches!(uploaded, Uploaded::Multipart { parts_sent: 3, .. }),
        "{uploaded:?}"
    );
    assert_eq!(count(&emulator, PART_ROUTE), 6, "parts 3, 5 and 6 only");
    assert_eq!(count(&emulator, "GET /{bucket}/{object}?uploadId"), 1);
    assert_eq!(
        count(&emulator, "POST /{bucket}/{object}?uploads"),
        1,
        "not started again"
    );
    assert_eq!(
        downloaded_sha256(&client, "web.qcow2", dir.path()).await,
        file.sha256
    );
    let sent: Vec<u32> = recorder
        .events()
        .iter()
        .filter_map(|event| match event {
            UploadEvent::PartCompleted(part) => Some(part.number),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 3);
}

#[tokio::test]
async fn a_changed_file_stops_the_resume_and_the_upload_can_be_aborted() {
    let emulator = obs_emulator().await;
    let client = obs_client(&emulator, emulator.secret_key());
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), "web.qcow2", 3 * MIB as usize);
    let file = local(dir.path(), &path);
    let state = interrupted(&client, "web.qcow2", &file, &[1]).await;
    std::fs::write(&path, b"a new build").unwrap();
    let error = client
        .upload_file(
            &target("web.qcow2"),
            &file,
            Some(&state),
            &small(MIB, MIB),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, UploadError::FileChanged { .. }),
        "{error:?}"
    );
    assert_eq!(
        count(&emulator, PART_ROUTE),
        1,
        "nothing sent after the change"
    );
    client
        .abort(&target("web.qcow2"), &state.upload_id)
        .await
        .unwrap();
    let gone = client
        .list_parts(&target("web.qcow2"), &state.upload_id)
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("NoSuchUpload"));
    client
        .abort(&target("web.qcow2"), &state.upload_id)
        .await
        .unwrap();
    assert!(client.head(&target("web.qcow2")).await.unwrap().is_none());
}

#[tokio::test]
async fn an_upload_completed_before_the_crash_is_recognised_on_resume() {
    let emulator = obs_emulator().await;
    let client = obs_client(&emulator, emulator.secret_key());
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), "web.qcow2", 2 * MIB as usize + 1);
    let file = local(dir.path(), &path);
    let state = interrupted(&client, "web.qcow2", &file, &[1, 2, 3]).await;
    let mut parts = client
        .list_parts(&target("web.qcow2"), &state.upload_id)
        .await
        .unwrap();
    parts.sort_by_key(|part| part.number);
    client
        .complete(&target("web.qcow2"), &state.upload_id, &parts)
        .await
        .unwrap();
    let uploaded = client
        .upload_file(
            &target("web.qcow2"),
            &file,
            Some(&state),
            &small(MIB, MIB),
            &|_| {},
        )
        .await
        .unwrap();
    assert!(
        matches!(uploaded, Uploaded::AlreadyThere(_)),
        "{uploaded:?}"
    );
    assert_eq!(count(&emulator, PART_ROUTE), 3);
}

#[tokio::test]
async fn five_hundreds_and_a_dropped_complete_are_absorbed() {
    let faults = Faults {
        seed: Some(7),
        error_rate: 0.3,
        drop_routes: BTreeMap::from([(COMPLETE_ROUTE.to_owned(), 1)]),
        ..Faults::default()
    };
    let emulator = start(Emulator::builder().bucket(BUCKET).faults(faults)).await;
    let client = obs_client(&emulator, emulator.secret_key());
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), "web.qcow2", 4 * MIB as usize);
    let file = local(dir.path(), &path);
    let uploaded = client
        .upload_file(&target("web.qcow2"), &file, None, &small(MIB, MIB), &|_| {})
        .await
        .unwrap();
    assert!(
        matches!(uploaded, Uploaded::Multipart { parts_sent: 4, .. }),
        "{uploaded:?}"
    );
    assert!(
        total(&emulator) > 8,
        "no failure was injected: {:?}",
        emulator.stats()
    );
    emulator.set_faults(Faults::default());
    assert_eq!(
        downloaded_sha256(&client, "web.qcow2", dir.path()).await,
        file.sha256
    );
    let completes = count(&emulator, COMPLETE_ROUTE);
    assert!(completes >= 1, "{:?}", emulator.stats());
}
