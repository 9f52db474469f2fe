//! The local backend: the state file of design.md section 4, its lock file and its backups.
//!
//! # Guarantees
//!
//! - **Lock** ([`crate::state::lock`]): an OS lock on `imsform.state.json.lock`, held while the
//!   backend lives; temporary files left by a writer killed mid-save are removed under it.
//! - **Refusal before anything is written.** A state that does not parse, is empty, truncated,
//!   holds a key twice, comes from a newer format or fails the backup check below makes `open`
//!   and `read` fail; no backend exists, so nothing can overwrite the file.
//! - **Atomic writes, mode 0600** ([`crate::atomic_file`]): the file always holds a complete state.
//! - **Backup of the state as read.** Before the run's first write, the exact bytes read at
//!   `open` are written (atomically) to `imsform.state.json.backup`, once per backend. A run
//!   that never writes leaves the previous backup alone; so does a run that started without a
//!   state. A migrated state's original is also kept as `imsform.state.json.format-N.backup`
//!   (the first one only), and the migration is written at the first save even without change.
//!
//! # What can be detected of a state that went backwards
//!
//! - At `open`/`read`: when `imsform.state.json.backup` parses, the state must have the backup's
//!   lineage and a serial no lower than the backup's (the backup is the state at the start of
//!   the last run that wrote, so a lower serial means an older copy was restored). An
//!   unreadable or missing backup skips this check: the backup is advisory.
//! - At every commit: the file must still hold exactly the bytes this backend last read or
//!   wrote; otherwise something wrote it without the lock, and the save is refused.
//! - Not detectable: a restored copy whose serial is at least the backup's; a state and backup
//!   replaced together; a file deleted during a run whose later saves change nothing.
//!
//! Caveat: every call blocks on the lock and on fsync; async callers use `spawn_blocking`.

use std::path::{Path, PathBuf};

use super::{Backend, Commit, Opened};
use crate::atomic_file;
use crate::state::format::{self, Parsed};
use crate::state::lock::{self, LockGuard, LockInfo, LockOptions};
use crate::state::{State, StateError, sibling};

/// An open, locked state file.
#[derive(Debug)]
pub struct LocalBackend {
    path: PathBuf,
    lock: LockGuard,
    /// The bytes read at `open`, for the backup; `None` when there was no state.
    read_bytes: Option<Vec<u8>>,
    migrated_from: Option<u64>,
    /// What the file must hold now (`None`: no file).
    on_disk: Option<Vec<u8>>,
    backup_written: bool,
}

impl LocalBackend {
    /// Locks and reads the state at `path`.
    pub fn open(path: &Path, lock: &LockOptions<'_>) -> Result<(LocalBackend, Opened), StateError> {
        let guard = lock::acquire(path, lock)?;
        atomic_file::remove_stale_temps(path)
            .map_err(|source| io(path, "remove temporary files next to", source))?;
        let (read_bytes, parsed) = load(path)?.unzip();
        let backend = LocalBackend {
            path: path.to_owned(),
            lock: guard,
            on_disk: read_bytes.clone(),
            read_bytes,
            migrated_from: parsed.as_ref().and_then(|parsed| parsed.migrated_from),
            backup_written: false,
        };
        let opened = Opened {
            state: parsed.map(|parsed| parsed.state),
            lineage: None,
        };
        Ok((backend, opened))
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
                .map_err(|source| io(&self.path, "write the backup of", source))?;
            if let Some(version) = self.migrated_from {
                let original = sibling(&self.path, &format!(".format-{version}.backup"));
                if !original.exists() {
                    atomic_file::write(&original, bytes).map_err(|source| {
                        io(&self.path, "write the pre-migration backup of", source)
                    })?;
                }
            }
        }
        self.backup_written = true;
        Ok(())
    }
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn lock_info(&self) -> &LockInfo {
        self.lock.info()
    }

    fn must_write(&self) -> bool {
        self.migrated_from.is_some() && !self.backup_written
    }

    /// A file holds the whole state: every commit writes all of it.
    fn commit(&mut self, commit: &Commit<'_>) -> Result<(), StateError> {
        // The shell carries the metadata as the store set it (serial, versions, identity).
        let mut next = commit.shell.clone();
        next.images.clone_from(&commit.state.images);
        next.pending.clone_from(&commit.state.pending);
        let bytes = format::serialize(&next)?;
        self.check_unchanged_on_disk()?;
        self.write_backups()?;
        atomic_file::write(&self.path, &bytes).map_err(|source| io(&self.path, "write", source))?;
        self.on_disk = Some(bytes);
        Ok(())
    }
}

/// Reads and checks the state at `path` without locking; `None` when there is no file.
pub fn read(path: &Path) -> Result<Option<State>, StateError> {
    Ok(load(path)?.map(|(_, parsed)| parsed.state))
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
        Err(source) => Err(io(path, "read", source)),
    }
}

fn io(path: &Path, action: &'static str, source: std::io::Error) -> StateError {
    StateError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn describe(bytes: Option<&[u8]>) -> String {
    match bytes.map(format::lineage_and_serial) {
        None => "no file".to_owned(),
        Some(Some((lineage, serial))) => format!("serial {serial} of lineage {lineage}"),
        Some(None) => "content that is not a state".to_owned(),
    }
}
