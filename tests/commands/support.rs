//! The small DSL of the command tests: a temp working directory with manifests ([`Dir`]), the
//! real `imsform` binary run in it, and an emulator started in the test on port 0 ([`Cloud`]),
//! with a client of the library to change its world behind imsform's back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use imsform::cli::config::CloudConfig;
use imsform::cloud::{
    AttrUpdate, Client, ClientOptions, CloudApi, CreateImage, Credentials, ImageStatus, JobStatus,
    WatchConfig,
};
use imsform::emulator::{Emulator, EmulatorBuilder};
use imsform::manifest::model::DiskFormat;

/// Two images, `web` and `db`.
pub const MANIFESTS: &str = "\
images:
  web:
    name: web
    image_url: bucket:web.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
    tags: { team: platform }
  db:
    name: db
    image_url: bucket:db.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
";

pub const LOCAL_TOML: &str = "[cloud]\nlocal = true\n";

/// An IAM token the test emulator accepts (`X-Auth-Token`).
pub const TOKEN: &str = "test-iam-token-0123456789";

/// What a finished run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts that the run succeeded and that its stdout says each of `texts`.
    pub fn assert_ok_saying(&self, texts: &[&str]) {
        assert_eq!(self.code, 0, "{}", self.stderr);
        for text in texts {
            assert!(self.stdout.contains(text), "{text:?} in\n{}", self.stdout);
        }
    }
}

/// A temporary working directory.
pub struct Dir {
    pub temp: tempfile::TempDir,
}

impl Dir {
    /// A directory with `imsform.toml` and `images.yaml`.
    pub fn new(toml: &str, manifests: &str) -> Dir {
        let dir = Dir {
            temp: tempfile::tempdir().unwrap(),
        };
        dir.write("imsform.toml", toml);
        dir.write("images.yaml", manifests);
        dir
    }

    /// The local cloud with [`MANIFESTS`].
    pub fn local() -> Dir {
        Dir::new(LOCAL_TOML, MANIFESTS)
    }

    /// A copy of the inputs of `examples/<name>`.
    pub fn example(name: &str) -> Dir {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name);
        Dir::inputs_of(&source)
    }

    /// A copy of the tracked inputs in `source`: its manifests and `imsform.toml`, never what
    /// a run leaves there (`.imsform/`, the state, its lock and backups, saved plans), so that
    /// running the README's commands in `examples/` changes no test.
    pub fn inputs_of(source: &Path) -> Dir {
        let dir = Dir {
            temp: tempfile::tempdir().unwrap(),
        };
        for entry in std::fs::read_dir(source).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let input = name == "imsform.toml"
                || (!name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml")));
            if input && entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.path().join(&name)).unwrap();
            }
        }
        dir
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.file(name), text).unwrap();
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap()
    }

    /// The state file's bytes, if there is one.
    pub fn state(&self) -> Option<Vec<u8>> {
        std::fs::read(self.file("imsform.state.json")).ok()
    }

    pub fn state_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.state().expect("a state")).unwrap()
    }

    /// `imsform -C DIR ARGS…` with no `HW_*` variable and no `NO_COLOR` from the outside.
    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::cargo_bin("imsform").unwrap();
        for name in [
            "HW_ACCESS_KEY",
            "HW_SECRET_KEY",
            "HW_SECURITY_TOKEN",
            "HW_AUTH_TOKEN",
            "HW_PROJECT_ID",
            "HW_REGION_NAME",
            "NO_COLOR",
        ] {
            command.env_remove(name);
        }
        command.arg("-C").arg(self.path()).args(args);
        command.timeout(Duration::from_secs(60));
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        finish(&mut self.command(args))
    }
}

/// Parses `bytes` as one JSON document and checks it against `schema/plan.schema.json`.
pub fn plan_json(bytes: impl AsRef<[u8]>) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_slice(bytes.as_ref()).expect("one JSON document");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schema/plan.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "not a valid plan: {errors:#?}");
    json
}

/// A plan JSON (checked against the schema) without its timestamp, to compare
/// two plans made at different moments.
pub fn untimed_plan_json(bytes: impl AsRef<[u8]>) -> serde_json::Value {
    let mut json = plan_json(bytes);
    json["timestamp"] = serde_json::Value::Null;
    json
}

pub fn finish(command: &mut assert_cmd::Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// An emulator served by this test's own runtime, and a library client of it.
pub struct Cloud {
    pub emulator: Emulator,
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl Cloud {
    pub fn start() -> Cloud {
        Cloud::start_with(|builder| builder)
    }

    /// An emulator with more settings (e.g. a small image quota).
    pub fn start_with(configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> Cloud {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime.block_on(async {
            let builder = Emulator::builder()
                .auth_token(TOKEN)
                .job_duration(Duration::from_millis(100))
                .delete_linger(Duration::from_millis(50));
            configure(builder).start().await.unwrap()
        });
        let config = CloudConfig::at_endpoint(
            &emulator.uri(),
            emulator.region(),
            Some(emulator.project_id()),
        );
        let credentials = Credentials::ak_sk(emulator.access_key(), emulator.secret_key());
        let client = Client::new(&config, credentials, ClientOptions::default()).unwrap();
        Cloud {
            emulator,
            client,
            runtime,
        }
    }

    /// The library client of this emulator's default project.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `future` on this emulator's runtime, e.g. calls of [`Cloud::client`].
    pub fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    /// `imsform.toml` pointing at this emulator.
    pub fn toml(&self) -> String {
        let uri = self.emulator.uri();
        format!(
            "[cloud]\nregion = \"{}\"\nendpoint = \"{uri}\"\niam_endpoint = \"{uri}\"\n",
            self.emulator.region()
        )
    }

    /// [`Cloud::toml`] with the copy agency and each of `regions` (served by this emulator)
    /// under `[cloud.regions]`, for replicas.
    pub fn toml_with_regions(&self, regions: &[&str]) -> String {
        let mut toml = self.toml();
        toml.push_str("copy_agency = \"ims_admin_agency\"\n");
        for region in regions {
            let uri = self.emulator.uri_of(region).unwrap();
            toml.push_str(&format!(
                "\n[cloud.regions.{region}]\nendpoint = \"{uri}\"\niam_endpoint = \"{uri}\"\n"
            ));
        }
        toml
    }

    /// A directory whose configuration points at this emulator.
    pub fn dir(&self, manifests: &str) -> Dir {
        Dir::new(&self.toml(), manifests)
    }

    /// `imsform -C DIR ARGS…` with this emulator's credentials in the environment.
    pub fn run(&self, dir: &Dir, args: &[&str]) -> Run {
        self.run_env(dir, args, &[])
    }

    /// `imsform -C DIR ARGS…` authenticated with an IAM token (`HW_AUTH_TOKEN`) instead.
    pub fn run_with_token(&self, dir: &Dir, args: &[&str]) -> Run {
        let mut command = dir.command(args);
        command
            .env("HW_AUTH_TOKEN", TOKEN)
            .env("HW_PROJECT_ID", self.emulator.project_id());
        finish(&mut command)
    }

    /// Creates an image's metadata only: it stays `queued`.
    pub fn create_queued(&self, name: &str, tags: &[(&str, &str)]) -> String {
        let create = CreateImage {
            name: name.to_owned(),
            os_version: "Ubuntu 22.04 server 64bit".to_owned(),
            disk_format: DiskFormat::Qcow2,
            min_disk: 40,
            min_ram: 0,
            protected: false,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        };
        let image = self
            .runtime
            .block_on(self.client.create_metadata(&create))
            .unwrap();
        image.id
    }

    /// Creates and registers an image from `bucket:<name>.qcow2` (the file [`MANIFESTS`] names
    /// for `web` and `db`), and waits until it is `active`.
    pub fn create_active(&self, name: &str, tags: &[(&str, &str)]) -> String {
        self.create_active_from(name, tags, &format!("bucket:{name}.qcow2"))
    }

    /// Creates and registers an image from `image_url`, and waits until it is `active`.
    pub fn create_active_from(&self, name: &str, tags: &[(&str, &str)], image_url: &str) -> String {
        let id = self.create_queued(name, tags);
        self.runtime.block_on(async {
            self.client.register(&id, image_url).await.unwrap();
            for _ in 0..100 {
                let image = self.client.get_image(&id).await.unwrap().unwrap();
                if image.status == ImageStatus::Active {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("image {id} never became active");
        });
        id
    }

    /// Deletes an image behind imsform's back and waits until it is no longer listed.
    pub fn delete(&self, id: &str) {
        self.remove(&self.client, id);
    }

    /// Deletes an image of another region (a replica's copy) behind imsform's back.
    pub fn delete_in(&self, region: &str, id: &str) {
        let uri = self.emulator.uri_of(region).unwrap();
        let project = self.emulator.project_named(region).unwrap();
        let config = CloudConfig::at_endpoint(&uri, region, Some(project));
        let credentials =
            Credentials::ak_sk(self.emulator.access_key(), self.emulator.secret_key());
        let client = Client::new(&config, credentials, ClientOptions::default()).unwrap();
        self.remove(&client, id);
    }

    fn remove(&self, client: &Client, id: &str) {
        self.runtime.block_on(async {
            client.delete(id).await.unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            client.wait_gone(&[id.to_owned()], deadline).await.unwrap();
        });
    }

    /// Renames an image behind imsform's back.
    pub fn rename(&self, id: &str, name: &str) {
        self.runtime
            .block_on(self.client.update(id, &[AttrUpdate::Name(name.to_owned())]))
            .unwrap();
    }

    /// The members of image `id`: consumer project to status.
    pub fn members(&self, id: &str) -> BTreeMap<String, String> {
        let members = self.runtime.block_on(self.client.members(id)).unwrap();
        members
            .into_iter()
            .map(|m| (m.member_id, m.status.as_str().to_owned()))
            .collect()
    }

    /// Stops sharing image `id` with `project` behind imsform's back, and waits for the job.
    pub fn unshare(&self, id: &str, project: &str) {
        self.runtime.block_on(async {
            let projects = [project.to_owned()];
            let job = CloudApi::remove_members(&self.client, id, &projects)
                .await
                .unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            let cadence = WatchConfig::local(Some(Duration::from_millis(50)));
            let report = self
                .client
                .wait_job(&job, &cadence, deadline)
                .await
                .unwrap();
            assert_eq!(report.job.status, JobStatus::Success, "{report:?}");
        });
    }

    /// `imsform -C DIR ARGS…` with this emulator's credentials, then `env` on top.
    pub fn run_env(&self, dir: &Dir, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = dir.command(args);
        command
            .env("HW_ACCESS_KEY", self.emulator.access_key())
            .env("HW_SECRET_KEY", self.emulator.secret_key())
            .env("HW_PROJECT_ID", self.emulator.project_id());
        for (name, value) in env {
            command.env(name, value);
        }
        finish(&mut command)
    }

    /// The requests served that could change the cloud (POST, PUT, PATCH, DELETE), by route.
    pub fn writes(&self) -> Vec<(String, u64)> {
        self.emulator
            .stats()
            .into_iter()
            .filter(|(route, count)| {
                *count > 0
                    && ["POST ", "PUT ", "PATCH ", "DELETE "]
                        .iter()
                        .any(|m| route.starts_with(m))
            })
            .collect()
    }

    /// Every request served so far.
    pub fn total_requests(&self) -> u64 {
        self.emulator.stats().values().sum()
    }

    /// How many requests of `route` (e.g. `"GET /v2/cloudimages"`) the emulator served.
    pub fn served(&self, route: &str) -> u64 {
        self.emulator.stats().get(route).copied().unwrap_or(0)
    }
}
