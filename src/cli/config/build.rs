//! The meaning of each `imsform.toml` section: defaults, environment overrides, and the checks
//! that make a value impossible (a zero parallelism, a duration like "soon", plain HTTP to a
//! remote host, no region). Pure; part of `config.rs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use crate::error::ConfigProblem;
use crate::ims::is_region_name;
use crate::state::Location;
use crate::state::backend::pg::{FileSettings, Settings};

use super::{
    ApplyConfig, CloudConfig, Config, DEFAULT_JOB_TIMEOUT, DEFAULT_PARALLELISM,
    DEFAULT_REQUESTS_PER_SECOND, DEFAULT_STATE_PATH, IpAddr, LOCAL_REGION, Reader, RegionConfig,
    StateConfig,
};

const SECTIONS: [&str; 3] = ["cloud", "state", "apply"];
const CLOUD_KEYS: [&str; 11] = [
    "region",
    "project_id",
    "endpoint",
    "iam_endpoint",
    "obs_endpoint",
    "local",
    "insecure",
    "copy_agency",
    "regions",
    "request_timeout",
    "unresponsive_timeout",
];
const REGION_KEYS: [&str; 4] = ["project", "endpoint", "iam_endpoint", "obs_endpoint"];
const STATE_KEYS: [&str; 7] = [
    "path",
    "backend",
    "conn_str",
    "schema",
    "workspace",
    "heartbeat",
    "statement_timeout",
];
const APPLY_KEYS: [&str; 4] = [
    "parallelism",
    "requests_per_second",
    "job_timeout",
    "poll_interval",
];
/// `[apply] poll_interval` when the watcher's adaptive default is wanted.
const ADAPTIVE: &str = "adaptive";

/// The largest `parallelism` accepted: more would only trip the cloud's throttling.
pub const MAX_PARALLELISM: u64 = 1000;
/// The largest `requests_per_second` accepted.
pub const MAX_REQUESTS_PER_SECOND: u64 = 10_000;

impl Reader<'_> {
    pub(super) fn config(
        &mut self,
        root: &DeTable<'_>,
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Config> {
        for (key, _) in root {
            if !SECTIONS.contains(&key.get_ref().as_ref()) {
                self.unknown(key.span().start, key.get_ref(), key.get_ref(), &SECTIONS);
            }
        }
        let cloud = self.cloud(root, env);
        let state = self.state(root, dir, env);
        let apply = self.apply(root);
        Some(Config {
            dir: dir.to_path_buf(),
            cloud: cloud?,
            state,
            apply,
        })
    }

    fn cloud(
        &mut self,
        root: &DeTable<'_>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<CloudConfig> {
        let mut cloud = CloudConfig::at_endpoint("", "", None);
        cloud.endpoint = None;
        cloud.iam_endpoint = None;
        let mut region = None;
        for (key, value) in self.table(root, "cloud", &CLOUD_KEYS) {
            let dotted = format!("cloud.{key}");
            let start = value.span().start;
            match key {
                "region" => region = self.string(value, &dotted).map(|r| (r, Some(start))),
                "project_id" => cloud.project_id = self.string(value, &dotted),
                "endpoint" | "iam_endpoint" => {
                    let url = self.string(value, &dotted);
                    let url = url.filter(|url| self.endpoint(url, start, &dotted));
                    *if key == "endpoint" {
                        &mut cloud.endpoint
                    } else {
                        &mut cloud.iam_endpoint
                    } = url;
                }
                "obs_endpoint" => cloud.obs_endpoint = self.obs_endpoint(value, &dotted),
                "local" => cloud.local = self.bool(value, &dotted).unwrap_or(false),
                "copy_agency" => {
                    cloud.copy_agency = self.string(value, &dotted).filter(|agency| {
                        let ok = !agency.trim().is_empty();
                        if !ok {
                            self.problem(start, &dotted, "must not be empty");
                        }
                        ok
                    });
                }
                "regions" => cloud.regions = self.regions(value),
                "request_timeout" | "unresponsive_timeout" => {
                    if let Some(timeout) = self.duration(value, &dotted) {
                        *if key == "request_timeout" {
                            &mut cloud.request_timeout
                        } else {
                            &mut cloud.unresponsive_timeout
                        } = timeout;
                    }
                }
                // The one key left of CLOUD_KEYS: `insecure`.
                _ => cloud.insecure = self.bool(value, &dotted).unwrap_or(false),
            }
        }
        self.cloud_checks(cloud, region, env)
    }

    /// The environment's overrides of `[cloud]`, then the checks across its keys.
    fn cloud_checks(
        &mut self,
        mut cloud: CloudConfig,
        mut region: Option<(String, Option<usize>)>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<CloudConfig> {
        let from_env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        if let Some(value) = from_env("HW_REGION_NAME") {
            region = Some((value, None));
        }
        if let Some(value) = from_env("HW_PROJECT_ID") {
            cloud.project_id = Some(value);
        }
        cloud.region = match region {
            Some((region, start)) => self.region(region, start)?,
            None if cloud.local => LOCAL_REGION.to_owned(),
            // Commands that never talk to the cloud (validate, state) need no region; the
            // client refuses an empty one when it connects (`cloud::Endpoints::from_config`).
            None => String::new(),
        };
        if let Some(project_id) = &cloud.project_id
            && !project_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            let message = "must be letters, digits and `-` (HW_PROJECT_ID or `[cloud]`)";
            self.env_or_file_problem("cloud.project_id", message);
        }
        if cloud.local && cloud.endpoint.is_some() {
            self.env_or_file_problem(
                "cloud.endpoint",
                "`local = true` runs the built-in cloud; an endpoint makes no sense with it",
            );
        }
        if cloud.local && cloud.obs_endpoint.is_some() {
            self.env_or_file_problem(
                "cloud.obs_endpoint",
                "`local = true` runs the built-in cloud and its OBS; an endpoint makes no sense with it",
            );
        }
        Some(cloud)
    }

    /// `[cloud.regions.REGION]` tables: each region's name checked like `[cloud] region`.
    fn regions(&mut self, value: &toml::Spanned<DeValue<'_>>) -> BTreeMap<String, RegionConfig> {
        let mut regions = BTreeMap::new();
        let Some(table) = value.get_ref().as_table() else {
            let message = "must be a table of regions (`[cloud.regions.REGION]`)";
            self.problem(value.span().start, "cloud.regions", message);
            return regions;
        };
        for (name, entry) in table {
            let name_text = name.get_ref().to_string();
            let Some(region) = self.region_name(name_text, name.span().start) else {
                continue;
            };
            let prefix = format!("cloud.regions.{region}");
            let Some(entries) = entry.get_ref().as_table() else {
                let message = format!("must be a table (`[{prefix}]`)");
                self.problem(entry.span().start, &prefix, message);
                continue;
            };
            let mut config = RegionConfig::default();
            for (key, value) in entries {
                let dotted = format!("{prefix}.{}", key.get_ref());
                let start = value.span().start;
                match key.get_ref().as_ref() {
                    "project" => config.project = self.string(value, &dotted),
                    "endpoint" => {
                        let url = self.string(value, &dotted);
                        config.endpoint = url.filter(|url| self.endpoint(url, start, &dotted));
                    }
                    "iam_endpoint" => {
                        let url = self.string(value, &dotted);
                        config.iam_endpoint = url.filter(|url| self.endpoint(url, start, &dotted));
                    }
                    "obs_endpoint" => config.obs_endpoint = self.obs_endpoint(value, &dotted),
                    other => self.unknown(key.span().start, &dotted, other, &REGION_KEYS),
                }
            }
            regions.insert(region, config);
        }
        regions
    }

    /// A region name of `[cloud.regions]`, checked like `[cloud] region`.
    fn region_name(&mut self, region: String, start: usize) -> Option<String> {
        if is_region_name(&region) {
            return Some(region);
        }
        let message = format!("`{region}` is not a region name (like `cn-north-4`)");
        self.problem(start, "cloud.regions", message);
        None
    }

    fn env_or_file_problem(&mut self, key: &str, message: &str) {
        self.problems.push(ConfigProblem {
            line: 0,
            column: 0,
            key: key.to_owned(),
            message: message.to_owned(),
        });
    }

    /// A region name goes into host names: lower-case letters, digits and `-` only. `start` is
    /// its place in the file, `None` when it came from `HW_REGION_NAME`.
    fn region(&mut self, region: String, start: Option<usize>) -> Option<String> {
        if is_region_name(&region) {
            return Some(region);
        }
        let message = format!("`{region}` is not a region name (like `cn-north-4`)");
        match start {
            Some(start) => self.problem(start, "cloud.region", message),
            None => self
                .env_or_file_problem("cloud.region", &format!("{message} (from HW_REGION_NAME)")),
        }
        None
    }

    /// An OBS endpoint: like any endpoint, and only scheme, host and port (buckets go in front
    /// of the host, keys after it).
    fn obs_endpoint(&mut self, value: &toml::Spanned<DeValue<'_>>, key: &str) -> Option<String> {
        let start = value.span().start;
        let url = self.string(value, key)?;
        if !self.endpoint(&url, start, key) {
            return None;
        }
        let parsed = reqwest::Url::parse(&url).ok()?;
        if parsed.path().trim_matches('/').is_empty() && parsed.query().is_none() {
            return Some(url);
        }
        let message = format!(
            "`{url}` has a path or query; an OBS endpoint is only scheme, host and port, e.g. \
             \"https://obs.cn-north-4.myhuaweicloud.com\""
        );
        self.problem(start, key, message);
        None
    }

    /// `https://…`, or `http://` to a loopback host only.
    fn endpoint(&mut self, url: &str, start: usize, key: &str) -> bool {
        let parsed = match reqwest::Url::parse(url) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.problem(start, key, format!("`{url}` is not a URL: {error}"));
                return false;
            }
        };
        let host = parsed.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let problem = match parsed.scheme() {
            "https" => None,
            "http" if loopback => None,
            "http" => Some("plain `http://` is refused except to a loopback host; use `https://`"),
            _ => Some("must start with `https://`"),
        };
        if let Some(message) = problem {
            self.problem(start, key, message);
        }
        problem.is_none()
    }

    fn state(
        &mut self,
        root: &DeTable<'_>,
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> StateConfig {
        let mut path = dir.join(DEFAULT_STATE_PATH);
        let mut backend = ("local".to_owned(), 0);
        let mut pg = FileSettings::default();
        for (key, value) in self.table(root, "state", &STATE_KEYS) {
            let dotted = format!("state.{key}");
            if matches!(key, "heartbeat" | "statement_timeout") {
                let bound = self.duration(value, &dotted);
                *if key == "heartbeat" {
                    &mut pg.heartbeat
                } else {
                    &mut pg.statement_timeout
                } = bound;
                continue;
            }
            let Some(text) = self.string(value, &dotted) else {
                continue;
            };
            let start = value.span().start;
            if text.trim().is_empty() {
                self.problem(start, &dotted, "must not be empty");
                continue;
            }
            match key {
                "path" => path = dir.join(text),
                "backend" => backend = (text, start),
                "conn_str" => pg.conn_str = Some(text),
                "schema" => pg.schema = Some(text),
                // The one key left of STATE_KEYS: `workspace`.
                _ => pg.workspace = Some(text),
            }
        }
        let location = match backend.0.as_str() {
            "local" => Location::Local(path.clone()),
            "pg" => match Settings::resolve(&pg, env) {
                Ok(settings) => Location::Pg(settings),
                Err(message) => {
                    self.env_or_file_problem("state", &message);
                    Location::Local(path.clone())
                }
            },
            other => {
                let message = format!("`{other}` is not a backend; use \"local\" or \"pg\"");
                self.problem(backend.1, "state.backend", message);
                Location::Local(path.clone())
            }
        };
        StateConfig { path, location }
    }

    fn apply(&mut self, root: &DeTable<'_>) -> ApplyConfig {
        let mut apply = ApplyConfig {
            parallelism: DEFAULT_PARALLELISM,
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
            job_timeout: DEFAULT_JOB_TIMEOUT,
            poll_interval: None,
        };
        for (key, value) in self.table(root, "apply", &APPLY_KEYS) {
            let dotted = format!("apply.{key}");
            match key {
                "parallelism" => {
                    if let Some(n) = self.positive(value, &dotted, MAX_PARALLELISM) {
                        apply.parallelism = n as usize;
                    }
                }
                "requests_per_second" => {
                    if let Some(n) = self.positive(value, &dotted, MAX_REQUESTS_PER_SECOND) {
                        // Bounded by MAX_REQUESTS_PER_SECOND, so it fits in u32.
                        apply.requests_per_second = n as u32;
                    }
                }
                "poll_interval" => match value.get_ref().as_str() {
                    Some(ADAPTIVE) => apply.poll_interval = None,
                    Some(text) if humantime::parse_duration(text).is_err() => {
                        let message = format!(
                            "`{text}` is neither `{ADAPTIVE}` nor a duration; write e.g. \
                             \"{ADAPTIVE}\" or \"2s\""
                        );
                        self.problem(value.span().start, &dotted, message);
                    }
                    _ => apply.poll_interval = self.duration(value, &dotted),
                },
                // The one key left of APPLY_KEYS: `job_timeout`.
                _ => {
                    if let Some(timeout) = self.duration(value, &dotted) {
                        apply.job_timeout = timeout;
                    }
                }
            }
        }
        apply
    }

    fn duration(&mut self, value: &toml::Spanned<DeValue<'_>>, key: &str) -> Option<Duration> {
        let text = self.string(value, key)?;
        match humantime::parse_duration(&text) {
            Ok(duration) if !duration.is_zero() => Some(duration),
            Ok(_) => {
                self.problem(value.span().start, key, "must be longer than zero");
                None
            }
            Err(error) => {
                let message = format!(
                    "`{text}` is not a duration ({error}); write e.g. \"30m\" or \"1h30m\""
                );
                self.problem(value.span().start, key, message);
                None
            }
        }
    }
}
