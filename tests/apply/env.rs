//! `TestEnv`: a temp dir with `imsform.toml` pointing at an in-test emulator, manifests, and
//! the `imsform` binary run in it with the emulator's credentials in the environment.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use imsform::emulator::Emulator;
use imsform::state::{State, Store};
use serde_json::Value;

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub emulator: Emulator,
}

impl TestEnv {
    /// A fresh directory and emulator (fast jobs, short delete linger).
    pub async fn new() -> TestEnv {
        let emulator = Emulator::builder()
            .job_duration(Duration::from_millis(300))
            .delete_linger(Duration::from_millis(100))
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "[cloud]\nregion = \"{}\"\nproject_id = \"{}\"\nendpoint = \"{}\"\n\n\
             [apply]\nrequests_per_second = 200\njob_timeout = \"2m\"\n",
            emulator.region(),
            emulator.project_id(),
            emulator.uri()
        );
        std::fs::write(dir.path().join("imsform.toml"), config).unwrap();
        TestEnv { dir, emulator }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `images.yaml`.
    pub fn manifest(&self, yaml: &str) {
        std::fs::write(self.path().join("images.yaml"), yaml).unwrap();
    }

    /// The `imsform` command in this directory, with credentials and nothing on stdin.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_imsform"));
        command
            .args(args)
            .current_dir(self.path())
            .env("HW_ACCESS_KEY", self.emulator.access_key())
            .env("HW_SECRET_KEY", self.emulator.secret_key())
            .env("NO_COLOR", "1")
            .env_remove("HW_AUTH_TOKEN")
            .env_remove("HW_SECURITY_TOKEN")
            .stdin(std::process::Stdio::null());
        command
    }

    /// Runs `imsform ARGS` off the async threads (the emulator runs on them).
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    /// Runs and asserts the exit code, returning stdout.
    pub async fn ok(&self, args: &[&str], code: i32) -> String {
        let output = self.run(args).await;
        assert_eq!(
            output.status.code(),
            Some(code),
            "imsform {args:?}\n{}",
            text(&output)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// `apply --auto-approve` succeeds, then `plan --detailed-exitcode` says no changes.
    pub async fn apply_converges(&self) -> String {
        let out = self.ok(&["apply", "--auto-approve"], 0).await;
        assert!(out.contains("Apply complete!"), "{out}");
        self.assert_no_changes().await;
        out
    }

    pub async fn assert_no_changes(&self) {
        let plan = self.ok(&["plan", "--detailed-exitcode"], 0).await;
        assert!(plan.contains("No changes."), "{plan}");
    }

    pub fn state(&self) -> State {
        Store::read(&self.path().join("imsform.state.json"))
            .unwrap()
            .unwrap()
    }

    /// The images the cloud holds (every status but `deleted`), by id.
    pub fn live_images(&self) -> BTreeMap<String, Value> {
        self.emulator
            .images()
            .into_iter()
            .filter(|image| image["status"] != "deleted")
            .map(|image| (image["id"].as_str().unwrap().to_owned(), image))
            .collect()
    }

    /// The cloud holds exactly the state's images, all active and untainted, with the names
    /// `names`: no orphan, no duplicate, nothing pending.
    pub fn assert_cloud_matches(&self, names: &[&str]) {
        let state = self.state();
        assert!(state.pending.is_empty(), "{:?}", state.pending);
        let live = self.live_images();
        let state_ids: Vec<&String> = state.images.values().map(|r| &r.id).collect();
        let live_ids: Vec<&String> = live.keys().collect();
        let mut sorted = state_ids.clone();
        sorted.sort();
        assert_eq!(sorted, live_ids, "state and cloud disagree: {live:#?}");
        let mut live_names: Vec<&str> =
            live.values().map(|i| i["name"].as_str().unwrap()).collect();
        live_names.sort_unstable();
        let mut wanted = names.to_vec();
        wanted.sort_unstable();
        assert_eq!(live_names, wanted);
        for image in live.values() {
            assert_eq!(image["status"], "active", "{image}");
        }
    }
}

pub fn text(output: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// One image of a manifest.
pub fn image(key: &str, name: &str, extra: &str) -> String {
    format!(
        "  {key}:\n    name: {name}\n    image_url: bucket:{key}/disk.qcow2\n    \
         os_version: Ubuntu 22.04 server 64bit\n    min_disk: 40\n{extra}"
    )
}

pub fn manifest(images: &[String]) -> String {
    format!("images:\n{}", images.concat())
}
