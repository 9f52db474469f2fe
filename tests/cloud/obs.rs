//! The OBS client against the emulator's OBS over loopback HTTP: single PUT and multipart
//! uploads of real files, the skip of an object already there, what goes on the wire (class,
//! Content-MD5, metadata, no aws-chunked), and a wrong secret.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use imsform::cloud::obs::*;
use imsform::cloud::{ClientFactory, CloudError};
use imsform::emulator::Emulator;
use imsform::upload::{DigestCache, Progress};

use super::*;

pub const BUCKET: &str = "images";
pub const PART_ROUTE: &str = "PUT /{bucket}/{object}?partNumber&uploadId";
pub const COMPLETE_ROUTE: &str = "POST /{bucket}/{object}?uploadId";

/// An emulator with bucket `images` in its first region.
pub async fn obs_emulator() -> Emulator {
    start(Emulator::builder().bucket(BUCKET)).await
}

/// The OBS client of the emulator's first region, with the test retry policy.
pub fn obs_client(emulator: &Emulator, secret: &str) -> ObsClient {
    let credentials = Credentials::ak_sk(emulator.access_key(), secret);
    ClientFactory::new(&config(emulator, true), credentials, options())
        .obs_endpoint(emulator.region(), &emulator.obs_uri())
        .obs(emulator.region())
        .unwrap()
}

/// A file of `size` bytes of a repeating, position-dependent pattern (parts differ).
pub fn file_of(dir: &Path, name: &str, size: usize) -> PathBuf {
    let path = dir.join(name);
    let content: Vec<u8> = (0..size).map(|i| ((i / 7) % 251) as u8).collect();
    std::fs::write(&path, content).unwrap();
    path
}

/// The file as the plan sees it: fingerprint and SHA-256 from the digest cache.
pub fn local(dir: &Path, path: &Path) -> LocalFile {
    let digest = DigestCache::open(dir).sha256(path).unwrap();
    LocalFile {
        path: digest.path,
        fingerprint: digest.fingerprint,
        sha256: digest.sha256,
    }
}

pub fn target(key: &str) -> Target {
    Target {
        bucket: BUCKET.into(),
        key: key.into(),
    }
}

/// Options for small files: `threshold` and `part_size` in bytes, two parts at once.
pub fn small(threshold: u64, part_size: u64) -> UploadOptions {
    UploadOptions {
        threshold,
        part_size: Some(part_size),
        parallelism: 2,
        lineage: Some("0b9b7e3c-1f0a-4d5e-8a4b-6c2d9e1f3a5b".into()),
        progress: None,
    }
}

/// Collects every event an upload reports.
#[derive(Default, Clone)]
pub struct Recorder(pub Arc<Mutex<Vec<UploadEvent>>>);

impl Recorder {
    pub fn events(&self) -> Vec<UploadEvent> {
        self.0.lock().unwrap().clone()
    }

    pub fn sink(&self) -> impl Fn(UploadEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event| events.lock().unwrap().push(event)
    }
}

/// The SHA-256 of the object as downloaded through the emulator's OBS API.
pub async fn downloaded_sha256(client: &ObsClient, key: &str, dir: &Path) -> String {
    let copy = dir.join("downloaded");
    client.download(&target(key), &copy).await.unwrap();
    imsform::upload::digest::sha256_file(&copy).unwrap().0
}

#[tokio::test]
async fn a_small_file_goes_up_in_one_put_and_is_not_sent_twice() {
    let emulator = obs_emulator().await;
    let client = obs_client(&emulator, emulator.secret_key());
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), "web.qcow2", 300 * 1024);
    let file = local(dir.path(), &path);
    let recorder = Recorder::default();
    let sink = recorder.sink();
    let uploaded = client
        .upload_file(
            &target("imsform/web.qcow2"),
            &file,
            None,
            &small(1 << 20, 1 << 20),
            &sink,
        )
        .await
        .unwrap();
    assert!(matches!(uploaded, Uploaded::Put { .. }), "{uploaded:?}");
    let info = client
        .head(&target("imsform/web.qcow2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.size, 300 * 1024);
    assert_eq!(info.sha256(), Some(file.sha256.as_str()));
    assert_eq!(
        info.metadata["imsform-lineage"],
        "0b9b7e3c-1f0a-4d5e-8a4b-6c2d9e1f3a5b"
    );
    assert_eq!(info.storage_class, imsform::obs::StorageClass::Standard);
    assert_eq!(
        downloaded_sha256(&client, "imsform/web.qcow2", dir.path()).await,
        file.sha256
    );
    let put = emulator
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    let header = |name: &str| {
        put.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("x-obs-storage-class").as_deref(), Some("STANDARD"));
    assert_eq!(header("content-length").as_deref(), Some("307200"));
    assert!(header("content-md5").is_some());
    assert_eq!(header("content-encoding"), None, "never aws-chunked");
    assert_eq!(header("transfer-encoding"), None);
    let again = client
        .upload_file(
            &target("imsform/web.qcow2"),
            &file,
            None,
            &small(1 << 20, 1 << 20),
            &sink,
        )
        .await
        .unwrap();
    assert!(matches!(again, Uploaded::AlreadyThere(_)), "{again:?}");
    assert_eq!(
        count(&emulator, "PUT /{bucket}/{object}"),
        1,
        "nothing sent the second time"
    );
    assert_eq!(recorder.events().len(), 1, "{:?}", recorder.events());
}

#[tokio::test]
async fn a_file_above_the_threshold_goes_up_in_parts_reported_one_by_one() {
    let emulator = obs_emulator().await;
    let client = obs_client(&emulator, emulator.secret_key());
    let dir = tempfile::tempdir().unwrap();
    let size = 3 * 1024 * 1024 + 512 * 1024;
    let path = file_of(dir.path(), "db.raw", size);
    let file = local(dir.path(), &path);
    let progress = Arc::new(Progress::new(size as u64));
    let options = UploadOptions {
        progress: Some(Arc::clone(&progress)),
        ..small(1 << 20, 1 << 20)
    };
    let recorder = Recorder::default();
    let uploaded = client
        .upload_file(
            &target("imsform/db.raw"),
            &file,
            None,
            &options,
            &recorder.sink(),
        )
        .await
        .unwrap();
    let Uploaded::Multipart { etag, parts_sent } = uploaded else {
        panic!("{uploaded:?}")
    };
    assert_eq!(parts_sent, 4);
    assert!(etag.ends_with("-4"), "{etag}");
    assert_eq!(count(&emulator, PART_ROUTE), 4);
    assert_eq!(progress.snapshot().sent, size as u64);
    let events = recorder.events();
    assert!(
        matches!(&events[0], UploadEvent::Initiated { part_size, .. } if *part_size == 1 << 20)
    );
    let mut numbers: Vec<u32> = events
        .iter()
        .filter_map(|event| match event {
            UploadEvent::PartCompleted(part) => Some(part.number),
            _ => None,
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(
        events.last(),
        Some(&UploadEvent::Completed { etag: etag.clone() })
    );
    assert_eq!(
        downloaded_sha256(&client, "imsform/db.raw", dir.path()).await,
        file.sha256
    );
    let info = client
        .head(&target("imsform/db.raw"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.sha256(), Some(file.sha256.as_str()));
    assert_eq!(info.etag, etag);
    let initiate = emulator
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert!(
        initiate
            .headers
            .contains(&("x-obs-storage-class".into(), "STANDARD".into()))
    );
    let parts = emulator
        .requests()
        .into_iter()
        .filter(|r| r.query.contains("partNumber"));
    for part in parts {
        assert!(
            part.headers.iter().any(|(k, _)| k == "content-md5"),
            "{part:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_a_clear_error_and_not_retried() {
    let emulator = obs_emulator().await;
    let client = obs_client(&emulator, "not-the-secret");
    let dir = tempfile::tempdir().unwrap();
    let path = file_of(dir.path(), "web.qcow2", 1000);
    let file = local(dir.path(), &path);
    let error = client
        .upload_file(
            &target("web.qcow2"),
            &file,
            None,
            &small(1 << 20, 1 << 20),
            &|_| {},
        )
        .await
        .unwrap_err();
    let UploadError::Cloud(CloudError::Auth {
        status, code, hint, ..
    }) = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!((*status, code.as_str()), (403, "SignatureDoesNotMatch"));
    assert!(hint.contains("HW_SECRET_KEY"), "{hint}");
    assert!(!error.to_string().contains(emulator.secret_key()));
    assert_eq!(
        total(&emulator),
        2,
        "the HEAD and the GET that asks why, once each: {:?}",
        emulator.stats()
    );
}
