//! The replica kind's blocks in plans (`images.x.replicas["REGION"]`): a change, a drift
//! block, in the layout of the image's (`image.rs`) from the shared attribute lines of
//! `blocks.rs`, and the sentences of the recovery of its journal entries.

use std::collections::BTreeMap;

use super::Group;
use super::blocks::{Line, field_lines, quoted};
use crate::plan::{
    Action, Reason, ReplicaAttrs, ReplicaChange, ReplicaDrift, ReplicaRecovery,
    ReplicaRecoveryAction,
};

/// The attributes of a replica block, in order.
fn attributes(attrs: &ReplicaAttrs, region: &str) -> [(&'static str, String); 5] {
    let source = attrs
        .source_id
        .as_deref()
        .map_or_else(|| "(known after apply)".to_owned(), |id| quoted(Some(id)));
    [
        ("region", quoted(Some(region))),
        ("project", quoted(Some(&attrs.project))),
        ("name", quoted(Some(&attrs.name))),
        ("description", quoted(attrs.description.as_deref())),
        ("source_id", source),
    ]
}

/// Why, in a replica's words where they differ from an image's.
fn explain(reason: Reason) -> &'static str {
    match reason {
        Reason::RecreateBecauseDeletedOutside => "the copy was deleted outside imsform",
        Reason::DeleteBecauseNoResourceConfig => "the replica is no longer in the manifests",
        Reason::DeleteByRequest => "its source is destroyed (--destroy)",
        other => other.explain(),
    }
}

/// The block of one replica change (nothing for a no-op).
pub(crate) fn change(change: &ReplicaChange) -> Vec<Line> {
    let Some(group) = Group::of(change.action) else {
        return Vec::new();
    };
    let address = change.address();
    let verb = match change.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Delete => "will be destroyed",
        _ => "must be replaced",
    };
    let mut lines = vec![Line::raw(format!("  # {address} {verb}"))];
    if let Some(reason) = change
        .reason
        .filter(|r| *r != Reason::ReplaceBecauseCannotUpdate)
    {
        lines.push(Line::raw(format!("  # (because {})", explain(reason))));
    }
    lines.push(Line::at(
        0,
        group.symbol(),
        format!("replica \"{}\" {{", change.region),
    ));
    let id = quoted(change.prior_id.as_deref());
    match (&change.before, &change.after, change.action) {
        (None, Some(after), _) => {
            lines.push(Line::at(
                1,
                "+",
                format!("{:11} = (known after apply)", "id"),
            ));
            for (name, value) in attributes(after, &change.region) {
                lines.push(Line::at(1, "+", format!("{name:11} = {value}")));
            }
        }
        (Some(before), None, _) => {
            lines.push(Line::at(1, "-", format!("{:11} = {id}", "id")));
            for (name, value) in attributes(before, &change.region) {
                lines.push(Line::at(1, "-", format!("{name:11} = {value}")));
            }
        }
        (Some(before), Some(after), Action::Replace { .. }) => {
            lines.push(Line::at(
                1,
                "~",
                format!("{:11} = {id} -> (known after apply)", "id"),
            ));
            let new = attributes(after, &change.region);
            for ((name, old), (_, value)) in attributes(before, &change.region).into_iter().zip(new)
            {
                if old == value {
                    lines.push(Line::at(1, "", format!("{name:11} = {value}")));
                } else {
                    let forces = if name == "source_id" || name == "project" {
                        " # forces replacement"
                    } else {
                        ""
                    };
                    lines.push(Line::at(
                        1,
                        "~",
                        format!("{name:11} = {old} -> {value}{forces}"),
                    ));
                }
            }
        }
        _ => {
            lines.push(Line::at(1, "", format!("{:11} = {id}", "id")));
            field_lines(&mut lines, &change.field_changes, 11, &BTreeMap::new());
        }
    }
    lines.push(Line::at(0, "", "}"));
    lines
}

/// The block of one replica changed outside imsform.
pub(crate) fn drift(drift: &ReplicaDrift) -> Vec<Line> {
    let address = drift.address();
    let id = quoted(Some(&drift.image_id));
    let header = format!("replica \"{}\" {{", drift.region);
    let mut lines = if drift.after.is_none() {
        vec![
            Line::raw(format!("  # {address} has been deleted")),
            Line::at(0, "-", header),
            Line::at(1, "-", format!("{:4} = {id}", "id")),
            Line::at(
                1,
                "-",
                format!("name = {}", quoted(Some(&drift.before.name))),
            ),
        ]
    } else {
        let mut lines = vec![
            Line::raw(format!("  # {address} has changed")),
            Line::at(0, "~", header),
            Line::at(1, "", format!("{:11} = {id}", "id")),
        ];
        field_lines(&mut lines, &drift.field_changes, 11, &BTreeMap::new());
        lines
    };
    lines.push(Line::at(0, "", "}"));
    lines
}

/// One sentence saying what recovering a journaled replica operation will do.
pub(crate) fn sentence(recovery: &ReplicaRecovery) -> String {
    let what = match &recovery.action {
        ReplicaRecoveryAction::Adopt { image_id, others } if others.is_empty() => {
            format!("interrupted copy: adopt image {image_id}, the copy it made")
        }
        ReplicaRecoveryAction::Adopt { image_id, others } => format!(
            "interrupted copy: adopt image {image_id}, the oldest of the copies found; {} \
             matched too and are not tracked (delete them by hand)",
            others.join(", ")
        ),
        ReplicaRecoveryAction::Drop => {
            "interrupted copy: no copy was found, so the request was not taken: drop the entry"
                .to_owned()
        }
        ReplicaRecoveryAction::Delete { image_id } => {
            format!("interrupted delete: delete image {image_id}")
        }
        ReplicaRecoveryAction::LookUp => {
            "not refreshed: the copy is looked up when applying".to_owned()
        }
    };
    format!("{}: {what}", recovery.address())
}
