//! The top-level error: one variant per module's error, and the exit code each maps to.

use thiserror::Error;

/// Every way a command can fail.
#[derive(Debug, Error)]
pub enum Error {
    /// Flags or arguments that cannot be used together or do not parse.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::cli::config::ConfigError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Cloud(#[from] crate::cloud::CloudError),
    #[error(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    #[error(transparent)]
    Emulator(#[from] crate::emulator::EmulatorError),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error(transparent)]
    Import(#[from] crate::cli::import::ImportError),
    #[error(transparent)]
    SavedPlan(#[from] crate::planfile::SavedPlanError),
    /// A saved plan that no longer matches the state or the configuration.
    #[error("the saved plan cannot be applied: {0}")]
    StalePlan(#[from] crate::planfile::Stale),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code for this error: always 1 (2 is reserved for "changes present").
    pub fn exit_code(&self) -> u8 {
        1
    }
}
