//! The emulator's immutable configuration, fixed at start-up by the builder. Owns no state.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::faults::Faults;

/// How `GET /v2/cloudimages` tells the client that more pages remain (ims-api.md section 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pagination {
    /// `"page_info":{"next_marker":"<last id>"}` when more remain (the default).
    #[default]
    PageInfo,
    /// A `"next"` link.
    Next,
    /// Nothing: clients ask again with `marker=<last id>` while a page is full.
    None,
}

/// One IAM project: every region has its default project (named like the region) and may have
/// sub-projects named `REGION_SUFFIX`, as Huawei names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub region: String,
}

/// Everything fixed at start-up. `Debug` leaves the secrets out.
#[derive(Clone)]
pub struct Config {
    pub access_key: String,
    pub secret_key: String,
    /// The default project of the first region (`region`).
    pub project_id: String,
    /// The first region: the one a single-region client talks to.
    pub region: String,
    /// Every project of every region, the first region's default project first.
    pub projects: Vec<Project>,
    /// Members one image may have (IMG.0088 beyond it; 256 for system-disk images).
    pub member_limit: usize,
    /// Temporary credentials: AK -> (SK, security token).
    pub temporary: BTreeMap<String, (String, String)>,
    /// Valid `X-Auth-Token` values.
    pub tokens: Vec<String>,
    /// `X-Auth-Token` values that are recognised but expired (401).
    pub expired_tokens: Vec<String>,
    pub job_duration: Duration,
    pub delete_linger: Duration,
    pub pagination: Pagination,
    /// `(platform, os_version)` pairs accepted as `__os_version`.
    pub os_versions: Vec<(String, String)>,
    /// The private image quota (IMG.0015 beyond it).
    pub image_quota: usize,
    /// Lock an AK for the duration after this many consecutive signature failures (off when
    /// `None`; the real gateway locks for 5 minutes after 5).
    pub lockout: Option<(u32, std::time::Duration)>,
    /// The faults in force at start-up and after a reset.
    pub faults: Faults,
    pub data_file: Option<PathBuf>,
    /// Where the OBS buckets and objects live (see `obs/store.rs`).
    pub obs: super::obs::store::Store,
}

impl Config {
    /// The secret key and expected security token for an access key, if known.
    pub fn secret_for(&self, access_key: &str) -> Option<(&str, Option<&str>)> {
        if access_key == self.access_key {
            return Some((self.secret_key.as_str(), None));
        }
        self.temporary
            .get(access_key)
            .map(|(secret, token)| (secret.as_str(), Some(token.as_str())))
    }

    /// The project with this id.
    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|project| project.id == id)
    }

    /// The region of the project with this id.
    pub fn region_of(&self, project_id: &str) -> Option<&str> {
        self.project(project_id)
            .map(|project| project.region.as_str())
    }

    /// Every region, in start-up order.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.projects
            .iter()
            .filter(|project| project.name == project.region)
            .map(|project| project.region.as_str())
    }

    /// The platform of a known os_version.
    pub fn platform_of(&self, os_version: &str) -> Option<&str> {
        self.os_versions
            .iter()
            .find(|(_, known)| known == os_version)
            .map(|(platform, _)| platform.as_str())
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("project_id", &self.project_id)
            .field("region", &self.region)
            .field("projects", &self.projects)
            .field("member_limit", &self.member_limit)
            .field("temporary", &self.temporary.keys().collect::<Vec<_>>())
            .field("tokens", &self.tokens.len())
            .field("job_duration", &self.job_duration)
            .field("delete_linger", &self.delete_linger)
            .field("pagination", &self.pagination)
            .field("image_quota", &self.image_quota)
            .field("lockout", &self.lockout)
            .field("faults", &self.faults)
            .field("data_file", &self.data_file)
            .field("obs", &self.obs.root())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_has_no_secrets() {
        let builder = super::super::Emulator::builder()
            .credentials("AK", "very-secret-key")
            .temporary_credentials("TAK", "temp-secret", "sts-token")
            .auth_token("auth-token-value");
        let text = format!("{builder:?}");
        for secret in [
            "very-secret-key",
            "temp-secret",
            "sts-token",
            "auth-token-value",
        ] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
