//! [`Edit`]: a change to the state that records what it touches, for [`super::Store::change`].
//! An apply step edits one address and its journal entry; recording them lets a save hand the
//! backend only those records, without comparing the whole state with the last commit, and
//! lets a failed save put them back as they were.
//!
//! The state's records are reachable only through these methods, so an edit cannot change a
//! record without it being recorded. The metadata (lineage, serial, identity) is read-only
//! here: the store sets it.

use std::collections::BTreeMap;

use super::backend::Delta;
use super::{ImageRecord, PendingEntry, State};
use crate::manifest::model::Address;

/// Access to a state that notes, before the first change of each record, what it held.
#[derive(Debug)]
pub struct Edit<'a> {
    state: &'a mut State,
    undo: &'a mut Undo,
}

impl Edit<'_> {
    /// The state as edited so far.
    pub fn state(&self) -> &State {
        self.state
    }

    /// The record at `address`, to change in place.
    pub fn image_mut(&mut self, address: &Address) -> Option<&mut ImageRecord> {
        self.undo.note(self.state, address);
        self.state.images.get_mut(address)
    }

    /// Puts `record` at `address`; returns the record it replaces.
    /// A record without replicas keeps those of the record it replaces: the image's
    /// replacement does not forget its copies in other regions (the replica plan replaces
    /// them from the new image).
    pub fn insert_image(
        &mut self,
        address: Address,
        mut record: ImageRecord,
    ) -> Option<ImageRecord> {
        self.undo.note(self.state, &address);
        if record.replicas.is_empty()
            && let Some(old) = self.state.images.get_mut(&address)
        {
            record.replicas = std::mem::take(&mut old.replicas);
        }
        self.state.images.insert(address, record)
    }

    /// Removes the record at `address` and returns it.
    pub fn remove_image(&mut self, address: &Address) -> Option<ImageRecord> {
        self.undo.note(self.state, address);
        self.state.images.remove(address)
    }

    /// The journal, to change. The journal holds the operations in flight (a few, whatever
    /// the number of images), so it is kept and compared whole.
    pub fn pending_mut(&mut self) -> &mut Vec<PendingEntry> {
        if self.undo.pending.is_none() {
            self.undo.pending = Some(self.state.pending.clone());
        }
        &mut self.state.pending
    }
}

/// Applies `edit` to `state` itself, for a caller that then saves the whole state with
/// [`super::Store::save`] (which finds what changed by comparing, so the record is dropped).
pub fn apply<R>(state: &mut State, edit: impl FnOnce(&mut Edit<'_>) -> R) -> R {
    edit(&mut Undo::default().edit(state))
}

/// What the records touched by one [`Edit`] held before it: enough to tell what changed and to
/// put it back.
#[derive(Debug, Default)]
pub(super) struct Undo {
    /// Address → its record before the edit (`None`: there was none).
    images: BTreeMap<Address, Option<ImageRecord>>,
    /// The journal before the edit, once the edit asked to change it.
    pending: Option<Vec<PendingEntry>>,
}

impl Undo {
    /// An edit of `state` that records into this.
    pub(super) fn edit<'a>(&'a mut self, state: &'a mut State) -> Edit<'a> {
        Edit { state, undo: self }
    }

    fn note(&mut self, state: &State, address: &Address) {
        if !self.images.contains_key(address) {
            let before = state.images.get(address).cloned();
            self.images.insert(address.clone(), before);
        }
    }

    /// What `state` holds now that differs from before: a touched record that was set back to
    /// what it held is no change.
    pub(super) fn delta<'a>(&'a self, state: &State) -> Delta<'a> {
        let mut delta = Delta::default();
        for (address, before) in &self.images {
            match state.images.get(address) {
                Some(now) if before.as_ref() != Some(now) => delta.changed.push(address),
                None if before.is_some() => delta.removed.push(address),
                _ => {}
            }
        }
        delta.journal_changed = self
            .pending
            .as_ref()
            .is_some_and(|before| *before != state.pending);
        delta
    }

    /// Puts back what the edit changed in `state`.
    pub(super) fn roll_back(self, state: &mut State) {
        for (address, before) in self.images {
            match before {
                Some(record) => state.images.insert(address, record),
                None => state.images.remove(&address),
            };
        }
        if let Some(pending) = self.pending {
            state.pending = pending;
        }
    }
}
