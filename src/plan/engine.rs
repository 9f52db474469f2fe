//! The diff engine: for each address of the manifests and the state, the action that brings the
//! cloud to the manifests, and the problems that forbid the plan. Pure and deterministic: the
//! same inputs give the same plan, ordered by address.
//!
//! Create-time fields (image_url, os_version, disk_format, min_disk, protected) are compared with
//! the state's record of what was applied, never with what the cloud reports (it rewrites
//! disk_format). In-place fields are compared with the refreshed values.

use std::collections::{BTreeMap, BTreeSet};

use super::drift::{detect, diff_attrs, is_gone, refreshed};
use super::error::{PlanError, Problem};
use super::image::{ImageChange, ImageDrift};
use super::instance::{Change, Drift, Plan, Recovery};
use super::model::{Action, NameCollision, PlanMode, PlanOptions, Reason, StateRef};
use super::prior;
use super::recovery::recover;
use super::refresh::RemoteView;
use super::replicas;
use super::select::{Selection, apply_moves};
use super::untracked;
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::{Address, Field, ImageAttrs, ImageSpec, Manifests};
use crate::state::{ImageRecord, State};

/// Plans the changes that bring the cloud to `desired`. `remote: None` trusts the state
/// (`--refresh=false`).
pub fn plan(
    desired: &Manifests,
    state: Option<&State>,
    remote: Option<&RemoteView>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    plan_with_projects(desired, state, remote, options, &|region| region.to_owned())
}

/// [`plan`], with the project name replicas of each region go to (`[cloud.regions]`).
pub fn plan_with_projects(
    desired: &Manifests,
    state: Option<&State>,
    remote: Option<&RemoteView>,
    options: &PlanOptions,
    project_of: &dyn Fn(&str) -> String,
) -> Result<Plan, PlanError> {
    let selection = Selection::new(options)?;
    let mut records = state.map(|s| s.images.clone()).unwrap_or_default();
    let pending = state.map_or(&[][..], |s| s.pending.as_slice());
    let recovery = recover(pending, remote, &mut records);
    let replica_recovery = replicas::recover(pending, remote, &mut records);
    let moves =
        apply_moves(desired, &mut records).map_err(|problems| PlanError::Refused { problems })?;
    let moved_from: BTreeMap<&Address, &Address> = moves.iter().map(|m| (&m.to, &m.from)).collect();
    let untracked = untracked::decide(desired, remote, &mut records, &selection, options);
    let addresses: BTreeSet<&Address> = desired.images.keys().chain(records.keys()).collect();
    selection.check_matches(&addresses, &options.replace)?;
    let mode = options.mode();
    let mut changes = Vec::new();
    let mut drift = Vec::new();
    let (mut replica_changes, mut replica_drift) = (Vec::new(), Vec::new());
    let mut problems = Vec::new();
    for address in addresses.into_iter().filter(|a| selection.includes(a)) {
        let spec = desired.images.get(address);
        let record = records.get(address);
        let seen = remote.map(|view| record.and_then(|r| view.image(&r.id)));
        drift.extend(drift_of(address, spec, record, seen));
        if mode == PlanMode::RefreshOnly {
            let input = replica_input(address, spec, record, None, remote, mode, project_of);
            replica_drift.extend(replicas::diff(&input).1);
            continue;
        }
        let input = Input {
            address,
            spec,
            record,
            seen,
            mode,
            replace: options.replace.contains(address),
        };
        let change = diff_one(&input, &mut problems).map(|mut change| {
            change.moved_from = moved_from.get(address).map(|a| (*a).clone());
            change
        });
        let input = replica_input(
            address,
            spec,
            record,
            change.as_ref(),
            remote,
            mode,
            project_of,
        );
        let (replicas, seen) = replicas::diff(&input);
        replica_changes.extend(replicas);
        replica_drift.extend(seen);
        changes.extend(change);
    }
    if !problems.is_empty() {
        return Err(PlanError::Refused { problems });
    }
    let name_collisions = remote.map_or_else(Vec::new, |view| name_collisions(&changes, view));
    // Every image sorts before every replica (`InstanceAddress`'s order), and each list is
    // already in address order.
    let prior_instances = match state {
        Some(_) => prior::instances(&records, desired, remote, project_of),
        None => Vec::new(),
    };
    let changes = changes.into_iter().map(Change::Image);
    let changes = changes.chain(replica_changes.into_iter().map(Change::Replica));
    let drift = drift.into_iter().map(Drift::Image);
    let drift = drift.chain(replica_drift.into_iter().map(Drift::Replica));
    let recovery = recovery.into_iter().map(Recovery::Image);
    let recovery = recovery.chain(replica_recovery.into_iter().map(Recovery::Replica));
    Ok(Plan {
        mode,
        prior_state: state.map(|s| StateRef {
            lineage: s.lineage.clone(),
            serial: s.serial,
        }),
        refreshed: remote.is_some(),
        changes: changes.collect(),
        drift: drift.collect(),
        recovery: recovery.collect(),
        moves,
        targeting: options.targeting(),
        name_collisions,
        timestamp: None,
        untracked,
        region: None,
        prior_instances,
        configuration: prior::configuration(desired),
    })
}

fn replica_input<'a>(
    address: &'a Address,
    spec: Option<&'a ImageSpec>,
    record: Option<&'a ImageRecord>,
    source: Option<&'a ImageChange>,
    remote: Option<&'a RemoteView>,
    mode: PlanMode,
    project_of: &'a dyn Fn(&str) -> String,
) -> replicas::ReplicaInput<'a> {
    replicas::ReplicaInput {
        address,
        spec,
        record,
        source,
        remote,
        mode,
        project_of,
    }
}

/// What changed outside imsform for a managed image that refresh looked for.
fn drift_of(
    address: &Address,
    spec: Option<&ImageSpec>,
    record: Option<&ImageRecord>,
    seen: Option<Option<&RemoteImage>>,
) -> Option<ImageDrift> {
    let (record, seen) = (record?, seen?);
    let empty = BTreeSet::new();
    let ignore = spec.map_or(&empty, |s| &s.lifecycle.ignore_changes);
    detect(address, record, seen, ignore)
}

/// The plain creates whose name an image outside the state already has. Replacements are left
/// out: their new image takes the name of the one it replaces on purpose.
fn name_collisions(changes: &[ImageChange], view: &RemoteView) -> Vec<NameCollision> {
    changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .filter_map(|change| {
            let name = &change.after.as_ref()?.name;
            let ids = view.unmanaged_names.get(name)?;
            Some(NameCollision {
                address: change.address.clone(),
                name: name.clone(),
                image_ids: ids.clone(),
            })
        })
        .collect()
}

/// Everything known about one address.
struct Input<'a> {
    address: &'a Address,
    spec: Option<&'a ImageSpec>,
    record: Option<&'a ImageRecord>,
    /// `None`: no refresh; `Some(None)`: refresh did not find the image.
    seen: Option<Option<&'a RemoteImage>>,
    mode: PlanMode,
    replace: bool,
}

/// The change for one address, `None` when there is nothing to say about it (an image gone from
/// both the manifests and the cloud: drift records that).
fn diff_one(input: &Input<'_>, problems: &mut Vec<Problem>) -> Option<ImageChange> {
    let gone = input.seen.is_some_and(is_gone);
    let change = match (input.spec, input.record) {
        (None, None) => return None,
        (_, Some(_)) if gone && (input.spec.is_none() || input.mode == PlanMode::Destroy) => {
            return None;
        }
        (None, Some(record)) => delete(input, record, Reason::DeleteBecauseNoResourceConfig),
        (Some(_), None) if input.mode == PlanMode::Destroy => return None,
        (Some(spec), None) => create(input.address, spec, None),
        (Some(spec), Some(_)) if gone => create(
            input.address,
            spec,
            Some(Reason::RecreateBecauseDeletedOutside),
        ),
        (Some(_), Some(record)) if input.mode == PlanMode::Destroy => {
            delete(input, record, Reason::DeleteByRequest)
        }
        (Some(spec), Some(record)) => update_or_replace(input, spec, record, problems),
    };
    refuse_deletion(input, &change, problems);
    Some(change)
}

/// Records why a plan that deletes or replaces an image must not be made: the manifest's
/// `prevent_destroy`, or an image IMS itself refuses to delete (protected).
fn refuse_deletion(input: &Input<'_>, change: &ImageChange, problems: &mut Vec<Problem>) {
    let destructive = matches!(change.action, Action::Delete | Action::Replace { .. });
    let (true, Some(reason), Some(record)) = (destructive, change.reason, input.record) else {
        return;
    };
    let address = || input.address.clone();
    let replace = change.action != Action::Delete;
    if input.spec.is_some_and(|s| s.lifecycle.prevent_destroy) {
        let address = address();
        problems.push(Problem::PreventDestroy {
            address,
            replace,
            reason,
        });
    }
    // The cloud's word when refreshed: unprotecting by hand is the documented way out.
    let protected = match input.seen.flatten() {
        Some(image) => image.protected,
        None => record.attributes.protected,
    };
    if protected {
        let address = address();
        problems.push(Problem::ProtectedImage {
            address,
            replace,
            reason,
        });
    }
}

fn create(address: &Address, spec: &ImageSpec, reason: Option<Reason>) -> ImageChange {
    ImageChange {
        address: address.clone(),
        action: Action::Create,
        reason,
        prior_id: None,
        prior_status: None,
        before: None,
        after: Some(spec.attrs.clone()),
        field_changes: Vec::new(),
        moved_from: None,
        taint: None,
        member_status: BTreeMap::new(),
        importing: None,
    }
}

/// Each member's status as refresh read it.
fn member_status(seen: Option<&RemoteImage>) -> BTreeMap<String, String> {
    let members = seen.and_then(|image| image.members.as_ref());
    members.map_or_else(BTreeMap::new, |members| {
        members
            .iter()
            .map(|(project, status)| (project.clone(), status.as_str().to_owned()))
            .collect()
    })
}

fn delete(input: &Input<'_>, record: &ImageRecord, reason: Reason) -> ImageChange {
    ImageChange {
        address: input.address.clone(),
        action: Action::Delete,
        reason: Some(reason),
        prior_id: Some(record.id.clone()),
        prior_status: status(input, record),
        before: Some(current(input, record)),
        after: None,
        field_changes: Vec::new(),
        moved_from: None,
        taint: None,
        member_status: BTreeMap::new(),
        importing: None,
    }
}

/// The image's status: as refreshed, else as last observed.
fn status(input: &Input<'_>, record: &ImageRecord) -> Option<String> {
    match input.seen.flatten() {
        Some(image) => Some(image.status.as_str().to_owned()),
        None => record.observed.as_ref().map(|o| o.status.clone()),
    }
}

/// The record with the refreshed values of the fields that can drift (and are not ignored).
fn current(input: &Input<'_>, record: &ImageRecord) -> ImageAttrs {
    let empty = BTreeSet::new();
    let ignore = input.spec.map_or(&empty, |s| &s.lifecycle.ignore_changes);
    match input.seen.flatten() {
        Some(image) => refreshed(&record.attributes, image, ignore),
        None => record.attributes.clone(),
    }
}

fn update_or_replace(
    input: &Input<'_>,
    spec: &ImageSpec,
    record: &ImageRecord,
    problems: &mut Vec<Problem>,
) -> ImageChange {
    let before = current(input, record);
    let ignore = &spec.lifecycle.ignore_changes;
    let mut kept = spec.attrs.clone();
    keep_ignored(&mut kept, &before, ignore);
    let forced = diff_attrs(&before, &kept, Field::ALL.into_iter())
        .iter()
        .any(|c| c.forces_replacement);
    let killed = match input.seen.flatten() {
        Some(image) => image.status == ImageStatus::Killed,
        None => record
            .observed
            .as_ref()
            .is_some_and(|o| o.status == "killed"),
    };
    let reason = if input.replace {
        Some(Reason::ReplaceByRequest)
    } else if record.tainted.is_some() {
        Some(Reason::ReplaceBecauseTainted)
    } else if killed {
        Some(Reason::ReplaceBecauseKilled)
    } else if forced {
        Some(Reason::ReplaceBecauseCannotUpdate)
    } else {
        None
    };
    // A replacement is a new creation: it takes every manifest value, ignored or not.
    let after = if reason.is_some() {
        spec.attrs.clone()
    } else {
        kept
    };
    let field_changes = diff_attrs(&before, &after, Field::ALL.into_iter());
    let action = match reason {
        Some(_) => Action::Replace {
            order: spec.lifecycle.replace_order,
        },
        None if field_changes.is_empty() => Action::NoOp,
        None => Action::Update,
    };
    if reason.is_none() && before.protected != after.protected {
        problems.push(Problem::ProtectedChange {
            address: input.address.clone(),
            before: before.protected,
            after: after.protected,
        });
    }
    ImageChange {
        address: input.address.clone(),
        action,
        reason,
        prior_id: Some(record.id.clone()),
        prior_status: status(input, record),
        before: Some(before),
        after: Some(after),
        field_changes,
        moved_from: None,
        taint: record
            .tainted
            .clone()
            .filter(|_| reason == Some(Reason::ReplaceBecauseTainted)),
        member_status: member_status(input.seen.flatten()),
        importing: None,
    }
}

/// Sets the ignored fields of `desired` to their current values.
fn keep_ignored(desired: &mut ImageAttrs, current: &ImageAttrs, ignore: &BTreeSet<Field>) {
    for field in ignore {
        match field {
            Field::Name => desired.name.clone_from(&current.name),
            Field::ImageUrl => desired.image_url.clone_from(&current.image_url),
            Field::OsVersion => desired.os_version.clone_from(&current.os_version),
            Field::DiskFormat => desired.disk_format = current.disk_format,
            Field::MinDisk => desired.min_disk = current.min_disk,
            Field::MinRam => desired.min_ram = current.min_ram,
            Field::Description => desired.description.clone_from(&current.description),
            Field::Tags => desired.tags.clone_from(&current.tags),
            Field::Protected => desired.protected = current.protected,
            Field::ShareWith => desired.share_with.clone_from(&current.share_with),
        }
    }
}
