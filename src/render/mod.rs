//! Renderings of plans: human text (Terraform's look), markdown for pull requests, and JSON;
//! and of the managed images for `imsform output` (`output`).
//! Each writes to any `impl Write`; the caller decides colour (terminal, `--no-color`,
//! `NO_COLOR`). No decisions about the plan are made here: only presentation.
//!
//! The renderers take instances and know no kind: `instance` hands each change, drift or
//! recovery to its kind's module (`image`, `replica`, `recovery`), which builds its block from
//! the attribute lines of `blocks`; this file holds the vocabulary the human and markdown
//! renderings share (symbols, the summary groups, the `Plan:` line).

mod blocks;
pub mod human;
mod image;
mod instance;
pub mod json;
pub mod markdown;
pub mod output;
mod recovery;
mod replica;
mod warnings;

use crate::manifest::model::ReplaceOrder;
use crate::plan::{Action, Counts, Plan};

/// The line printed when nothing changes.
pub const NO_CHANGES: &str = "No changes. Your images match the manifests.";

/// The groups of the summary, in the order they are shown: destroys and replaces first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    Delete,
    DestroyBeforeCreate,
    CreateBeforeDestroy,
    Update,
    Create,
}

impl Group {
    pub(crate) const ALL: [Group; 5] = [
        Group::Delete,
        Group::DestroyBeforeCreate,
        Group::CreateBeforeDestroy,
        Group::Update,
        Group::Create,
    ];

    pub(crate) fn of(action: Action) -> Option<Group> {
        match action {
            Action::NoOp => None,
            Action::Create => Some(Group::Create),
            Action::Update => Some(Group::Update),
            Action::Replace {
                order: ReplaceOrder::CreateBeforeDestroy,
            } => Some(Group::CreateBeforeDestroy),
            Action::Replace {
                order: ReplaceOrder::DestroyBeforeCreate,
            } => Some(Group::DestroyBeforeCreate),
            Action::Delete => Some(Group::Delete),
        }
    }

    /// Terraform's symbol.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Group::Delete => "-",
            Group::DestroyBeforeCreate => "-/+",
            Group::CreateBeforeDestroy => "+/-",
            Group::Update => "~",
            Group::Create => "+",
        }
    }

    /// The legend's words.
    pub(crate) fn legend(self) -> &'static str {
        match self {
            Group::Delete => "destroy",
            Group::DestroyBeforeCreate => "destroy and then create replacement",
            Group::CreateBeforeDestroy => "create replacement and then destroy",
            Group::Update => "update in-place",
            Group::Create => "create",
        }
    }

    /// The summary's heading.
    pub(crate) fn heading(self) -> &'static str {
        match self {
            Group::Delete => "destroy",
            Group::DestroyBeforeCreate => "replace (destroy first)",
            Group::CreateBeforeDestroy => "replace",
            Group::Update => "update in-place",
            Group::Create => "create",
        }
    }

    pub(crate) fn destructive(self) -> bool {
        matches!(
            self,
            Group::Delete | Group::DestroyBeforeCreate | Group::CreateBeforeDestroy
        )
    }
}

/// The addresses of each group that has any, in [`Group::ALL`] order, each sorted.
pub(crate) fn summary(plan: &Plan) -> Vec<(Group, Vec<String>)> {
    Group::ALL
        .into_iter()
        .filter_map(|group| {
            let mut addresses: Vec<String> = plan
                .changes
                .iter()
                .filter(|c| Group::of(c.action()) == Some(group))
                .map(|c| c.address().to_string())
                .collect();
            addresses.sort();
            (!addresses.is_empty()).then_some((group, addresses))
        })
        .collect()
}

/// `Plan: X to add, Y to change, Z to destroy.`, with Terraform's `N to import, ` first when
/// the plan imports any.
pub(crate) fn plan_line(counts: Counts) -> String {
    let imports = match counts.import {
        0 => String::new(),
        n => format!("{n} to import, "),
    };
    format!(
        "Plan: {imports}{} to add, {} to change, {} to destroy.",
        counts.add, counts.change, counts.destroy
    )
}
