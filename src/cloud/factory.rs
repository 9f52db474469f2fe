//! [`ClientFactory`]: one [`Client`] per region from one configuration, credentials and set of
//! options. A region is a value passed to [`ClientFactory::client`], never a global: the
//! configured region keeps its endpoints and project id; another region gets its own endpoint
//! override when one was given ([`ClientFactory::endpoint`]), else Huawei's default hosts, and
//! looks its project id up through its own IAM (`GET /v3/projects?name=REGION`). Every client
//! of one factory shares one rate limiter, so a run's request rate is bounded across regions,
//! and one [`Liveness`] registry, so an endpoint's silence is judged over every request to it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::CloudConfig;
use super::liveness::Liveness;
use super::obs::{ObsClient, ObsEndpoint};
use super::ratelimit::RateLimiter;
use super::{Client, ClientOptions, CloudError, Credentials};

/// Makes the clients of one run, one per region.
#[derive(Clone)]
pub struct ClientFactory {
    config: CloudConfig,
    credentials: Credentials,
    options: ClientOptions,
    limiter: Arc<RateLimiter>,
    liveness: Arc<Liveness>,
    /// Region -> (IMS URL, IAM URL) for regions other than the configured one.
    endpoints: BTreeMap<String, (String, String)>,
    /// Region -> OBS URL, overriding the configuration (the local cloud's listeners).
    obs_endpoints: BTreeMap<String, String>,
}

impl std::fmt::Debug for ClientFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFactory")
            .field("region", &self.config.region)
            .field("credentials", &self.credentials)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl ClientFactory {
    pub fn new(
        config: &CloudConfig,
        credentials: Credentials,
        options: ClientOptions,
    ) -> ClientFactory {
        let limiter = Arc::new(RateLimiter::new(options.requests_per_second, options.burst));
        let liveness = Liveness::new(options.unresponsive);
        ClientFactory {
            config: config.clone(),
            credentials,
            options,
            limiter,
            liveness,
            endpoints: BTreeMap::new(),
            obs_endpoints: BTreeMap::new(),
        }
    }

    /// Sends `region`'s OBS requests to `url` (the emulator's OBS listener of that region)
    /// instead of the configured or default OBS endpoint.
    #[must_use]
    pub fn obs_endpoint(mut self, region: &str, url: &str) -> ClientFactory {
        self.obs_endpoints.insert(region.to_owned(), url.to_owned());
        self
    }

    /// An OBS client for `region`, with the run's credentials, retry policy and clock (OBS
    /// requests are not counted against `[apply] requests_per_second`: OBS's limits are far
    /// higher, and a part is seconds of transfer). Opens no connection.
    pub fn obs(&self, region: &str) -> Result<ObsClient, CloudError> {
        let endpoint = match self.obs_endpoints.get(region) {
            Some(url) => ObsEndpoint::parse(url)?,
            None => ObsEndpoint::for_region(&self.config, region)?,
        };
        ObsClient::new(
            endpoint,
            &self.credentials,
            self.options.retry,
            self.options.clock.clone(),
            self.config.insecure,
        )
    }

    /// Sends `region`'s IMS and IAM requests to these URLs (the emulator's per-region
    /// listeners, a private cloud) instead of `https://{ims,iam}.{region}.myhuaweicloud.com`.
    #[must_use]
    pub fn endpoint(mut self, region: &str, ims: &str, iam: &str) -> ClientFactory {
        self.endpoints
            .insert(region.to_owned(), (ims.to_owned(), iam.to_owned()));
        self
    }

    /// The configured region.
    pub fn home_region(&self) -> &str {
        &self.config.region
    }

    /// A client for `region`. Checks the endpoints (https, or http to loopback only); opens no
    /// connection.
    pub fn client(&self, region: &str) -> Result<Client, CloudError> {
        let config = self.config_for(region);
        Client::with_shared(
            &config,
            self.credentials.clone(),
            self.options.clone(),
            Arc::clone(&self.limiter),
            Arc::clone(&self.liveness),
        )
    }

    /// The liveness of every endpoint the clients of this factory call.
    pub fn liveness(&self) -> Arc<Liveness> {
        Arc::clone(&self.liveness)
    }

    /// The configuration's settings for cross-region copies and their regions.
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// The cloud configuration of `region`: the configured one for its own region, else
    /// that region with its endpoints (an override of [`ClientFactory::endpoint`], else
    /// `[cloud.regions.REGION]`'s, else the defaults) and no project id: IAM finds the
    /// project named by `[cloud.regions.REGION] project` (default: the region's name).
    fn config_for(&self, region: &str) -> CloudConfig {
        if region == self.config.region {
            return self.config.clone();
        }
        let configured = self.config.regions.get(region);
        let (endpoint, iam_endpoint) = match self.endpoints.get(region) {
            Some((ims, iam)) => (Some(ims.clone()), Some(iam.clone())),
            None => (
                configured.and_then(|r| r.endpoint.clone()),
                configured.and_then(|r| r.iam_endpoint.clone()),
            ),
        };
        CloudConfig {
            region: region.to_owned(),
            project_id: None,
            project_name: Some(self.config.project_of(region)),
            endpoint,
            iam_endpoint,
            ..self.config.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory() -> ClientFactory {
        let config = CloudConfig::at_endpoint("http://127.0.0.1:1", "cn-north-4", Some("p"));
        ClientFactory::new(
            &config,
            Credentials::ak_sk("AK", "SK"),
            ClientOptions::default(),
        )
        .endpoint("ap-southeast-1", "http://127.0.0.1:2", "http://127.0.0.1:3")
    }

    #[test]
    fn each_region_gets_its_own_endpoints_and_project() {
        let factory = factory();
        let home = factory.config_for("cn-north-4");
        assert_eq!(home.project_id.as_deref(), Some("p"));
        assert_eq!(home.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        let other = factory.config_for("ap-southeast-1");
        assert_eq!(other.region, "ap-southeast-1");
        assert_eq!(other.project_id, None, "looked up through the region's IAM");
        assert_eq!(other.endpoint.as_deref(), Some("http://127.0.0.1:2"));
        assert_eq!(other.iam_endpoint.as_deref(), Some("http://127.0.0.1:3"));
        let default = factory.config_for("cn-south-1");
        assert_eq!((default.endpoint, default.iam_endpoint), (None, None));
        let client = factory.client("cn-south-1");
        assert_eq!(
            client.map(|c| c.region().to_owned()).ok().as_deref(),
            Some("cn-south-1")
        );
    }

    #[test]
    fn obs_clients_take_the_override_else_the_default_host() {
        let factory = factory().obs_endpoint("cn-north-4", "http://127.0.0.1:4");
        let local = factory.obs("cn-north-4").unwrap();
        assert!(local.endpoint().path_style());
        let remote = factory.obs("cn-south-1").unwrap();
        assert_eq!(
            remote.endpoint().locate("b", "k").url,
            "https://b.obs.cn-south-1.myhuaweicloud.com/k"
        );
        let token = ClientFactory::new(
            factory.config(),
            Credentials::Token { token: "t".into() },
            ClientOptions::default(),
        );
        let error = token.obs("cn-north-4").unwrap_err().to_string();
        assert!(error.contains("AK/SK"), "{error}");
    }
}
