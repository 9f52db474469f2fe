//! Manifests: loading every `*.yaml`/`*.yml` under the given paths, validating them with
//! file:line:col diagnostics, and producing the validated [`model::Manifests`].

pub mod model;

use thiserror::Error;

/// Manifests that cannot be used.
#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("{0}")]
    Invalid(String),
}
