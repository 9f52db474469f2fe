//! Shared pieces of the state tests: a temp dir holding a state, the binary, fixtures, child
//! processes of this test binary, and record builders.

use std::path::{Path, PathBuf};
use std::process::Command;

use imsform::manifest::model::{DiskFormat, ImageAttrs};
use imsform::state::{ImageRecord, State};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/state/fixtures");

/// The environment variable that turns a `child_*` test into a child process's body.
pub const ROLE: &str = "IMSFORM_STATE_TEST_ROLE";

/// A temporary working directory for one test.
pub struct Dir {
    pub temp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            temp: tempfile::tempdir().unwrap(),
        }
    }

    /// A directory whose state is a copy of fixture `name`.
    pub fn with_fixture(name: &str) -> Dir {
        let dir = Dir::new();
        std::fs::copy(Path::new(FIXTURES).join(name), dir.state()).unwrap();
        dir
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    pub fn state(&self) -> PathBuf {
        self.temp.path().join("imsform.state.json")
    }

    pub fn file(&self, suffix: &str) -> PathBuf {
        self.temp.path().join(format!("imsform.state.json{suffix}"))
    }

    /// The `imsform` binary working in this directory (through `-C`).
    pub fn imsform(&self, args: &[&str]) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::cargo_bin("imsform").unwrap();
        command.arg("-C").arg(self.path()).args(args);
        command
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap()
}

/// This test binary, re-executed to run only the test `name` with `role` set.
pub fn child(name: &str, role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([name, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE, role);
    command
}

/// The value of a child's environment variable.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// A record whose description is `marker`.
pub fn record(id: &str, marker: &str) -> ImageRecord {
    ImageRecord {
        id: id.to_owned(),
        attributes: ImageAttrs {
            name: format!("image-{id}"),
            image_url: format!("bucket:{id}.qcow2"),
            os_version: "Ubuntu 22.04 server 64bit".to_owned(),
            disk_format: DiskFormat::Qcow2,
            min_disk: 40,
            min_ram: 0,
            description: Some(marker.to_owned()),
            tags: [("team".to_owned(), "platform".to_owned())].into(),
            protected: false,
            share_with: Default::default(),
        },
        observed: None,
        tainted: None,
        replicas: std::collections::BTreeMap::new(),
    }
}

/// `state` with its images replaced by `count` records all marked `marker`.
pub fn fill(state: &mut State, count: usize, marker: &str) {
    state.images = (0..count)
        .map(|i| {
            let address = imsform::manifest::model::Address::from_key(&format!("img-{i:05}"));
            (address, record(&format!("id-{i}"), marker))
        })
        .collect();
}

/// Microseconds since the Unix epoch: comparable across processes.
pub fn now_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

/// A copy of the `valid.json` fixture (serial 7) with another serial.
pub fn with_serial(valid: &[u8], serial: u64) -> Vec<u8> {
    let text = std::str::from_utf8(valid).unwrap();
    assert!(text.contains("\"serial\": 7"));
    text.replacen("\"serial\": 7", &format!("\"serial\": {serial}"), 1)
        .into_bytes()
}

/// A child process that is killed when the test ends, even by a panic.
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
