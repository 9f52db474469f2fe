//! The top-level error: one variant per module's error, and the exit code each maps to.
//!
//! Also the command layer's own errors, a configuration that cannot be used ([`ConfigError`])
//! and an image that cannot be imported ([`ImportError`]): `cli/` sits above this file, so they
//! live here and this file imports nothing from `cli/`.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::manifest::model::Address;

/// Every way a command can fail.
#[derive(Debug, Error)]
pub enum Error {
    /// Flags or arguments that cannot be used together or do not parse.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
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
    Import(#[from] ImportError),
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

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// 1-based; 0 when the problem has no place in the file (an environment variable).
    pub line: usize,
    pub column: usize,
    /// Dotted, e.g. `apply.parallelism`.
    pub key: String,
    pub message: String,
}

/// A configuration that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", Problems(.file, .problems))]
    Invalid {
        file: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

struct Problems<'a>(&'a Path, &'a [ConfigProblem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Problems(file, problems) = self;
        for (index, problem) in problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            if problem.line == 0 {
                write!(f, "{}: ", file.display())?;
            } else {
                write!(
                    f,
                    "{}:{}:{}: ",
                    file.display(),
                    problem.line,
                    problem.column
                )?;
            }
            write!(f, "`{}`: {}", problem.key, problem.message)?;
        }
        Ok(())
    }
}

/// Why an image cannot be imported.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error(
        "{address} is not in the manifests: add the image to a manifest first, so imsform knows \
         what it should look like, then import it"
    )]
    NotInManifests { address: Address },
    #[error(
        "image {image_id} is already managed as {address}; an image is bound to one address \
         (use `imsform state mv` to rename the address)"
    )]
    AlreadyBound { image_id: String, address: Address },
    #[error("there is no private image {image_id} in project {project_id}")]
    NoSuchImage {
        image_id: String,
        project_id: String,
    },
    #[error(
        "image {image_id} is {status}, not active: imsform imports only images whose \
         registration has finished"
    )]
    NotActive { image_id: String, status: String },
}
