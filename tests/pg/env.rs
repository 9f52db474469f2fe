//! `PgEnv`: a temp dir whose `imsform.toml` keeps the state in its own schema of the test
//! server and points the cloud at an in-test emulator; the real `imsform` binary runs in it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use imsform::emulator::Emulator;
use imsform::state::State;
use serde_json::Value;

use crate::server::{Server, server};

pub struct PgEnv {
    pub dir: tempfile::TempDir,
    pub emulator: Emulator,
    pub server: &'static Server,
    pub schema: String,
}

impl PgEnv {
    /// `None` only outside CI on a machine without PostgreSQL (announced loudly).
    pub async fn new(job: Duration) -> Option<PgEnv> {
        let server = server()?;
        let emulator = Emulator::builder()
            .job_duration(job)
            .delete_linger(Duration::from_millis(100))
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let config = format!(
            "[cloud]\nregion = \"{}\"\nproject_id = \"{}\"\nendpoint = \"{}\"\n\n\
             [state]\nbackend = \"pg\"\nconn_str = \"{}\"\nschema = \"{schema}\"\n\n\
             [apply]\nrequests_per_second = 500\njob_timeout = \"2m\"\n",
            emulator.region(),
            emulator.project_id(),
            emulator.uri(),
            server.url,
        );
        std::fs::write(dir.path().join("imsform.toml"), config).unwrap();
        Some(PgEnv {
            dir,
            emulator,
            server,
            schema,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

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
            .env_remove("PG_CONN_STR")
            .env_remove("IMSFORM_WORKSPACE")
            .stdin(std::process::Stdio::null());
        match &self.server.password {
            Some(password) => command.env("PGPASSWORD", password),
            None => command.env_remove("PGPASSWORD"),
        };
        command
    }

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

    /// The stored state, through `imsform state pull`.
    pub async fn state(&self) -> State {
        let pulled = self.ok(&["state", "pull"], 0).await;
        serde_json::from_str(&pulled).unwrap()
    }

    /// A direct connection to the test server, for what only SQL can do.
    pub async fn sql(&self) -> tokio_postgres::Client {
        let mut config: tokio_postgres::Config = self.server.url.parse().unwrap();
        if let Some(password) = &self.server.password {
            config.password(password);
        }
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
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
}

pub fn text(output: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A manifest of images `key` → name `key`.
pub fn manifest(keys: &[&str]) -> String {
    let mut yaml = "images:\n".to_owned();
    for key in keys {
        yaml.push_str(&format!(
            "  {key}:\n    name: {key}\n    image_url: bucket:{key}/disk.qcow2\n    \
             os_version: Ubuntu 22.04 server 64bit\n    min_disk: 40\n"
        ));
    }
    yaml
}
