//! What a plan amounts to: the counts of the `Plan:` line (the changes, the recovery of the
//! journal and the untracked images deleted) and the questions renderers and the exit code ask
//! (does it change anything, any image, does it destroy any). Derived views only.

use serde::{Deserialize, Serialize};

use super::model::{Action, Plan, PlanMode};
use super::replica::ReplicaRecoveryAction;
use super::untracked::UntrackedAction;

/// Counts for `Plan: X to add, Y to change, Z to destroy.`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    /// Whether applying would change anything (cloud or state): `--detailed-exitcode` exits 2.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
            || !self.drift.is_empty()
            || !self.recovery.is_empty()
            || !self.moves.is_empty()
            || self.replicas.iter().any(|c| c.action != Action::NoOp)
            || !self.replica_drift.is_empty()
            || !self.replica_recovery.is_empty()
            || self
                .untracked
                .iter()
                .any(|u| !matches!(u.action, UntrackedAction::Report { .. }))
    }

    /// The counts of the `Plan:` line: the changes, plus the images the recovery of the
    /// journal will finish creating or will delete.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for work in self.recovery_work() {
            counts.add += work.add;
            counts.destroy += work.destroy;
        }
        counts.destroy += self.untracked_deletes();
        let replicas = self.replicas.iter().map(|c| c.action);
        for action in self.changes.iter().map(|c| c.action).chain(replicas) {
            match action {
                Action::NoOp => {}
                Action::Create => counts.add += 1,
                Action::Update => counts.change += 1,
                Action::Replace { .. } => {
                    counts.add += 1;
                    counts.destroy += 1;
                }
                Action::Delete => counts.destroy += 1,
            }
        }
        counts
    }

    /// The objects changed outside imsform: images and replicas.
    pub fn drift_count(&self) -> usize {
        self.drift.len() + self.replica_drift.len()
    }

    /// The changes that create an image: creates and replacements.
    pub fn new_images(&self) -> impl Iterator<Item = &super::model::ResourceChange> {
        self.changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Replace { .. }))
    }

    /// Whether any image is destroyed or replaced, by a change or by the recovery.
    pub fn destroys_anything(&self) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c.action, Action::Delete | Action::Replace { .. }))
            || self
                .replicas
                .iter()
                .any(|c| matches!(c.action, Action::Delete | Action::Replace { .. }))
            || self.recovery_work().any(|work| work.destroy > 0)
            || self.untracked_deletes() > 0
    }

    /// What the recovery of each journal entry does to images. Nothing in a refresh-only plan:
    /// it leaves every cloud write of the recovery to the next apply.
    fn recovery_work(&self) -> impl Iterator<Item = Counts> + '_ {
        let counted = self.mode != PlanMode::RefreshOnly;
        let replicas = self.replica_recovery.iter().map(|r| match r.action {
            // A found copy completes a create; a journaled delete destroys.
            ReplicaRecoveryAction::Adopt { .. } => Counts {
                add: 1,
                ..Counts::default()
            },
            ReplicaRecoveryAction::Delete { .. } => Counts {
                destroy: 1,
                ..Counts::default()
            },
            ReplicaRecoveryAction::Drop | ReplicaRecoveryAction::LookUp => Counts::default(),
        });
        self.recovery
            .iter()
            .map(super::model::Recovery::counts)
            .chain(replicas)
            .filter(move |_| counted)
    }

    /// How many untracked images the plan deletes.
    pub fn untracked_deletes(&self) -> usize {
        self.untracked
            .iter()
            .filter(|u| u.action == UntrackedAction::Delete)
            .count()
    }

    /// Whether applying would create, change or delete any image (as opposed to only the
    /// state), by a change or by the recovery of the journal.
    pub fn changes_images(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
            || self.replicas.iter().any(|c| c.action != Action::NoOp)
            || !self.replica_recovery.is_empty()
            || self.recovery_work().any(|work| work != Counts::default())
            || self.untracked_deletes() > 0
    }
}
