//! The connection to the cloud of one run: the configured cloud with credentials from the
//! environment, or the local cloud (design.md section 8). Part of `context.rs`.
//!
//! The local cloud is the emulator started in this process on `127.0.0.1:0`, reached over real
//! loopback HTTP by an ordinary [`Client`]. Its world lives in `<dir>/.imsform/local-cloud.json`.
//! Its credentials and project id are fixed: the emulator persists images, not credentials, and
//! an image belongs to the project id it was created in, so a random id per run would orphan
//! the world. The credentials protect nothing (loopback only, a throwaway world); they exist so
//! that every request is signed and checked exactly as against the real cloud.

use std::sync::Arc;
use std::time::Duration;

use super::regions::Reach;
use crate::cli::config::{CloudConfig, Config, process_env};
use crate::cloud::endpoint::Endpoints;
use crate::cloud::{Client, ClientFactory, ClientOptions, Credentials, WatchConfig};
use crate::emulator::Emulator;
use crate::error::Error;
use crate::planfile::config_digest;
use crate::state::{CloudKind, Identity};

/// The local cloud's world, relative to the working directory.
pub const LOCAL_DATA_FILE: &str = ".imsform/local-cloud.json";
/// The local cloud's fixed access key (not a secret: see the module docs).
pub const LOCAL_ACCESS_KEY: &str = "IMSFORMLOCALCLOUDAK0";
/// The local cloud's fixed secret key (not a secret: see the module docs).
pub const LOCAL_SECRET_KEY: &str = "imsform-local-cloud-throwaway-secret-key";
/// The local cloud's fixed project id.
pub const LOCAL_PROJECT_ID: &str = "10ca1c10d0000000000000000000000a";
/// How long a registration job takes on the local cloud.
pub const LOCAL_JOB_DURATION: Duration = Duration::from_millis(400);
/// How long a deleted image stays listed on the local cloud.
pub const LOCAL_DELETE_LINGER: Duration = Duration::from_millis(200);

/// The local cloud's private image quota: the emulator's default, as a new project has.
pub const LOCAL_IMAGE_QUOTA: usize = 100;

/// The one line printed on stderr when the local cloud is used.
pub const LOCAL_NOTICE: &str = "Using the local cloud (.imsform/local-cloud.json): no account \
                                needed, nothing leaves this machine.";

/// A connection to the cloud for one run.
pub struct Connection {
    /// The configured region's client.
    pub client: Arc<Client>,
    /// Clients for the replica regions, sharing `client`'s rate limit.
    pub factory: ClientFactory,
    /// The job-poll cadence for this cloud (fast on the local cloud).
    pub watch: WatchConfig,
    /// The in-process emulator of the local cloud, kept alive for the run.
    pub local: Option<Emulator>,
    /// What names this cloud in the saved plans' digest: the IMS endpoint, or `local:<dir>`.
    endpoint_marker: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("client", &self.client)
            .field("watch", &self.watch)
            .field("local", &self.local.as_ref().map(Emulator::uri))
            .field("endpoint_marker", &self.endpoint_marker)
            .finish()
    }
}

impl Connection {
    /// The digest of the cloud identity (region, project id, endpoint) saved plans are bound
    /// to. May ask IAM for the project id when it is not configured.
    pub async fn config_digest(&self) -> Result<String, Error> {
        let project_id = self.client.project_id().await?;
        Ok(config_digest(
            &self.client.region,
            project_id,
            &self.endpoint_marker,
        ))
    }

    /// The identity states and saved plans are bound to. May ask IAM for the project id when
    /// it is not configured; otherwise makes no request.
    pub async fn identity(&self) -> Result<Identity, Error> {
        let project_id = self.client.project_id().await?;
        Ok(self.identity_with(project_id))
    }

    /// The identity as far as it is known without a request, and whether the project id is
    /// (when it is not, it reads "to be asked of IAM").
    pub fn known_identity(&self) -> (Identity, bool) {
        match self.client.known_project_id() {
            Some(project_id) => (self.identity_with(project_id), true),
            None => (self.identity_with("to be asked of IAM"), false),
        }
    }

    fn identity_with(&self, project_id: &str) -> Identity {
        Identity {
            kind: if self.local.is_some() {
                CloudKind::Local
            } else {
                CloudKind::Cloud
            },
            region: self.client.region.clone(),
            project_id: project_id.to_owned(),
        }
    }

    /// Makes sure `buckets` exist in `region` on the local cloud, which serves the buckets its
    /// manifests name (objects under `.imsform/local-cloud.obs/`); nothing to do on a real
    /// cloud, whose buckets are the user's.
    pub fn ensure_buckets<'b>(
        &self,
        region: &str,
        buckets: impl IntoIterator<Item = &'b str>,
    ) -> Result<(), Error> {
        let Some(local) = &self.local else {
            return Ok(());
        };
        for bucket in buckets {
            local.create_bucket(region, bucket)?;
        }
        Ok(())
    }

    /// Stops the local cloud, if any, after its in-flight requests (its world is saved before
    /// each answer, so this only tidies up).
    pub async fn close(self) {
        if let Some(local) = self.local {
            local.shutdown().await;
        }
    }
}

/// Checks, without sending anything, what [`connect`] would refuse (missing credentials, an
/// unusable endpoint), so that a command fails on them before it takes the state lock.
pub fn check_connectable(config: &Config) -> Result<(), Error> {
    if !config.cloud.local {
        Credentials::from_env(&process_env)?;
        Endpoints::from_config(&config.cloud)?;
    }
    Ok(())
}

/// Connects to the cloud `config` names: the local cloud with `[cloud] local = true`, else the
/// configured one with credentials from the environment. `reach` names the other regions the
/// run may reach (its replicas') and the consumer projects of its members: the local cloud
/// serves each region (and those of `[cloud.regions]`) and each consumer as a project of its
/// own region.
pub async fn connect(config: &Config, reach: &Reach) -> Result<Connection, Error> {
    if config.cloud.local {
        return connect_local(config, reach).await;
    }
    let credentials = Credentials::from_env(&process_env)?;
    if config.cloud.insecure {
        eprintln!(
            "Warning: TLS certificates are not verified (`[cloud] insecure = true`); use this \
             only with a test rig."
        );
    }
    let endpoints = Endpoints::from_config(&config.cloud)?;
    let factory = ClientFactory::new(
        &config.cloud,
        credentials,
        ClientOptions::from_config(&config.cloud, &config.apply),
    );
    let client = factory.client(&config.cloud.region)?;
    tracing::info!(endpoint = %endpoints.ims.base, region = %config.cloud.region, "cloud");
    Ok(Connection {
        client: Arc::new(client),
        factory,
        watch: WatchConfig::cloud(config.apply.poll_interval),
        local: None,
        endpoint_marker: format!("{}{}", endpoints.ims.base, endpoints.ims.path_prefix),
    })
}

async fn connect_local(config: &Config, reach: &Reach) -> Result<Connection, Error> {
    let data_file = config.dir.join(LOCAL_DATA_FILE);
    if let Some(parent) = data_file.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            context: format!("cannot create {}", parent.display()),
            source,
        })?;
    }
    let home = &config.cloud.region;
    let mut builder = Emulator::builder().region(home);
    for region in reach.regions.iter().chain(config.cloud.regions.keys()) {
        builder = builder.region(region);
    }
    for consumer in &reach.consumers {
        builder = builder.project_with_id(&format!("{home}_{consumer}"), consumer);
    }
    for (region, settings) in &config.cloud.regions {
        // A named project other than the default one is a sub-project `REGION_…` there.
        if let Some(project) = settings.project.as_ref().filter(|p| *p != region) {
            builder = builder.project(project);
        }
    }
    let emulator = builder
        .credentials(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY)
        .project_id(LOCAL_PROJECT_ID)
        .job_duration(LOCAL_JOB_DURATION)
        .image_quota(LOCAL_IMAGE_QUOTA)
        .delete_linger(LOCAL_DELETE_LINGER)
        .data_file(&data_file)
        .start()
        .await?;
    eprintln!("{LOCAL_NOTICE}");
    tracing::info!(endpoint = %emulator.uri(), "the local cloud is serving");
    let cloud = CloudConfig {
        local: true,
        copy_agency: config.cloud.copy_agency.clone(),
        regions: config.cloud.regions.clone(),
        ..CloudConfig::at_endpoint(
            &emulator.uri(),
            &config.cloud.region,
            Some(LOCAL_PROJECT_ID),
        )
    };
    let credentials = Credentials::ak_sk(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY);
    let mut factory = ClientFactory::new(
        &cloud,
        credentials,
        ClientOptions::from_config(&config.cloud, &config.apply),
    );
    for (region, uri) in emulator.endpoints() {
        factory = factory.endpoint(&region, &uri, &uri);
    }
    for (region, uri) in emulator.obs_endpoints() {
        factory = factory.obs_endpoint(&region, &uri);
    }
    let client = factory.client(&config.cloud.region)?;
    Ok(Connection {
        client: Arc::new(client),
        factory,
        watch: WatchConfig::local(config.apply.poll_interval),
        local: Some(emulator),
        // The port changes every run; the directory names this local cloud.
        endpoint_marker: format!("local:{}", config.dir.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::CloudApi;
    use crate::cloud::emulated::ubuntu_image;

    #[tokio::test]
    async fn the_local_cloud_keeps_its_world_and_identity_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_toml(
            "[cloud]\nlocal = true\n",
            &dir.path().join("imsform.toml"),
            dir.path(),
            &|_| None,
        )
        .unwrap();
        let first = connect(&config, &Reach::default()).await.unwrap();
        assert!(dir.path().join(LOCAL_DATA_FILE).is_file());
        let digest = first.config_digest().await.unwrap();
        let created = first
            .client
            .create_metadata(&ubuntu_image("kept"))
            .await
            .unwrap();
        first.close().await;
        let second = connect(&config, &Reach::default()).await.unwrap();
        assert_eq!(second.config_digest().await.unwrap(), digest);
        let listed = second.client.list_private_images().await.unwrap();
        assert_eq!(
            listed.iter().map(|i| &i.id).collect::<Vec<_>>(),
            [&created.id]
        );
        second.close().await;
    }

    #[tokio::test]
    async fn the_local_cloud_serves_the_buckets_it_is_asked_for_and_keeps_their_objects() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_toml(
            "[cloud]\nlocal = true\n",
            &dir.path().join("imsform.toml"),
            dir.path(),
            &|_| None,
        )
        .unwrap();
        let target = crate::cloud::obs::Target {
            bucket: "images".into(),
            key: "a.raw".into(),
        };
        let connection = connect(&config, &Reach::default()).await.unwrap();
        connection.ensure_buckets("cn-north-4", ["images"]).unwrap();
        let obs = connection.factory.obs("cn-north-4").unwrap();
        assert!(obs.endpoint().path_style());
        assert_eq!(obs.head(&target).await.unwrap(), None);
        connection.close().await;
        assert!(dir.path().join(".imsform/local-cloud.obs").is_dir());
    }
}
