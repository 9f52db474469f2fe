//! The [`Store`]: how a command opens, locks, reads and saves the state. It must not know what
//! the state means (plan and apply decide that); it guarantees how it is read and written.
//!
//! # Flow
//!
//! 1. [`Store::open`] takes the lock (see [`super::lock`]), removes temporary files left by a
//!    writer killed mid-save, then reads the state file, or notes that there is none.
//! 2. The caller reads [`Store::state`] (or [`Store::state_or_new`]), changes a copy, and calls
//!    [`Store::save`] after every step it must not lose.
//! 3. Dropping the store releases the lock.
//!
//! Read-only commands use [`Store::read`], which takes no lock and performs the same checks.
//!
//! # Guarantees
//!
//! - **Refusal before anything is written.** A state that does not parse, is empty, truncated,
//!   holds a key twice, comes from a newer format or fails the backup check below makes `open`
//!   and `read` fail; no store exists, so nothing can overwrite the file.
//! - **Atomic writes, mode 0600** ([`crate::atomic_file`]): the file always holds a complete state.
//! - **Backup of the state as read.** Before the run's first write, the exact bytes read at
//!   `open` are written (atomically) to `imsform.state.json.backup`, once per store. A run that
//!   never writes leaves the previous backup alone; so does a run that started without a state.
//!   A migrated state's original is also kept as `imsform.state.json.format-N.backup` (the first
//!   one only).
//! - **Serial** is bumped by exactly one on each save whose content (format, lineage, images,
//!   pending) differs from the last state read or saved; a save without a change writes nothing.
//!   `save` sets `serial`, `format_version` and `imsform_version` itself and ignores the
//!   caller's values.
//! - **Lineage** is fixed: a new state gets a fresh UUID v4 (the same one for every
//!   [`Store::state_or_new`] call of a store); `save` refuses a state of another lineage.
//!
//! # What can be detected of a state that went backwards
//!
//! - At `open`/`read`: when `imsform.state.json.backup` parses, the state must have the backup's
//!   lineage and a serial no lower than the backup's (the backup is the state at the start of
//!   the last run that wrote, so a lower serial means an older copy was restored). An
//!   unreadable or missing backup skips this check: the backup is advisory.
//! - At every `save`: the file must still hold exactly the bytes this store last read or wrote;
//!   otherwise something wrote it without the lock, and the save is refused.
//! - Not detectable: a restored copy whose serial is at least the backup's; a state and backup
//!   replaced together; a file deleted during a run whose later saves change nothing (they
//!   write nothing, so they read nothing).
//!
//! # Caveats
//!
//! - [`Store::read`] takes no lock: it sees the last complete save (renames are atomic), which
//!   may be older than what a concurrent writer is about to save.
//! - `open` and `save` block on the lock and on fsync; async callers use `spawn_blocking`.

use std::path::{Path, PathBuf};

use super::format::{self, Parsed};
use super::lock::{self, LockGuard, LockInfo, LockOptions};
use super::{FORMAT_VERSION, IMSFORM_VERSION, Identity, State, StateError, sibling};
use crate::atomic_file;

/// An open, locked state file.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    lock: LockGuard,
    /// The bytes read at `open`, for the backup; `None` when there was no state.
    read_bytes: Option<Vec<u8>>,
    migrated_from: Option<u64>,
    /// The state as read, then as last saved.
    current: Option<State>,
    /// What the file must hold now (`None`: no file).
    on_disk: Option<Vec<u8>>,
    new_lineage: String,
    backup_written: bool,
    /// The cloud of this run, recorded in a state that has no identity yet at its next write.
    identity: Option<Identity>,
}

impl Store {
    /// Locks and reads the state at `path`. Blocks while waiting for the lock: call it through
    /// `spawn_blocking` from async code.
    pub fn open(path: &Path, lock: LockOptions<'_>) -> Result<Store, StateError> {
        let guard = lock::acquire(path, &lock)?;
        atomic_file::remove_stale_temps(path).map_err(|source| StateError::Io {
            action: "remove temporary files next to",
            path: path.to_owned(),
            source,
        })?;
        let loaded = load(path)?;
        let (read_bytes, parsed) = loaded.unzip();
        let migrated_from = parsed.as_ref().and_then(|parsed| parsed.migrated_from);
        Ok(Store {
            path: path.to_owned(),
            lock: guard,
            on_disk: read_bytes.clone(),
            read_bytes,
            migrated_from,
            current: parsed.map(|parsed| parsed.state),
            new_lineage: uuid::Uuid::new_v4().to_string(),
            backup_written: false,
            identity: None,
        })
    }

    /// Reads and checks the state at `path` without locking, for read-only commands. `None`
    /// when there is no state file.
    pub fn read(path: &Path) -> Result<Option<State>, StateError> {
        Ok(load(path)?.map(|(_, parsed)| parsed.state))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock this store holds.
    pub fn lock_info(&self) -> &LockInfo {
        self.lock.info()
    }

    /// The state as read, then as last saved; `None` while there is none.
    pub fn state(&self) -> Option<&State> {
        self.current.as_ref()
    }

    /// The current state, or a new empty one with this store's fresh lineage.
    pub fn state_or_new(&self) -> State {
        self.current
            .clone()
            .unwrap_or_else(|| State::new(self.new_lineage.clone()))
    }

    /// Binds this run to the cloud `identity`: refuses a state that belongs to another one;
    /// a state without an identity (new, or written before imsform recorded it) takes this one
    /// at its next write.
    pub fn bind_identity(&mut self, identity: Identity) -> Result<(), StateError> {
        self.check_identity(&identity, true)?;
        self.identity = Some(identity);
        Ok(())
    }

    /// Refuses a state that belongs to another cloud than `configured`; the project ids are
    /// compared only when `project_known` (before asking IAM for it, kind and region already
    /// tell).
    pub fn check_identity(
        &self,
        configured: &Identity,
        project_known: bool,
    ) -> Result<(), StateError> {
        let Some(recorded) = self.current.as_ref().and_then(|s| s.identity.as_ref()) else {
            return Ok(());
        };
        let same = recorded.kind == configured.kind
            && recorded.region == configured.region
            && (!project_known || recorded.project_id == configured.project_id);
        if same {
            return Ok(());
        }
        Err(StateError::OtherIdentity {
            path: self.path.clone(),
            state: Box::new(recorded.clone()),
            configured: Box::new(configured.clone()),
        })
    }

    /// Saves `state` atomically if its content changed (see the module docs for the contract).
    pub fn save(&mut self, state: &State) -> Result<(), StateError> {
        let lineage = self
            .current
            .as_ref()
            .map_or(&self.new_lineage, |current| &current.lineage);
        if state.lineage != *lineage {
            return Err(StateError::LineageChange {
                expected: lineage.clone(),
                found: state.lineage.clone(),
            });
        }
        let mut next = state.clone();
        if next.identity.is_none() {
            next.identity.clone_from(&self.identity);
        }
        next.format_version = FORMAT_VERSION;
        next.imsform_version = IMSFORM_VERSION.to_owned();
        let unsaved_migration = self.migrated_from.is_some() && !self.backup_written;
        if let Some(current) = &self.current
            && current.same_content(&next)
            && !unsaved_migration
        {
            return Ok(());
        }
        next.serial = self
            .current
            .as_ref()
            .map_or(1, |current| current.serial + 1);
        let bytes = format::serialize(&next)?;
        self.check_unchanged_on_disk()?;
        self.write_backups()?;
        atomic_file::write(&self.path, &bytes).map_err(|source| self.io("write", source))?;
        self.on_disk = Some(bytes);
        self.current = Some(next);
        Ok(())
    }

    fn check_unchanged_on_disk(&self) -> Result<(), StateError> {
        let found = read_if_exists(&self.path)?;
        if found == self.on_disk {
            return Ok(());
        }
        Err(StateError::ChangedOnDisk {
            path: self.path.clone(),
            expected: describe(self.on_disk.as_deref()),
            found: describe(found.as_deref()),
        })
    }

    fn write_backups(&mut self) -> Result<(), StateError> {
        if self.backup_written {
            return Ok(());
        }
        if let Some(bytes) = &self.read_bytes {
            let backup = sibling(&self.path, ".backup");
            atomic_file::write(&backup, bytes)
                .map_err(|source| self.io("write the backup of", source))?;
            if let Some(version) = self.migrated_from {
                let original = sibling(&self.path, &format!(".format-{version}.backup"));
                if !original.exists() {
                    atomic_file::write(&original, bytes)
                        .map_err(|source| self.io("write the pre-migration backup of", source))?;
                }
            }
        }
        self.backup_written = true;
        Ok(())
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> StateError {
        StateError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

/// Reads, parses and checks the state against its backup; `None` when there is no file.
fn load(path: &Path) -> Result<Option<(Vec<u8>, Parsed)>, StateError> {
    let Some(bytes) = read_if_exists(path)? else {
        return Ok(None);
    };
    let parsed = format::parse(path, &bytes)?;
    check_against_backup(path, &parsed.state)?;
    Ok(Some((bytes, parsed)))
}

fn check_against_backup(path: &Path, state: &State) -> Result<(), StateError> {
    let Ok(bytes) = std::fs::read(sibling(path, ".backup")) else {
        return Ok(());
    };
    let Some((lineage, serial)) = format::lineage_and_serial(&bytes) else {
        return Ok(());
    };
    if lineage != state.lineage {
        return Err(StateError::LineageDiffersFromBackup {
            path: path.to_owned(),
            state: state.lineage.clone(),
            backup: lineage,
        });
    }
    if state.serial < serial {
        return Err(StateError::SerialBehindBackup {
            path: path.to_owned(),
            state: state.serial,
            backup: serial,
        });
    }
    Ok(())
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        }),
    }
}

fn describe(bytes: Option<&[u8]>) -> String {
    match bytes.map(format::lineage_and_serial) {
        None => "no file".to_owned(),
        Some(Some((lineage, serial))) => format!("serial {serial} of lineage {lineage}"),
        Some(None) => "content that is not a state".to_owned(),
    }
}
