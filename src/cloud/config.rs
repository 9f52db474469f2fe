//! [`CloudConfig`]: which cloud to connect to (region, project, endpoints, the local cloud, the
//! replica regions), as plain data. `cli/config.rs` builds it from `imsform.toml` and the
//! environment; the client, its endpoints and the factory read it. Defined here, below `cli/`,
//! so the cloud imports nothing from the command line.

use std::collections::BTreeMap;
use std::time::Duration;

/// `[cloud] request_timeout` by default: one attempt of one request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// `[cloud] unresponsive_timeout` by default: an endpoint that answers nothing this long.
pub const DEFAULT_UNRESPONSIVE_TIMEOUT: Duration = Duration::from_secs(180);

/// `[cloud]`: which cloud, region and project.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudConfig {
    /// Empty when neither the file nor HW_REGION_NAME names one; connecting then fails.
    pub region: String,
    pub project_id: Option<String>,
    /// IMS endpoint override; default `https://ims.{region}.myhuaweicloud.com`.
    pub endpoint: Option<String>,
    /// IAM endpoint override; default `https://iam.{region}.myhuaweicloud.com`.
    pub iam_endpoint: Option<String>,
    /// OBS endpoint override; default `https://obs.{region}.myhuaweicloud.com`.
    pub obs_endpoint: Option<String>,
    /// The built-in local cloud (an in-process emulator).
    pub local: bool,
    /// Skip TLS verification (test rigs only; prints a warning).
    pub insecure: bool,
    /// The IAM project name looked up (`GET /v3/projects?name=`) when `project_id` is absent;
    /// `None`: the region's name, as Huawei names a region's default project.
    pub project_name: Option<String>,
    /// `copy_agency`: the IAM agency IMS acts under for cross-region copies (replicas).
    pub copy_agency: Option<String>,
    /// `[cloud.regions.REGION]`: the other regions replicas may go to, by name.
    pub regions: BTreeMap<String, RegionConfig>,
    /// `request_timeout`: how long one attempt of one request may take.
    pub request_timeout: Duration,
    /// `unresponsive_timeout`: an endpoint that answers no request for this long is given up
    /// for the run (`cloud::liveness`).
    pub unresponsive_timeout: Duration,
}

/// `[cloud.regions.REGION]`: a replica region's project and endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionConfig {
    /// The project replicas go to, by name; `None`: the region's default project (named like
    /// the region).
    pub project: Option<String>,
    /// IMS endpoint override; default `https://ims.{region}.myhuaweicloud.com`.
    pub endpoint: Option<String>,
    /// IAM endpoint override; default `https://iam.{region}.myhuaweicloud.com`.
    pub iam_endpoint: Option<String>,
    /// OBS endpoint override; default `https://obs.{region}.myhuaweicloud.com`.
    pub obs_endpoint: Option<String>,
}

impl CloudConfig {
    /// A cloud reached at one endpoint for both IMS and IAM: the local cloud, an emulator in a
    /// test or a bench. `project_id: None` makes the client look it up through IAM.
    pub fn at_endpoint(endpoint: &str, region: &str, project_id: Option<&str>) -> CloudConfig {
        CloudConfig {
            region: region.to_owned(),
            project_id: project_id.map(str::to_owned),
            endpoint: Some(endpoint.to_owned()),
            iam_endpoint: Some(endpoint.to_owned()),
            obs_endpoint: None,
            local: false,
            insecure: false,
            project_name: None,
            copy_agency: None,
            regions: BTreeMap::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            unresponsive_timeout: DEFAULT_UNRESPONSIVE_TIMEOUT,
        }
    }

    /// The OBS endpoint configured for `region`: `[cloud] obs_endpoint` for the configured
    /// region, `[cloud.regions.REGION] obs_endpoint` for another; `None`: the default host.
    pub fn obs_endpoint_of(&self, region: &str) -> Option<&str> {
        if region == self.region {
            return self.obs_endpoint.as_deref();
        }
        self.regions.get(region)?.obs_endpoint.as_deref()
    }

    /// The project name of `region` replicas go to (the region's default project unless
    /// `[cloud.regions.REGION] project` names another).
    pub fn project_of(&self, region: &str) -> String {
        self.regions
            .get(region)
            .and_then(|r| r.project.clone())
            .unwrap_or_else(|| region.to_owned())
    }
}
