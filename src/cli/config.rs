//! `imsform.toml` plus environment overrides into a [`Config`]. Pure: the caller reads the file
//! and passes the text and the environment in.
//!
//! Credentials are not here: they come only from the environment, see `cloud::Credentials`.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// The validated configuration of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The working directory (`-C DIR` or the current one); relative paths are resolved here.
    pub dir: PathBuf,
    pub cloud: CloudConfig,
    pub state: StateConfig,
    pub apply: ApplyConfig,
}

/// `[cloud]`: which cloud, region and project.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudConfig {
    pub region: String,
    pub project_id: Option<String>,
    /// IMS endpoint override; default `https://ims.{region}.myhuaweicloud.com`.
    pub endpoint: Option<String>,
    /// IAM endpoint override; default `https://iam.{region}.myhuaweicloud.com`.
    pub iam_endpoint: Option<String>,
    /// The built-in local cloud (an in-process emulator).
    pub local: bool,
    /// Skip TLS verification (test rigs only; prints a warning).
    pub insecure: bool,
}

/// `[state]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    /// Absolute path of the state file.
    pub path: PathBuf,
}

/// `[apply]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyConfig {
    pub parallelism: usize,
    pub requests_per_second: u32,
    pub job_timeout: Duration,
}

/// A configuration that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}
