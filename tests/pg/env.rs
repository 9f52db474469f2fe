//! `PgEnv`: a temp dir whose `imsform.toml` keeps the state in its own schema of the test
//! server and points the cloud at an in-test emulator; the real `imsform` binary runs in it.
//! What is not about PostgreSQL comes from tests/apply's `TestEnv`.

use std::ops::Deref;
use std::time::Duration;

use imsform::emulator::{Emulator, EmulatorBuilder};
use imsform::state::State;

use crate::base::{TestEnv, image};
use crate::server::{Server, server};

pub use crate::base::text;

/// A [`TestEnv`] (which it derefs to) whose state lives in `schema` of `server`.
pub struct PgEnv {
    pub env: TestEnv,
    pub server: &'static Server,
    pub schema: String,
}

impl Deref for PgEnv {
    type Target = TestEnv;

    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

impl PgEnv {
    /// `None` only outside CI on a machine without PostgreSQL (announced loudly).
    pub async fn new(job: Duration) -> Option<PgEnv> {
        PgEnv::start(Emulator::builder(), job, &|_| String::new()).await
    }

    /// [`PgEnv::new`] with more `[state]` lines (`heartbeat = "1s"`, …).
    pub async fn with_state(job: Duration, state: &str) -> Option<PgEnv> {
        PgEnv::open(Emulator::builder(), job, &|_| String::new(), state).await
    }

    /// [`PgEnv::new`] with the emulator `builder` makes and extra `[cloud]` lines (see
    /// [`TestEnv::start_with`]).
    pub async fn start(
        builder: EmulatorBuilder,
        job: Duration,
        cloud: &(dyn Fn(&Emulator) -> String + Sync),
    ) -> Option<PgEnv> {
        PgEnv::open(builder, job, cloud, "").await
    }

    async fn open(
        builder: EmulatorBuilder,
        job: Duration,
        cloud: &(dyn Fn(&Emulator) -> String + Sync),
        state: &str,
    ) -> Option<PgEnv> {
        let server = server()?;
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let sections = format!(
            "[state]\nbackend = \"pg\"\nconn_str = \"{}\"\nschema = \"{schema}\"\n{state}\n\
             [apply]\nrequests_per_second = 500\njob_timeout = \"2m\"\n",
            server.url,
        );
        let mut env = TestEnv::start_with(builder, job, cloud, &sections).await;
        // The password goes by the environment, never into imsform.toml.
        env.vars.push(("PGPASSWORD", server.password.clone()));
        Some(PgEnv {
            env,
            server,
            schema,
        })
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
}

/// A manifest of images `key` → name `key`.
pub fn manifest(keys: &[&str]) -> String {
    let images: Vec<String> = keys.iter().map(|key| image(key, key, "")).collect();
    crate::base::manifest(&images)
}
