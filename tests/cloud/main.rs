//! The IMS client against the real emulator over loopback HTTP: every operation, every
//! pagination style, throttling, 5xx bursts, dropped responses, auth failures and slow jobs,
//! and the wire shape of what the client sends (compared with the official SDK's, ims-api.md
//! section 5) read from the emulator's recorded requests. One test binary; this file holds the
//! shared set-up, the modules hold the tests.

mod distribution;
mod faults;
mod jobs;
mod obs;
mod obs_resume;
mod operations;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use imsform::cli::config::CloudConfig;
use imsform::cloud::{Client, ClientOptions, CloudApi, CreateImage, Credentials, RetryPolicy};
use imsform::emulator::{Emulator, EmulatorBuilder};
use imsform::manifest::model::DiskFormat;

pub const URL: &str = "my-bucket:images/web.qcow2";

pub const OS: &str = "Ubuntu 22.04 server 64bit";

pub fn config(emulator: &Emulator, project: bool) -> CloudConfig {
    let project_id = project.then(|| emulator.project_id());
    CloudConfig::at_endpoint(&emulator.uri(), emulator.region(), project_id)
}

pub fn options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            initial: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            budget: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(5),
        },
        requests_per_second: 0,
        burst: 1,
        page_size: 1000,
        clock: Arc::new(Utc::now),
        unresponsive: Duration::from_secs(60),
    }
}

pub fn aksk(emulator: &Emulator) -> Credentials {
    Credentials::ak_sk(emulator.access_key(), emulator.secret_key())
}

pub fn client(emulator: &Emulator) -> Client {
    Client::new(&config(emulator, true), aksk(emulator), options()).unwrap()
}

pub async fn start(builder: EmulatorBuilder) -> Emulator {
    builder.start().await.unwrap()
}

pub fn create(name: &str, token: &str) -> CreateImage {
    CreateImage {
        name: name.to_owned(),
        os_version: OS.to_owned(),
        disk_format: DiskFormat::Qcow2,
        min_disk: 40,
        min_ram: 1024,
        protected: false,
        tags: BTreeMap::from([
            ("team".to_owned(), "platform".to_owned()),
            ("imsform-token".to_owned(), token.to_owned()),
        ]),
    }
}

pub fn count(emulator: &Emulator, route: &str) -> u64 {
    emulator.stats().get(route).copied().unwrap_or(0)
}

pub fn total(emulator: &Emulator) -> u64 {
    emulator.stats().values().sum()
}

pub async fn seed(cloud: &Client, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for index in 0..count {
        let image = cloud
            .create_metadata(&create(&format!("img-{index:03}"), &format!("T{index:03}")))
            .await
            .unwrap();
        ids.push(image.id);
    }
    ids.sort();
    ids
}

pub async fn listed_ids(cloud: &Client) -> Vec<String> {
    let mut ids: Vec<String> = cloud
        .list_private_images()
        .await
        .unwrap()
        .into_iter()
        .map(|image| image.id)
        .collect();
    ids.sort();
    ids
}

/// The requests of a fixture captured from the official Python SDK on the wire
/// (tests/fixtures/sdk_*requests.json, ids replaced by placeholders such as `{image_id}`).
pub fn sdk_requests(fixture: &str) -> Vec<serde_json::Value> {
    let fixture: serde_json::Value = serde_json::from_str(fixture).unwrap();
    fixture["requests"].as_array().unwrap().clone()
}

/// Each of `ours` (ids turned into placeholders by `ids`) has the method, path, query,
/// content type, signed headers and JSON body of the SDK's request at the same position.
pub fn assert_like_the_sdk(
    ours: &[imsform::emulator::RecordedRequest],
    sdk: &[serde_json::Value],
    ids: impl Fn(&str) -> String,
) {
    assert_eq!(ours.len(), sdk.len());
    for (mine, theirs) in ours.iter().zip(sdk) {
        let what = format!("{} {}", theirs["method"], theirs["path"]);
        assert_eq!(mine.method, theirs["method"], "{what}");
        assert_eq!(ids(&mine.path), theirs["path"], "{what}");
        assert_eq!(ids(&mine.query), theirs["query"], "{what}");
        let header = |name: &str| mine.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        assert_eq!(
            header("content-type").unwrap(),
            &theirs["content-type"],
            "{what}"
        );
        for name in theirs["signed"].as_str().unwrap().split(';') {
            assert!(header(name).is_some(), "{what}: no {name} header");
        }
        let body: serde_json::Value = match mine.body.as_slice() {
            [] => serde_json::Value::Null,
            bytes => serde_json::from_str(&ids(std::str::from_utf8(bytes).unwrap())).unwrap(),
        };
        assert_eq!(body, theirs["body"], "{what}");
    }
}
