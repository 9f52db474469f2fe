//! `TestEnv`: a temp dir with `imsform.toml` pointing at an in-test emulator, manifests, and
//! the `imsform` binary run in it with the emulator's credentials in the environment. Also the
//! base of tests/pg's `PgEnv` (included there by `#[path]`), which adds a `[state]` section.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, ExitStatus, Output, Stdio};
use std::time::Duration;

use imsform::emulator::{Emulator, EmulatorBuilder};
use imsform::state::{State, Store};
use serde_json::Value;

/// Consumer projects of the emulator's region, for manifests that share images.
pub const CONSUMERS: [&str; 3] = [
    "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "5f3c0e1d2b4a49f6a8e7c6d5b4a39281",
    "c0ffee00c0ffee00c0ffee00c0ffee00",
];

/// `builder` with the [`CONSUMERS`] as projects of `cn-north-4`.
pub fn with_consumers(mut builder: EmulatorBuilder) -> EmulatorBuilder {
    for (index, id) in CONSUMERS.iter().enumerate() {
        builder = builder.project_with_id(&format!("cn-north-4_consumer{index}"), id);
    }
    builder
}

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub emulator: Emulator,
    /// Variables every command sets (`Some`) or clears (`None`) on top of the credentials.
    pub vars: Vec<(&'static str, Option<String>)>,
}

impl TestEnv {
    /// A fresh directory and emulator (fast jobs, short delete linger).
    pub async fn new() -> TestEnv {
        let apply = "[apply]\nrequests_per_second = 200\njob_timeout = \"2m\"\n";
        TestEnv::start(Duration::from_millis(300), apply).await
    }

    /// A fresh emulator whose jobs take `job` (with the [`CONSUMERS`] projects), and a
    /// directory whose `imsform.toml` points the cloud at it, followed by `sections`.
    pub async fn start(job: Duration, sections: &str) -> TestEnv {
        let builder = with_consumers(Emulator::builder());
        TestEnv::start_with(builder, job, &|_| String::new(), sections).await
    }

    /// [`TestEnv::start`] with the emulator `builder` makes (its first region is the configured
    /// one) and the `[cloud]` lines `cloud` writes for it after the region, project and endpoint.
    pub async fn start_with(
        builder: EmulatorBuilder,
        job: Duration,
        cloud: &(dyn Fn(&Emulator) -> String + Sync),
        sections: &str,
    ) -> TestEnv {
        let emulator = builder
            .job_duration(job)
            .delete_linger(Duration::from_millis(100))
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "[cloud]\nregion = \"{}\"\nproject_id = \"{}\"\nendpoint = \"{}\"\n{}\n{sections}",
            emulator.region(),
            emulator.project_id(),
            emulator.uri(),
            cloud(&emulator),
        );
        std::fs::write(dir.path().join("imsform.toml"), config).unwrap();
        TestEnv {
            dir,
            emulator,
            vars: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `images.yaml`.
    pub fn manifest(&self, yaml: &str) {
        std::fs::write(self.path().join("images.yaml"), yaml).unwrap();
    }

    /// The `imsform` command in this directory, with credentials, `vars`, nothing on stdin,
    /// and none of the caller's own cloud or state settings.
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
            .env_remove("PG_CONN_STR")
            .env_remove("IMSFORM_WORKSPACE")
            .stdin(Stdio::null());
        for (name, value) in &self.vars {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        command
    }

    /// `imsform ARGS` started with its output discarded, for a test that kills it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Runs `imsform ARGS` off the async threads (the emulator runs on them).
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    /// `apply --auto-approve` SIGKILLed after `delay`: no handler, no cleanup, a lock released
    /// by the kernel (or the server, when the connection drops).
    pub async fn apply_killed_after(&self, delay: Duration) {
        let mut child = self.spawn(&["apply", "--auto-approve"]);
        tokio::time::sleep(delay).await;
        // It may have finished already: then there is nothing to kill.
        let _ = child.kill();
        TestEnv::wait(child).await;
    }

    /// Waits for a child of [`TestEnv::spawn`] off the async threads.
    pub async fn wait(mut child: Child) -> ExitStatus {
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
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

/// The second region of the replica tests.
pub const SOUTH: &str = "ap-southeast-1";

/// An image `web` with a replica `web-sg` in [`SOUTH`].
pub const REPLICA_MANIFEST: &str = "\
images:
  web:
    name: web
    image_url: bucket:web.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
    replicas:
      ap-southeast-1: { name: web-sg }
";

/// The emulator serving `cn-north-4` and [`SOUTH`], and the `[cloud]` lines ([`TestEnv::start_with`])
/// that reach the south region (its project found through its own IAM) and name the copy
/// agency.
pub fn two_regions() -> (EmulatorBuilder, impl Fn(&Emulator) -> String + Sync) {
    let builder = Emulator::builder().region("cn-north-4").region(SOUTH);
    let cloud = |emulator: &Emulator| {
        let south = emulator.uri_of(SOUTH).unwrap();
        format!(
            "copy_agency = \"ims_admin_agency\"\n\n[cloud.regions.{SOUTH}]\n\
             endpoint = \"{south}\"\niam_endpoint = \"{south}\"\n"
        )
    };
    (builder, cloud)
}
