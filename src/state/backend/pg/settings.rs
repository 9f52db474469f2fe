//! How to reach the database: `[state] conn_str` / `PG_CONN_STR` over the libpq `PG*`
//! variables, plus `schema` and `workspace`. Pure: the environment is passed in.
//!
//! Rules (design.md section 9):
//! - `PG_CONN_STR` replaces `[state] conn_str`; values in the connection string replace the
//!   `PG*` variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`,
//!   `PGSSLROOTCERT`), which replace the defaults (localhost, 5432, `$USER`, the user's name,
//!   `prefer`), as libpq does.
//! - A password in `imsform.toml` is refused: it would sit in a file that goes into git. It
//!   comes from `PG_CONN_STR`, `PGPASSWORD` or the password file (`PGPASSFILE`, else
//!   `~/.pgpass`, read when connecting). [`Settings`]'s `Debug` and `Display` never show it.
//! - `conn_str` is a URL (`postgres://` or `postgresql://`) or libpq's `key=value` form
//!   (`host=db.internal dbname=infra sslmode=verify-full`), read by [`super::conninfo`].
//! - `heartbeat` and `statement_timeout` bound the session's waits ([`super::session`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The default schema.
pub const DEFAULT_SCHEMA: &str = "imsform";
/// The default workspace.
pub const DEFAULT_WORKSPACE: &str = "default";
/// `[state] heartbeat` by default: how often an idle session is checked, and how long its
/// check may go unanswered.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
/// `[state] statement_timeout` by default: how long one statement may take, waiting for the
/// connection included.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// libpq's `sslmode`, as far as rustls can honour it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it, unverified (libpq's default).
    Prefer,
    /// TLS, unverified.
    Require,
    /// TLS, the chain verified against the roots, any host name.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        match text {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(format!(
                "sslmode `{other}` is not supported; use disable, prefer, require, verify-ca or \
                 verify-full"
            )),
        }
    }
}

/// A password; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub(super) String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Everything needed to reach one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A host name or address, or a directory holding the server's Unix socket.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub password: Option<Password>,
    pub sslmode: SslMode,
    /// The CA bundle for verify-ca / verify-full (else the web PKI roots).
    pub sslrootcert: Option<PathBuf>,
    pub schema: String,
    pub workspace: String,
    /// How often an idle session is checked; a check unanswered this long loses the session.
    pub heartbeat: Duration,
    /// How long one statement may take, waiting for the connection included; also the
    /// server's `statement_timeout` and `idle_in_transaction_session_timeout` for the session.
    pub statement_timeout: Duration,
}

/// What `[state]` of imsform.toml says about the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSettings {
    pub conn_str: Option<String>,
    pub schema: Option<String>,
    pub workspace: Option<String>,
    pub heartbeat: Option<Duration>,
    pub statement_timeout: Option<Duration>,
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "workspace `{}` of schema `{}` in postgres://{}@{}:{}/{}",
            self.workspace, self.schema, self.user, self.host, self.port, self.dbname
        )
    }
}

impl Settings {
    /// Builds the settings from the file's values and the environment. The error says which
    /// value is wrong and where it came from.
    pub fn resolve(
        file: &FileSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let env = |name: &str| env(name).filter(|value| !value.is_empty());
        let mut settings = Settings {
            host: env("PGHOST").unwrap_or_else(|| "localhost".to_owned()),
            port: match env("PGPORT") {
                Some(port) => parse_port(&port).map_err(|e| format!("PGPORT: {e}"))?,
                None => 5432,
            },
            user: env("PGUSER")
                .or_else(|| env("USER"))
                .unwrap_or_else(|| "postgres".to_owned()),
            dbname: String::new(),
            password: env("PGPASSWORD").map(Password),
            sslmode: match env("PGSSLMODE") {
                Some(mode) => SslMode::parse(&mode).map_err(|e| format!("PGSSLMODE: {e}"))?,
                None => SslMode::Prefer,
            },
            sslrootcert: env("PGSSLROOTCERT").map(PathBuf::from),
            schema: file
                .schema
                .clone()
                .unwrap_or_else(|| DEFAULT_SCHEMA.to_owned()),
            workspace: env("IMSFORM_WORKSPACE")
                .or_else(|| file.workspace.clone())
                .unwrap_or_else(|| DEFAULT_WORKSPACE.to_owned()),
            heartbeat: file.heartbeat.unwrap_or(DEFAULT_HEARTBEAT),
            statement_timeout: file.statement_timeout.unwrap_or(DEFAULT_STATEMENT_TIMEOUT),
        };
        let dbname = env("PGDATABASE");
        match (env("PG_CONN_STR"), &file.conn_str) {
            (Some(text), _) => settings
                .apply_conn_str(&text, true)
                .map_err(|e| format!("PG_CONN_STR: {e}"))?,
            (None, Some(text)) => settings
                .apply_conn_str(text, false)
                .map_err(|e| format!("state.conn_str: {e}"))?,
            (None, None) => {}
        }
        if settings.dbname.is_empty() {
            settings.dbname = dbname.unwrap_or_else(|| settings.user.clone());
        }
        check_schema(&settings.schema)?;
        check_workspace(&settings.workspace)?;
        Ok(settings)
    }

    /// Applies a connection string (either form); a password is taken only when
    /// `password_allowed` (from the environment, not from imsform.toml).
    fn apply_conn_str(&mut self, text: &str, password_allowed: bool) -> Result<(), String> {
        for (key, value) in super::conninfo::pairs(text)? {
            match key.as_str() {
                "password" if !password_allowed => {
                    return Err("a password does not belong in imsform.toml (it would be \
                                committed with it); remove it and set PGPASSWORD, PG_CONN_STR \
                                or ~/.pgpass instead"
                        .to_owned());
                }
                "password" => self.password = Some(Password(value)),
                "sslmode" => self.sslmode = SslMode::parse(&value)?,
                "sslrootcert" => self.sslrootcert = Some(PathBuf::from(value)),
                "host" => self.host = value,
                "port" => self.port = parse_port(&value)?,
                "user" => self.user = value,
                "dbname" => self.dbname = value,
                other => {
                    return Err(format!(
                        "parameter `{other}` is not supported (known: host, port, user, \
                         password, dbname, sslmode, sslrootcert)"
                    ));
                }
            }
        }
        Ok(())
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| format!("`{text}` is not a port"))
}

/// A schema name: it is written into SQL as a quoted identifier.
fn check_schema(name: &str) -> Result<(), String> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    check_length(
        "state.schema",
        name,
        valid,
        "lower-case letters, digits and `_`, starting with a letter or `_`",
    )
}

/// A workspace name: it appears in messages and lock holder rows.
fn check_workspace(name: &str) -> Result<(), String> {
    let valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    check_length(
        "workspace (IMSFORM_WORKSPACE or state.workspace)",
        name,
        valid,
        "letters, digits, `_`, `-` and `.`",
    )
}

fn check_length(what: &str, name: &str, valid: bool, rule: &str) -> Result<(), String> {
    if valid && (1..=63).contains(&name.len()) {
        Ok(())
    } else {
        Err(format!("{what}: `{name}` must be 1 to 63 {rule}"))
    }
}

/// The password of `settings` from the password file (`PGPASSFILE`, else `~/.pgpass`): the
/// first line whose host, port, database and user match (`*` matches anything).
pub fn password_from_file(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Password> {
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".pgpass")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let port = settings.port.to_string();
    let wanted = [
        settings.host.as_str(),
        &port,
        &settings.dbname,
        &settings.user,
    ];
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass(line);
            let [host, port, db, user, password] = fields.as_slice() else {
                return None;
            };
            let matches = [host, port, db, user]
                .iter()
                .zip(wanted)
                .all(|(field, value)| field.as_str() == "*" || field.as_str() == value);
            matches.then(|| Password(password.clone()))
        })
}

/// The `:`-separated fields of a password file line, `\:` and `\\` unescaped.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields
                .last_mut()
                .into_iter()
                .for_each(|f| f.extend(chars.next())),
            ':' => fields.push(String::new()),
            c => fields.last_mut().into_iter().for_each(|f| f.push(c)),
        }
    }
    fields
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
