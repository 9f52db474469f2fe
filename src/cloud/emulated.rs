//! A client of an in-process emulator, and a plain image to create through it: the setup the
//! executor's and the local cloud's tests share with the benches. Test-only (`#[cfg(test)]`
//! here; included by path from benches/apply.rs and benches/list.rs).

use std::collections::BTreeMap;

use crate::cloud::config::CloudConfig;
use crate::cloud::{Client, ClientOptions, CreateImage, Credentials};
use crate::emulator::Emulator;
use crate::manifest::model::DiskFormat;

/// A client of `emulator` as its own project, with no client-side rate limit: what a test or a
/// bench looks at is the round trips, not the throttle.
pub fn client_of(emulator: &Emulator) -> Client {
    let config = CloudConfig::at_endpoint(
        &emulator.uri(),
        emulator.region(),
        Some(emulator.project_id()),
    );
    let credentials = Credentials::ak_sk(emulator.access_key(), emulator.secret_key());
    let options = ClientOptions {
        requests_per_second: 0,
        ..ClientOptions::default()
    };
    Client::new(&config, credentials, options).expect("a client of the emulator")
}

/// The metadata of an unprotected Ubuntu image `name` with no tag.
pub fn ubuntu_image(name: &str) -> CreateImage {
    CreateImage {
        name: name.to_owned(),
        os_version: "Ubuntu 22.04 server 64bit".into(),
        disk_format: DiskFormat::Qcow2,
        min_disk: 40,
        min_ram: 0,
        protected: false,
        tags: BTreeMap::new(),
    }
}
