//! The [`Store`]: how a command opens, locks, reads and saves the state, whatever backend holds
//! it. It must not know what the state means (plan and apply decide that); it guarantees how it
//! is read and written. Where the bytes or rows go is the backend's business
//! ([`super::backend`]).
//!
//! # Flow
//!
//! 1. [`Store::open_at`] (or [`Store::open`] for a state file) opens the backend, which takes
//!    the lock and reads the state, or notes that there is none.
//! 2. The caller reads [`Store::state`] (or [`Store::state_or_new`]), changes a copy, and calls
//!    [`Store::save`] after every step it must not lose; or, as the apply does for each step,
//!    changes the state in place through [`Store::change`], which saves it.
//! 3. Dropping the store releases the lock.
//!
//! Read-only commands use [`super::read`], which takes no lock and performs the same checks.
//!
//! # Guarantees
//!
//! - **Serial** is bumped by exactly one on each save whose content (format, lineage, metadata,
//!   images, pending) differs from the last state read or saved; a save without a change writes
//!   nothing. `save` sets `serial`, `format_version` and `imsform_version` itself and ignores
//!   the caller's values.
//! - **Lineage** is fixed: a new state gets the backend's lineage, else a fresh UUID v4 (the
//!   same one for every [`Store::state_or_new`] call of a store); `save` refuses a state of
//!   another lineage. Only [`Store::push`] replaces a state wholesale.
//! - **Only what changed is handed down** ([`Commit`]): [`Store::save`] diffs the new state
//!   against the last commit and keeps its copy up to date by cloning only the changed
//!   records, so its work per save is one comparison pass, not a copy of the state.
//!   [`Store::change`] edits the store's own copy and learns what changed from what the edit
//!   touched ([`Edit`]), so its work does not grow with the number of images. Both hand the
//!   backend the same commit for the same change, through one function.
//!
//! # Caveats
//!
//! - `open` and `save` block on the lock, on fsync or on the database; async callers use
//!   `spawn_blocking`.

use std::collections::BTreeMap;
use std::path::Path;

use super::backend::local::{self, LocalBackend};
use super::backend::pg::PgBackend;
use super::backend::{Backend, Commit, Delta, Location};
use super::edit::{Edit, Undo};
use super::lock::{LockInfo, LockOptions};
use super::{FORMAT_VERSION, IMSFORM_VERSION, Identity, ImageRecord, State, StateError};
use crate::manifest::model::Address;

/// An open, locked state.
#[derive(Debug)]
pub struct Store {
    backend: Box<dyn Backend>,
    /// The state as read, then as last saved.
    current: Option<State>,
    new_lineage: String,
    /// The cloud of this run, recorded in a state that has no identity yet at its next write.
    identity: Option<Identity>,
}

impl Store {
    /// Locks and reads the state file at `path`. Blocks while waiting for the lock: call it
    /// through `spawn_blocking` from async code.
    pub fn open(path: &Path, lock: LockOptions<'_>) -> Result<Store, StateError> {
        let (backend, opened) = LocalBackend::open(path, &lock)?;
        Ok(Store::new(Box::new(backend), opened))
    }

    /// Locks and reads the state at `location`, whatever its backend. Blocking, as [`open`].
    ///
    /// [`open`]: Store::open
    pub fn open_at(location: &Location, lock: LockOptions<'_>) -> Result<Store, StateError> {
        match location {
            Location::Local(path) => Store::open(path, lock),
            Location::Pg(settings) => {
                let (backend, opened) = PgBackend::open(settings, &lock)?;
                Ok(Store::new(Box::new(backend), opened))
            }
        }
    }

    /// Reads and checks the state file at `path` without locking. `None` when there is none.
    pub fn read(path: &Path) -> Result<Option<State>, StateError> {
        local::read(path)
    }

    fn new(backend: Box<dyn Backend>, opened: super::backend::Opened) -> Store {
        let new_lineage = opened
            .lineage
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Store {
            backend,
            current: opened.state,
            new_lineage,
            identity: None,
        }
    }

    /// Where the state lives, for messages.
    pub fn location(&self) -> String {
        self.backend.location()
    }

    /// The lock this store holds.
    pub fn lock_info(&self) -> &LockInfo {
        self.backend.lock_info()
    }

    /// Turns `Some(reason)` when the backend lost the connection that holds its lock; `None`
    /// for a backend that cannot lose it (the local file).
    pub fn loss(&self) -> Option<tokio::sync::watch::Receiver<Option<String>>> {
        self.backend.loss()
    }

    /// The state as read, then as last saved; `None` while there is none.
    pub fn state(&self) -> Option<&State> {
        self.current.as_ref()
    }

    /// The current state, or a new empty one with this store's lineage.
    pub fn state_or_new(&self) -> State {
        self.current
            .clone()
            .unwrap_or_else(|| State::new(self.new_lineage.clone()))
    }

    /// Binds this run to the cloud `identity`: refuses a state that belongs to another one;
    /// a state without an identity (new, or written before imsform recorded it) takes this one
    /// at its next write. Above the backend seam, so every backend records and checks it.
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
            location: self.backend.location(),
            state: Box::new(recorded.clone()),
            configured: Box::new(configured.clone()),
        })
    }

    /// Saves `state` if its content changed (see the module docs for the contract). A state
    /// without an identity takes the one bound with [`Store::bind_identity`].
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
        let serial = self
            .current
            .as_ref()
            .map_or(1, |current| current.serial + 1);
        self.commit(state, serial, false)
    }

    /// Replaces the state with `state` wholesale (`imsform state push`), keeping its serial.
    /// Refused when the lineages differ, when the stored serial is newer, or when it is the
    /// same but the content differs; `force` skips these checks and then writes a serial past
    /// both, so that plans made from either are stale.
    pub fn push(&mut self, state: &State, force: bool) -> Result<u64, StateError> {
        let serial = match &self.current {
            None => state.serial.max(1),
            Some(current) if force => state.serial.max(current.serial + 1),
            Some(current) if current.lineage != state.lineage => {
                return Err(StateError::PushLineage {
                    stored: current.lineage.clone(),
                    pushed: state.lineage.clone(),
                });
            }
            Some(current)
                if current.serial > state.serial
                    || (current.serial == state.serial && !current.same_content(state)) =>
            {
                return Err(StateError::PushSerial {
                    stored: current.serial,
                    pushed: state.serial,
                });
            }
            Some(_) => state.serial,
        };
        self.commit(state, serial, true)?;
        Ok(serial)
    }

    /// Applies `edit` to the state and saves it, handing the backend only the records `edit`
    /// touched (see [`Edit`]): the apply's way to save a step, whose cost does not grow with
    /// the number of images (the local file still writes the whole file). Same contract as
    /// [`Store::save`]; when the save fails the state is left as it was before `edit`.
    pub fn change<R>(&mut self, edit: impl FnOnce(&mut Edit<'_>) -> R) -> Result<R, StateError> {
        let existed = self.current.is_some();
        let mut state = self
            .current
            .take()
            .unwrap_or_else(|| State::new(self.new_lineage.clone()));
        let mut undo = Undo::default();
        let returned = edit(&mut undo.edit(&mut state));
        let delta = undo.delta(&state);
        let previous = existed.then_some(&state);
        let written = write(
            self.writer(),
            &state,
            previous,
            &delta,
            state.serial + 1,
            false,
        );
        match written {
            Ok(Some(mut shell)) => {
                shell.images = std::mem::take(&mut state.images);
                shell.pending = std::mem::take(&mut state.pending);
                self.current = Some(shell);
            }
            Ok(None) => self.current = Some(state),
            Err(error) => {
                undo.roll_back(&mut state);
                self.current = existed.then_some(state);
                return Err(error);
            }
        }
        Ok(returned)
    }

    fn writer(&mut self) -> Writer<'_> {
        Writer {
            backend: self.backend.as_mut(),
            identity: self.identity.as_ref(),
        }
    }

    /// Saves `state` whole: compares it with the last commit to find what changed.
    fn commit(&mut self, state: &State, serial: u64, push: bool) -> Result<(), StateError> {
        let previous = self.current.as_ref();
        let empty = BTreeMap::new();
        let (changed, removed) = diff(previous.map_or(&empty, |p| &p.images), &state.images);
        let delta = Delta {
            changed,
            removed: removed.iter().collect(),
            journal_changed: previous.map_or(&[][..], |p| &p.pending) != state.pending,
        };
        let writer = Writer {
            backend: self.backend.as_mut(),
            identity: self.identity.as_ref(),
        };
        let Some(mut shell) = write(writer, state, previous, &delta, serial, push)? else {
            return Ok(());
        };
        let mut images = self
            .current
            .take()
            .map(|current| current.images)
            .unwrap_or_default();
        for address in &removed {
            images.remove(address);
        }
        for address in delta.changed {
            if let Some(record) = state.images.get(address) {
                images.insert(address.clone(), record.clone());
            }
        }
        shell.images = images;
        shell.pending = state.pending.clone();
        self.current = Some(shell);
        Ok(())
    }
}

/// What a commit needs of the store besides the states.
struct Writer<'a> {
    backend: &'a mut dyn Backend,
    /// The identity bound to this run.
    identity: Option<&'a Identity>,
}

/// Hands `state` down as one commit at `serial` unless nothing differs from `previous` (the
/// last commit; `None` before the first); returns the shell it wrote, `None` when it wrote
/// nothing. The one path to the backend for [`Store::save`], [`Store::push`] and
/// [`Store::change`].
fn write(
    writer: Writer<'_>,
    state: &State,
    previous: Option<&State>,
    delta: &Delta<'_>,
    serial: u64,
    push: bool,
) -> Result<Option<State>, StateError> {
    let mut shell = state.shell();
    if shell.identity.is_none() && !push {
        shell.identity = writer.identity.cloned();
    }
    shell.serial = serial;
    shell.format_version = FORMAT_VERSION;
    IMSFORM_VERSION.clone_into(&mut shell.imsform_version);
    let meta_changed = previous.is_none_or(|previous| !same_meta(&previous.shell(), &shell));
    let unchanged = delta.is_empty() && !meta_changed;
    if unchanged && !writer.backend.must_write() && !push {
        return Ok(None);
    }
    let previous_serial = previous.map(|previous| previous.serial);
    if push && unchanged && previous_serial == Some(serial) {
        return Ok(None);
    }
    writer.backend.commit(&Commit {
        state,
        shell: &shell,
        previous_serial,
        changed: &delta.changed,
        removed: &delta.removed,
        journal_changed: delta.journal_changed,
    })?;
    Ok(Some(shell))
}

/// The addresses whose record is new or differs, and those that are gone: one pass over both
/// maps in address order, without lookups (this comparison is the only work of
/// [`Store::save`] that grows with the number of images).
fn diff<'a>(
    previous: &BTreeMap<Address, ImageRecord>,
    next: &'a BTreeMap<Address, ImageRecord>,
) -> (Vec<&'a Address>, Vec<Address>) {
    let (mut changed, mut removed) = (Vec::new(), Vec::new());
    let mut old = previous.iter().peekable();
    for (address, record) in next {
        while let Some((gone, _)) = old.next_if(|(candidate, _)| *candidate < address) {
            removed.push(gone.clone());
        }
        match old.next_if(|(candidate, _)| *candidate == address) {
            Some((_, before)) if before == record => {}
            _ => changed.push(address),
        }
    }
    removed.extend(old.map(|(gone, _)| gone.clone()));
    (changed, removed)
}

/// Whether two shells hold the same metadata, ignoring what every save sets itself.
fn same_meta(current: &State, next: &State) -> bool {
    let normalize = |shell: &State| {
        let mut shell = shell.clone();
        shell.serial = 0;
        shell.imsform_version.clear();
        shell
    };
    normalize(current) == normalize(next)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
