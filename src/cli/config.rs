//! `imsform.toml` plus environment overrides into a [`Config`]. [`Config::from_toml`] is pure:
//! the caller passes the text, the file's path (for messages), the working directory and the
//! environment. [`Config::load`] is the thin reading edge on top of it.
//!
//! Every problem (unknown key with a "did you mean", wrong type, impossible value) is reported
//! with the file, line, column and dotted key; all of them at once. The error type,
//! [`ConfigError`], lives in `crate::error`, and `[cloud]`'s [`CloudConfig`] in `crate::cloud`:
//! neither may import from `cli/`.
//!
//! Credentials are not here: they come only from the environment, see `cloud::Credentials`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use crate::cli::args::GlobalArgs;
use crate::cloud::RetryPolicy;
use crate::cloud::options::ClientOptions;
use crate::error::{ConfigError, ConfigProblem};

pub use crate::cloud::config::{
    CloudConfig, DEFAULT_REQUEST_TIMEOUT, DEFAULT_UNRESPONSIVE_TIMEOUT, RegionConfig,
};

/// The configuration file's name, looked up in the working directory.
pub const FILE_NAME: &str = "imsform.toml";
/// The region of the built-in local cloud when none is configured.
pub const LOCAL_REGION: &str = "cn-north-4";
/// `[state] path` by default.
pub const DEFAULT_STATE_PATH: &str = "imsform.state.json";
pub const DEFAULT_PARALLELISM: usize = 10;
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 20;
pub const DEFAULT_JOB_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The validated configuration of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The working directory (`-C DIR` or the current one); relative paths are resolved here.
    pub dir: PathBuf,
    pub cloud: CloudConfig,
    pub state: StateConfig,
    pub apply: ApplyConfig,
}

/// `[state]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    /// The state file of the local backend: absolute when `dir` is.
    pub path: PathBuf,
    /// Where the state lives: the file at `path`, or a PostgreSQL workspace
    /// (`backend = "pg"`, design.md section 9).
    pub location: crate::state::Location,
}

/// `[apply]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyConfig {
    pub parallelism: usize,
    pub requests_per_second: u32,
    pub job_timeout: Duration,
    /// `poll_interval`: the shortest gap between two looks at a job in flight; `None` (written
    /// `"adaptive"`, the default): the watcher's own floor for the cloud in use.
    pub poll_interval: Option<Duration>,
}

impl ClientOptions {
    /// The defaults with `[apply] requests_per_second` (a burst of at most one second's
    /// worth), `[cloud] request_timeout` (each attempt) and `unresponsive_timeout`. Here rather
    /// than in `cloud/`, which must not import from `cli/`.
    pub fn from_config(cloud: &CloudConfig, apply: &ApplyConfig) -> ClientOptions {
        let defaults = ClientOptions::default();
        ClientOptions {
            retry: RetryPolicy {
                attempt_timeout: cloud.request_timeout,
                ..defaults.retry
            },
            requests_per_second: apply.requests_per_second,
            burst: defaults.burst.min(apply.requests_per_second.max(1)),
            unresponsive: cloud.unresponsive_timeout,
            ..defaults
        }
    }
}

/// The working directory a command runs in: `-C DIR`, else the current directory.
pub fn working_dir(global: &GlobalArgs) -> PathBuf {
    global.chdir.clone().unwrap_or_else(|| PathBuf::from("."))
}

/// The process environment, in the shape [`Config::load`] takes.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// Reads `dir/imsform.toml` (defaults when it does not exist) and applies `env`.
    pub fn load(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let dir = std::path::absolute(dir).map_err(|source| ConfigError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Config::from_toml(&text, &path, &dir, env)
    }

    /// Builds the configuration from the file's text; `file` only names it in messages.
    pub fn from_toml(
        text: &str,
        file: &Path,
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let invalid = |problems| ConfigError::Invalid {
            file: file.to_path_buf(),
            problems,
        };
        let root = DeTable::parse(text).map_err(|error| {
            let (line, column) = error
                .span()
                .map_or((0, 0), |span| line_column(text, span.start));
            invalid(vec![ConfigProblem {
                line,
                column,
                key: "(syntax)".to_owned(),
                message: error.message().trim().to_owned(),
            }])
        })?;
        let mut reader = Reader {
            text,
            problems: Vec::new(),
        };
        let config = reader.config(root.get_ref(), dir, env);
        match config {
            Some(config) if reader.problems.is_empty() => Ok(config),
            _ => Err(invalid(reader.problems)),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

type Entry<'t, 'i> = (&'t str, &'t toml::Spanned<DeValue<'i>>);

/// Walks the parsed table, collecting problems.
struct Reader<'a> {
    text: &'a str,
    problems: Vec<ConfigProblem>,
}

impl Reader<'_> {
    fn problem(&mut self, offset: usize, key: &str, message: impl Into<String>) {
        let (line, column) = line_column(self.text, offset);
        self.problems.push(ConfigProblem {
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// The entries of table `name`, reporting unknown keys.
    fn table<'t, 'i>(
        &mut self,
        root: &'t DeTable<'i>,
        name: &str,
        known: &[&str],
    ) -> Vec<Entry<'t, 'i>> {
        let Some((key, value)) = root.iter().find(|(key, _)| key.get_ref() == name) else {
            return Vec::new();
        };
        let Some(table) = value.get_ref().as_table() else {
            self.problem(
                key.span().start,
                name,
                format!("must be a table (`[{name}]`)"),
            );
            return Vec::new();
        };
        let mut entries = Vec::new();
        for (key, value) in table {
            let dotted = format!("{name}.{}", key.get_ref());
            if known.contains(&key.get_ref().as_ref()) {
                entries.push((key.get_ref().as_ref(), value));
            } else {
                self.unknown(key.span().start, &dotted, key.get_ref(), known);
            }
        }
        entries
    }

    fn unknown(&mut self, offset: usize, dotted: &str, key: &str, known: &[&str]) {
        let near = crate::manifest::closest_name(key, known.iter().copied());
        let hint = match near {
            Some(near) => format!("; did you mean `{near}`?"),
            None => format!("; known keys: {}", known.join(", ")),
        };
        self.problem(offset, dotted, format!("unknown key{hint}"));
    }

    fn string(&mut self, value: &toml::Spanned<DeValue<'_>>, key: &str) -> Option<String> {
        match value.get_ref().as_str() {
            Some(text) => Some(text.to_owned()),
            None => {
                let found = value.get_ref().type_str();
                self.problem(
                    value.span().start,
                    key,
                    format!("must be a string, not {found}"),
                );
                None
            }
        }
    }

    fn bool(&mut self, value: &toml::Spanned<DeValue<'_>>, key: &str) -> Option<bool> {
        let found = value.get_ref().as_bool();
        if found.is_none() {
            let kind = value.get_ref().type_str();
            self.problem(
                value.span().start,
                key,
                format!("must be `true` or `false`, not {kind}"),
            );
        }
        found
    }

    /// A positive integer no larger than `max`.
    fn positive(&mut self, value: &toml::Spanned<DeValue<'_>>, key: &str, max: u64) -> Option<u64> {
        let Some(integer) = value.get_ref().as_integer() else {
            let kind = value.get_ref().type_str();
            self.problem(
                value.span().start,
                key,
                format!("must be an integer, not {kind}"),
            );
            return None;
        };
        let parsed = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
        match parsed
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| (1..=max).contains(n))
        {
            Some(n) => Some(n),
            None => {
                self.problem(
                    value.span().start,
                    key,
                    format!("must be between 1 and {max}"),
                );
                None
            }
        }
    }
}

mod build;
pub use build::MAX_PARALLELISM;

#[cfg(test)]
mod tests;
