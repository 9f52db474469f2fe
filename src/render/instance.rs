//! The renderings' one seam to the kinds (design.md section 11): the block of any instance's
//! change or drift and the sentence of any journal entry's recovery, each handed to its kind's
//! module (`image.rs`, `replica.rs`, `recovery.rs`). The human and markdown renderings call
//! only these; adding a kind adds one arm to each function here.

use super::blocks::Line;
use super::{image, recovery, replica};
use crate::plan::{Change, Drift, Recovery};

/// The block of one change: nothing for a no-op that says nothing (not moved).
pub(crate) fn change_block(change: &Change) -> Vec<Line> {
    match change {
        Change::Image(change) => image::change(change),
        Change::Replica(change) => replica::change(change),
    }
}

/// The block of one object changed outside imsform.
pub(crate) fn drift_block(drift: &Drift) -> Vec<Line> {
    match drift {
        Drift::Image(drift) => image::drift(drift),
        Drift::Replica(drift) => replica::drift(drift),
    }
}

/// One sentence saying what recovering a journal entry will do.
pub(crate) fn recovery_sentence(recovery: &Recovery) -> String {
    match recovery {
        Recovery::Image(recovery) => recovery::sentence(recovery),
        Recovery::Replica(recovery) => replica::sentence(recovery),
    }
}
