//! What a plan amounts to: the counts of the `Plan:` line (the changes, the recovery of the
//! journal and the untracked images deleted) and the questions renderers and the exit code ask
//! (does it change anything, any cloud object, does it destroy any). Derived views only, over
//! the one list of each: no kind is named here but in [`Plan::new_images`].

use super::image::ImageChange;
use super::instance::{Plan, Recovery};
use super::model::{Action, Counts, PlanMode};
use super::untracked::UntrackedAction;

impl Plan {
    /// Whether applying would change anything (cloud or state): `--detailed-exitcode` exits 2.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action() != Action::NoOp)
            || self.imports().next().is_some()
            || !self.drift.is_empty()
            || !self.recovery.is_empty()
            || !self.moves.is_empty()
            || self
                .untracked
                .iter()
                .any(|u| !matches!(u.action, UntrackedAction::Report { .. }))
    }

    /// The counts of the `Plan:` line: the changes, plus the objects the recovery of the
    /// journal will finish creating or will delete, and the untracked images deleted.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for work in self.recovery_work() {
            counts.add += work.add;
            counts.destroy += work.destroy;
        }
        counts.destroy += self.untracked_deletes();
        counts.import = self.imports().count();
        for change in &self.changes {
            match change.action() {
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

    /// The image changes that import an image (issue 21).
    pub fn imports(&self) -> impl Iterator<Item = &ImageChange> {
        self.images().filter(|c| c.importing.is_some())
    }

    /// The image changes that create an image: creates and replacements.
    pub fn new_images(&self) -> impl Iterator<Item = &ImageChange> {
        self.images()
            .filter(|c| matches!(c.action, Action::Create | Action::Replace { .. }))
    }

    /// Whether any object is destroyed or replaced, by a change or by the recovery.
    pub fn destroys_anything(&self) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c.action(), Action::Delete | Action::Replace { .. }))
            || self.recovery_work().any(|work| work.destroy > 0)
            || self.untracked_deletes() > 0
    }

    /// What the recovery of each journal entry does to cloud objects. Nothing in a
    /// refresh-only plan: it leaves every cloud write of the recovery to the next apply.
    fn recovery_work(&self) -> impl Iterator<Item = Counts> + '_ {
        let counted = self.mode != PlanMode::RefreshOnly;
        self.recovery
            .iter()
            .map(Recovery::counts)
            .filter(move |_| counted)
    }

    /// How many untracked images the plan deletes.
    pub fn untracked_deletes(&self) -> usize {
        self.untracked
            .iter()
            .filter(|u| u.action == UntrackedAction::Delete)
            .count()
    }

    /// Whether applying would create, change or delete any cloud object (as opposed to only
    /// the state), by a change or by the recovery of the journal.
    pub fn changes_images(&self) -> bool {
        let counted = self.mode != PlanMode::RefreshOnly;
        self.changes.iter().any(|c| c.action() != Action::NoOp)
            || (counted && self.recovery.iter().any(Recovery::touches_cloud))
            || self.untracked_deletes() > 0
    }
}
