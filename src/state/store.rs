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
//!    [`Store::save`] after every step it must not lose.
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
//! - **Only what changed is handed down**: the store diffs the new state against the last
//!   commit ([`Commit`]) and keeps its copy up to date by cloning only the changed records, so
//!   the store's own work per save is one comparison pass, not a copy of the state.
//!
//! # Caveats
//!
//! - `open` and `save` block on the lock, on fsync or on the database; async callers use
//!   `spawn_blocking`.

use std::collections::BTreeMap;
use std::path::Path;

use super::backend::local::{self, LocalBackend};
use super::backend::pg::PgBackend;
use super::backend::{Backend, Commit, Location};
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

    /// Turns `true` when the backend lost the connection that holds its lock; `None` for a
    /// backend that cannot lose it (the local file).
    pub fn loss(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
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

    fn commit(&mut self, state: &State, serial: u64, push: bool) -> Result<(), StateError> {
        let mut shell = state.shell();
        if shell.identity.is_none() && !push {
            shell.identity.clone_from(&self.identity);
        }
        shell.serial = serial;
        shell.format_version = FORMAT_VERSION;
        IMSFORM_VERSION.clone_into(&mut shell.imsform_version);
        let empty = State::new(String::new());
        let previous = self.current.as_ref().unwrap_or(&empty);
        let (changed, removed) = diff(&previous.images, &state.images);
        let journal_changed = previous.pending != state.pending;
        let meta_changed = self
            .current
            .as_ref()
            .is_none_or(|current| !same_meta(&current.shell(), &shell));
        let unchanged = changed.is_empty() && removed.is_empty() && !journal_changed;
        if unchanged && !meta_changed && !self.backend.must_write() && !push {
            return Ok(());
        }
        if push && unchanged && !meta_changed && previous.serial == serial {
            return Ok(());
        }
        let commit = Commit {
            state,
            shell: &shell,
            previous_serial: self.current.as_ref().map(|current| current.serial),
            changed,
            removed: removed.iter().collect(),
            journal_changed,
        };
        self.backend.commit(&commit)?;
        let changed = commit.changed;
        let mut images = self
            .current
            .take()
            .map(|current| current.images)
            .unwrap_or_default();
        for address in &removed {
            images.remove(address);
        }
        for address in changed {
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

/// The addresses whose record is new or differs, and those that are gone: one pass over both
/// maps in address order, without lookups (this comparison is the store's only work that
/// grows with the number of images).
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
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::state::backend::Opened;
    use crate::state::{ImageRecord, PendingEntry, PendingOperation};

    /// What one commit handed down: serial, changed, removed, journal changed.
    type Seen = (u64, Vec<String>, Vec<String>, bool);

    #[derive(Debug)]
    struct Recording {
        info: LockInfo,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Backend for Recording {
        fn location(&self) -> String {
            "memory".to_owned()
        }
        fn lock_info(&self) -> &LockInfo {
            &self.info
        }
        fn commit(&mut self, commit: &Commit<'_>) -> Result<(), StateError> {
            let names = |list: &[&Address]| list.iter().map(|a| a.to_string()).collect();
            self.seen.lock().unwrap().push((
                commit.serial(),
                names(&commit.changed),
                names(&commit.removed),
                commit.journal_changed,
            ));
            Ok(())
        }
    }

    fn record(id: &str) -> ImageRecord {
        serde_json::from_value(serde_json::json!({"id": id, "attributes": {
            "name": id, "image_url": "b:o.qcow2", "os_version": "Ubuntu 22.04 server 64bit",
            "disk_format": "qcow2", "min_disk": 40, "min_ram": 0}}))
        .unwrap()
    }

    #[test]
    fn only_what_changed_is_handed_down_and_the_copy_follows() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let backend = Recording {
            info: crate::state::lock::new_info("test"),
            seen: seen.clone(),
        };
        let lineage = "0b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11".to_owned();
        let opened = Opened {
            state: None,
            lineage: Some(lineage.clone()),
        };
        let mut store = Store::new(Box::new(backend), opened);
        let mut state = store.state_or_new();
        assert_eq!(
            state.lineage, lineage,
            "a new state takes the backend's lineage"
        );
        for key in ["a", "b", "c"] {
            state.images.insert(Address::from_key(key), record(key));
        }
        store.save(&state).unwrap();
        store.save(&state).unwrap();
        state.images.remove(&Address::from_key("a"));
        state.images.insert(Address::from_key("b"), record("b2"));
        state.pending.push(PendingEntry {
            address: Address::from_key("d"),
            operation: PendingOperation::Delete {
                image_id: "x".to_owned(),
            },
            started_at: "t".to_owned(),
        });
        store.save(&state).unwrap();
        let seen = seen.lock().unwrap().clone();
        let all = ["images.a", "images.b", "images.c"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            seen,
            [
                (1, all, vec![], false),
                (
                    2,
                    vec!["images.b".to_owned()],
                    vec!["images.a".to_owned()],
                    true
                ),
            ],
            "an unchanged save hands nothing down"
        );
        let current = store.state().unwrap();
        assert_eq!((current.serial, &current.images), (2, &state.images));
        assert_eq!(current.pending, state.pending);
        let mut other = state.clone();
        other.lineage = "1b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11".to_owned();
        assert!(matches!(
            store.save(&other),
            Err(StateError::LineageChange { .. })
        ));
    }

    #[test]
    fn the_bound_identity_reaches_the_backend_and_another_cloud_is_refused() {
        use crate::state::{CloudKind, Identity};
        let seen = Arc::new(Mutex::new(Vec::new()));
        let backend = Recording {
            info: crate::state::lock::new_info("test"),
            seen: seen.clone(),
        };
        let opened = Opened {
            state: None,
            lineage: None,
        };
        let mut store = Store::new(Box::new(backend), opened);
        let here = Identity {
            kind: CloudKind::Cloud,
            region: "cn-north-4".to_owned(),
            project_id: "p1".to_owned(),
        };
        store.bind_identity(here.clone()).unwrap();
        let mut state = store.state_or_new();
        state.images.insert(Address::from_key("a"), record("a"));
        store.save(&state).unwrap();
        assert_eq!(store.state().unwrap().identity.as_ref(), Some(&here));
        store.save(&state).unwrap();
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "the filled identity is no change"
        );
        let elsewhere = Identity {
            region: "cn-south-1".to_owned(),
            ..here.clone()
        };
        let refused = store.check_identity(&elsewhere, false).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("memory belongs to the cloud"),
            "{refused}"
        );
        let other_project = Identity {
            project_id: "p2".to_owned(),
            ..here
        };
        assert!(store.check_identity(&other_project, false).is_ok());
        assert!(store.bind_identity(other_project).is_err());
    }
}
