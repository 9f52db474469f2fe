//! The replica diff (design.md section 10): for one image address, each replica's change and
//! drift, and the recovery of the journal's copies and replica deletes. Pure.
//!
//! - A replica in the manifests and not in the state is created; in the state and not in the
//!   manifests (or its source destroyed) it is deleted.
//! - It is replaced (in its source's `replace_order`) when its source is replaced or
//!   re-created, when its recorded `source_id` is not its source's current id, or when its
//!   project changes; otherwise its name and description are updated in place.
//! - A copy deleted outside imsform is drift and created again; a name or description changed
//!   outside is drift and repaired.
//! - A journaled copy is found by its id, else by `__data_origin` = `image,<source region>,
//!   <source id>`, its name and a creation time not before `sent_at` less [`COPY_SKEW`],
//!   among the images no replica record owns: one is adopted, none means the copy was not
//!   taken, several: the oldest is adopted and the others reported.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::drift::is_gone;
use super::image::ImageChange;
use super::model::{Action, FieldChange, PlanMode, Reason};
use super::refresh::RemoteView;
use super::replica::{
    ReplicaAttrs, ReplicaChange, ReplicaDrift, ReplicaRecovery, ReplicaRecoveryAction,
};
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::{Address, Field, ImageSpec, ReplaceOrder};
use crate::state::{ImageRecord, Observed, PendingEntry, PendingOperation, ReplicaRecord};

/// How much earlier than the journal's `sent_at` a lost copy's image may say it was created
/// (clocks of this host and of IMS differ).
pub const COPY_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Everything known about one image address's replicas.
pub(super) struct ReplicaInput<'a> {
    pub address: &'a Address,
    pub spec: Option<&'a ImageSpec>,
    pub record: Option<&'a ImageRecord>,
    /// The image's own change in this plan.
    pub source: Option<&'a ImageChange>,
    pub remote: Option<&'a RemoteView>,
    pub mode: PlanMode,
    /// The project name replicas of each region go to.
    pub project_of: &'a dyn Fn(&str) -> String,
}

/// The replica changes and drift of one image address.
pub(super) fn diff(input: &ReplicaInput<'_>) -> (Vec<ReplicaChange>, Vec<ReplicaDrift>) {
    let recorded = input.record.map(|r| &r.replicas);
    let wanted = input.spec.map(|s| &s.replicas);
    let regions: BTreeSet<&String> = recorded
        .into_iter()
        .flat_map(BTreeMap::keys)
        .chain(wanted.into_iter().flat_map(BTreeMap::keys))
        .collect();
    let mut changes = Vec::new();
    let mut drift = Vec::new();
    for region in regions {
        let record = recorded.and_then(|r| r.get(region));
        let seen = record.and_then(|r| Some(input.remote?.replica(region, &r.id)));
        if let (Some(record), Some(seen)) = (record, seen) {
            drift.extend(detect(input, region, record, seen));
        }
        if input.mode == PlanMode::RefreshOnly {
            continue;
        }
        if let Some(change) = diff_one(input, region, record, seen) {
            changes.push(change);
        }
    }
    (changes, drift)
}

/// The record's attributes, as last applied.
fn recorded_attrs(
    record: &ReplicaRecord,
    region: &str,
    project_of: &dyn Fn(&str) -> String,
) -> ReplicaAttrs {
    ReplicaAttrs {
        name: record.name.clone(),
        description: record.description.clone(),
        project: record.project.clone().unwrap_or_else(|| project_of(region)),
        source_id: Some(record.source_id.clone()),
    }
}

/// The record's attributes with the refreshed name and description.
pub(super) fn current(
    record: &ReplicaRecord,
    region: &str,
    project_of: &dyn Fn(&str) -> String,
    seen: Option<Option<&RemoteImage>>,
) -> ReplicaAttrs {
    let mut attrs = recorded_attrs(record, region, project_of);
    if let Some(Some(image)) = seen {
        attrs.name.clone_from(&image.name);
        attrs.description.clone_from(&image.description);
    }
    attrs
}

fn detect(
    input: &ReplicaInput<'_>,
    region: &str,
    record: &ReplicaRecord,
    seen: Option<&RemoteImage>,
) -> Option<ReplicaDrift> {
    let before = recorded_attrs(record, region, input.project_of);
    let base = ReplicaDrift {
        image: input.address.clone(),
        region: region.to_owned(),
        image_id: record.id.clone(),
        before: before.clone(),
        after: None,
        field_changes: Vec::new(),
    };
    if is_gone(seen) {
        return Some(base);
    }
    let image = seen?;
    let after = ReplicaAttrs {
        name: image.name.clone(),
        description: image.description.clone(),
        ..before.clone()
    };
    let field_changes = field_changes(&before, &after);
    if field_changes.is_empty() {
        return None;
    }
    Some(ReplicaDrift {
        after: Some(after),
        field_changes,
        ..base
    })
}

/// `name` and `description` where they differ.
fn field_changes(before: &ReplicaAttrs, after: &ReplicaAttrs) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    if before.name != after.name {
        changes.push(FieldChange {
            field: Field::Name,
            before: before.name.clone().into(),
            after: after.name.clone().into(),
            forces_replacement: false,
            tags: Vec::new(),
        });
    }
    if before.description != after.description {
        changes.push(FieldChange {
            field: Field::Description,
            before: before.description.clone().into(),
            after: after.description.clone().into(),
            forces_replacement: false,
            tags: Vec::new(),
        });
    }
    changes
}

/// What the replica should be, when the manifests keep it and its source stays.
fn desired(input: &ReplicaInput<'_>, region: &str) -> Option<ReplicaAttrs> {
    let spec = input.spec?;
    let source = input.source;
    if input.mode == PlanMode::Destroy || source.is_some_and(|c| c.action == Action::Delete) {
        return None;
    }
    let (name, description) = spec.replica_attrs(region)?;
    let new_source =
        source.is_some_and(|c| matches!(c.action, Action::Create | Action::Replace { .. }));
    Some(ReplicaAttrs {
        name,
        description,
        project: (input.project_of)(region),
        source_id: if new_source {
            None
        } else {
            input.record.map(|r| r.id.clone())
        },
    })
}

fn diff_one(
    input: &ReplicaInput<'_>,
    region: &str,
    record: Option<&ReplicaRecord>,
    seen: Option<Option<&RemoteImage>>,
) -> Option<ReplicaChange> {
    let gone = seen.is_some_and(is_gone);
    let after = desired(input, region);
    let change = |action, reason, before: Option<ReplicaAttrs>, after: Option<ReplicaAttrs>| {
        let field_changes = match (&before, &after, action) {
            (Some(b), Some(a), Action::Update) => field_changes(b, a),
            _ => Vec::new(),
        };
        Some(ReplicaChange {
            image: input.address.clone(),
            region: region.to_owned(),
            action,
            reason,
            prior_id: record.map(|r| r.id.clone()),
            before,
            after,
            field_changes,
        })
    };
    let Some(record) = record else {
        return change(Action::Create, None, None, Some(after?));
    };
    if gone {
        let reason = Some(Reason::RecreateBecauseDeletedOutside);
        let mut created = change(Action::Create, reason, None, Some(after?))?;
        created.prior_id = None;
        return Some(created);
    }
    let before = current(record, region, input.project_of, seen);
    let Some(after) = after else {
        let reason = if input.mode == PlanMode::Destroy {
            Reason::DeleteByRequest
        } else {
            Reason::DeleteBecauseNoResourceConfig
        };
        return change(Action::Delete, Some(reason), Some(before), None);
    };
    let order = input.spec.map_or(ReplaceOrder::CreateBeforeDestroy, |s| {
        s.lifecycle.replace_order
    });
    let replace = if after.source_id.as_ref() != before.source_id.as_ref() {
        Some(Reason::ReplaceBecauseSourceReplaced)
    } else if after.project != before.project {
        Some(Reason::ReplaceBecauseCannotUpdate)
    } else {
        None
    };
    let action = match replace {
        Some(_) => Action::Replace { order },
        None if field_changes(&before, &after).is_empty() => Action::NoOp,
        None => Action::Update,
    };
    change(action, replace, Some(before), Some(after))
}

/// What recovering each journaled replica operation will do; an adopted copy is recorded in
/// `records` so the diff sees it.
pub(super) fn recover(
    pending: &[PendingEntry],
    remote: Option<&RemoteView>,
    records: &mut BTreeMap<Address, ImageRecord>,
) -> Vec<ReplicaRecovery> {
    let mut recoveries = Vec::new();
    for entry in pending {
        let (region, action) = match &entry.operation {
            PendingOperation::Copy { region, .. } => (region, recover_copy(entry, remote, records)),
            PendingOperation::DeleteReplica { region, image_id } => {
                let action = match remote.map(|view| view.replica(region, image_id)) {
                    None => ReplicaRecoveryAction::LookUp,
                    Some(seen) if is_gone(seen) => ReplicaRecoveryAction::Drop,
                    Some(_) => ReplicaRecoveryAction::Delete {
                        image_id: image_id.clone(),
                    },
                };
                (region, action)
            }
            _ => continue,
        };
        recoveries.push(ReplicaRecovery {
            image: entry.address.clone(),
            region: region.clone(),
            operation: entry.operation.clone(),
            action,
        });
    }
    recoveries
}

fn recover_copy(
    entry: &PendingEntry,
    remote: Option<&RemoteView>,
    records: &mut BTreeMap<Address, ImageRecord>,
) -> ReplicaRecoveryAction {
    let PendingOperation::Copy {
        source_id,
        region,
        project,
        name,
        description,
        image_id,
        ..
    } = &entry.operation
    else {
        return ReplicaRecoveryAction::Drop;
    };
    let Some(view) = remote else {
        return ReplicaRecoveryAction::LookUp;
    };
    let found: Vec<&RemoteImage> = match image_id {
        Some(id) => view.replica(region, id).into_iter().collect(),
        None => candidates(&entry.operation, view, records),
    };
    let mut found = found
        .into_iter()
        .filter(|i| i.status != ImageStatus::Deleted);
    let Some(adopted) = found.next() else {
        return ReplicaRecoveryAction::Drop;
    };
    let others = found.map(|i| i.id.clone()).collect();
    if let Some(record) = records.get_mut(&entry.address) {
        let replica = ReplicaRecord {
            id: adopted.id.clone(),
            project: Some(project.clone()),
            name: name.clone(),
            description: description.clone(),
            source_id: source_id.clone(),
            observed: Some(Observed {
                status: adopted.status.as_str().to_owned(),
                checksum: adopted.checksum.clone(),
                size: adopted.size,
                updated_at: adopted.updated_at.clone(),
            }),
        };
        record.replicas.insert(region.clone(), replica);
    }
    ReplicaRecoveryAction::Adopt {
        image_id: adopted.id.clone(),
        others,
    }
}

/// The images of a lost copy's region that may be it, oldest first: copied from its source,
/// of its name, created not before `sent_at` less [`COPY_SKEW`], owned by no replica record.
pub fn candidates<'v>(
    operation: &PendingOperation,
    view: &'v RemoteView,
    records: &BTreeMap<Address, ImageRecord>,
) -> Vec<&'v RemoteImage> {
    let PendingOperation::Copy {
        source_id,
        source_region,
        region,
        name,
        sent_at,
        ..
    } = operation
    else {
        return Vec::new();
    };
    let owned: BTreeSet<&str> = records
        .values()
        .flat_map(|r| r.replicas.values().map(|replica| replica.id.as_str()))
        .collect();
    let not_before = DateTime::parse_from_rfc3339(sent_at)
        .map(|t| t.with_timezone(&Utc) - COPY_SKEW)
        .ok();
    let created = |image: &RemoteImage| {
        image
            .created_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let origin = (source_region.clone(), source_id.clone());
    let mut found: Vec<&RemoteImage> = view
        .regions
        .get(region)
        .into_iter()
        .flat_map(BTreeMap::values)
        .filter(|image| image.copied_from.as_ref() == Some(&origin))
        .filter(|image| image.name == *name && !owned.contains(image.id.as_str()))
        .filter(|image| match (not_before, created(image)) {
            (Some(not_before), Some(at)) => at >= not_before,
            // Without a time to compare, the origin and the name decide.
            _ => true,
        })
        .collect();
    found.sort_by_key(|image| (created(image), image.id.clone()));
    found
}
