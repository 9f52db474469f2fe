//! [`Report`]: what an apply did (counts, failures, interrupts) and what it left in the journal.
//! Data and its reading only; the executor fills it in.

use crate::manifest::model::Address;
use crate::state::{PendingOperation, Store};

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// Addresses that failed, with the reason, sorted by address.
    pub failures: Vec<(Address, String)>,
    /// Addresses whose work was stopped by an interrupt, with where it stopped.
    pub stopped: Vec<(Address, String)>,
    /// Addresses of the plan that were not started because of an interrupt.
    pub not_started: Vec<Address>,
    /// A shutdown was requested during the run.
    pub interrupted: bool,
    /// Untracked images the plan deleted that are not gone, by image id, with why.
    pub untracked_failures: Vec<(String, String)>,
    /// Journal entries still pending when the run ended, with what they wait for (a run that
    /// leaves any is not complete).
    pub left: Vec<(Address, String)>,
}

impl Report {
    /// Whether the run did everything it was asked to and left nothing in the journal.
    pub fn success(&self) -> bool {
        self.failures.is_empty()
            && self.untracked_failures.is_empty()
            && !self.interrupted
            && self.left.is_empty()
    }

    /// Whether `address` is already listed as failed or stopped.
    pub(super) fn lists(&self, address: &Address) -> bool {
        self.failures
            .iter()
            .chain(&self.stopped)
            .any(|(a, _)| a == address)
    }
}

/// What the journal still holds: the work the next apply has to finish.
pub(super) fn left_in_journal(store: &Store) -> Vec<(Address, String)> {
    let pending = store.state().map_or(&[][..], |s| s.pending.as_slice());
    pending
        .iter()
        .map(|entry| {
            let what = match &entry.operation {
                PendingOperation::Create {
                    image_id: Some(id), ..
                } => format!("the create of image {id} is not finished"),
                PendingOperation::Create { token, .. } => {
                    format!("the create with token {token} is not resolved")
                }
                PendingOperation::Delete { image_id } => {
                    format!("image {image_id} is not deleted yet")
                }
                PendingOperation::Copy { region, token, .. } => {
                    format!("the copy to {region} with token {token} is not resolved")
                }
                PendingOperation::DeleteReplica { region, image_id } => {
                    format!("replica {image_id} in {region} is not deleted yet")
                }
                PendingOperation::Members { image_id, .. } => {
                    format!("the sharing change of image {image_id} is not finished")
                }
            };
            (entry.address.clone(), what)
        })
        .collect()
}
