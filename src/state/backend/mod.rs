//! The state backend seam: where a state lives and how one save reaches it. [`super::Store`]
//! keeps the format, the serial, the lineage rule and the diff; a backend only stores what the
//! store hands it and holds the lock. Nothing above `state/` knows which backend is in use.
//!
//! - [`local`]: the file of design.md section 4 (`imsform.state.json`, its lock file, backups).
//! - [`pg`]: a PostgreSQL workspace (design.md section 9): one row per image and per journal
//!   entry, a session advisory lock on one dedicated connection, a serial compare-and-set.
//!
//! The seam speaks in the state's own types: a [`Commit`] names the records that changed since
//! the last commit, so a backend that stores rows writes only those (a save costs the same at
//! 10 images and at 10,000), while one that stores a file necessarily writes the whole state.

pub mod local;
pub mod pg;

use std::fmt;
use std::path::PathBuf;

use super::lock::LockInfo;
use super::{State, StateError};
use crate::manifest::model::Address;

/// Where the state of this run lives (`[state]` of imsform.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The state file.
    Local(PathBuf),
    /// A workspace in PostgreSQL.
    Pg(pg::Settings),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Pg(settings) => settings.fmt(f),
        }
    }
}

impl Location {
    /// The PostgreSQL workspace as `schema/workspace`, which a saved plan records so that it
    /// is applied only to the workspace it was made from; `None` for the state file (whose
    /// path a plan does not record: the lineage already tells one file from another).
    pub fn workspace_id(&self) -> Option<String> {
        match self {
            Location::Local(_) => None,
            Location::Pg(settings) => Some(format!("{}/{}", settings.schema, settings.workspace)),
        }
    }
}

/// What a backend read under its lock at open.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The state; `None` when there is none yet.
    pub state: Option<State>,
    /// The lineage a new state must take, when the backend fixed one already (a PostgreSQL
    /// workspace gets its lineage when it is created).
    pub lineage: Option<String>,
}

/// One save, as the store hands it to the backend.
#[derive(Debug)]
pub struct Commit<'a> {
    /// The state to save, as the caller made it (its own serial ignored).
    pub state: &'a State,
    /// [`State::shell`] of the new state, with `serial`, `format_version` and
    /// `imsform_version` set by the store.
    pub shell: &'a State,
    /// The serial the backend holds now; `None` when no state was saved yet.
    pub previous_serial: Option<u64>,
    /// Addresses whose record is new or differs from the last commit.
    pub changed: &'a [&'a Address],
    /// Addresses whose record is gone.
    pub removed: &'a [&'a Address],
    /// Whether `pending` differs from the last commit.
    pub journal_changed: bool,
}

/// What differs from the last commit, as the store found it: by comparing two states, or from
/// what an edit touched.
#[derive(Debug, Default)]
pub struct Delta<'a> {
    /// Addresses whose record is new or differs.
    pub changed: Vec<&'a Address>,
    /// Addresses whose record is gone.
    pub removed: Vec<&'a Address>,
    /// Whether `pending` differs.
    pub journal_changed: bool,
}

impl Delta<'_> {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty() && !self.journal_changed
    }
}

impl Commit<'_> {
    /// The serial this commit writes.
    pub fn serial(&self) -> u64 {
        self.shell.serial
    }
}

/// A store's backend: holds the lock for as long as it lives, and writes commits.
pub trait Backend: fmt::Debug + Send {
    /// Where the state lives, for messages.
    fn location(&self) -> String;

    /// The lock this backend holds.
    fn lock_info(&self) -> &LockInfo;

    /// Whether the next save must write even without a change (a migrated local file).
    fn must_write(&self) -> bool {
        false
    }

    /// Writes one commit durably, or fails and writes nothing.
    fn commit(&mut self, commit: &Commit<'_>) -> Result<(), StateError>;

    /// A signal that turns `Some(reason)` when the backend lost what makes its writes safe
    /// (the database connection that holds the lock); `None` when that cannot happen.
    fn loss(&self) -> Option<tokio::sync::watch::Receiver<Option<String>>> {
        None
    }
}
