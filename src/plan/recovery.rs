//! What the recovery of the pending journal (design.md section 6) will do, and the state it will
//! leave: the engine diffs the manifests against the records as they will be after recovery.
//! Pure; the executor carries the [`ImageRecovery`] list out.
//!
//! Without a refresh nothing can be known about entries without an image id
//! ([`RecoveryAction::LookUp`]); the state is left as it is for them, so the executor must treat
//! a plan as stale when the lookup then adopts an image at an address the plan creates.

use std::collections::{BTreeMap, BTreeSet};

use super::drift::observed;
use super::image::{ImageRecovery, RecoveryAction};
use super::model::Counts;
use super::refresh::RemoteView;
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::{Address, ImageAttrs};
use crate::state::{ImageRecord, PendingEntry, PendingOperation, Taint};

/// Plans the recovery of every entry and updates `records` to what recovery leaves.
pub(crate) fn recover(
    pending: &[PendingEntry],
    remote: Option<&RemoteView>,
    records: &mut BTreeMap<Address, ImageRecord>,
) -> Vec<ImageRecovery> {
    pending
        .iter()
        .filter_map(|entry| {
            let action = match &entry.operation {
                PendingOperation::Create {
                    token,
                    attributes,
                    image_id,
                    replaces,
                    ..
                } => {
                    let created = Created {
                        address: &entry.address,
                        attributes,
                        replaces: replaces.is_some(),
                    };
                    recover_create(&created, token, image_id.as_deref(), remote, records)
                }
                PendingOperation::Delete { image_id } => recover_delete(image_id, remote),
                PendingOperation::Members { image_id, .. } => {
                    recover_members(&entry.address, image_id, remote, records)
                }
                // Replica entries: `Plan::replica_recovery` (`replicas.rs`).
                PendingOperation::Copy { .. } | PendingOperation::DeleteReplica { .. } => {
                    return None;
                }
            };
            Some(ImageRecovery {
                address: entry.address.clone(),
                operation: entry.operation.clone(),
                action,
            })
        })
        .collect()
}

/// The parts of a pending create that decide what recovery leaves at its address.
struct Created<'a> {
    address: &'a Address,
    attributes: &'a ImageAttrs,
    replaces: bool,
}

fn recover_create(
    created: &Created<'_>,
    token: &str,
    image_id: Option<&str>,
    remote: Option<&RemoteView>,
    records: &mut BTreeMap<Address, ImageRecord>,
) -> RecoveryAction {
    let Some(view) = remote else {
        if let Some(id) = image_id {
            // Trusting the state: assume the create will complete.
            records.insert(created.address.clone(), record(created, id, None, None));
        }
        return RecoveryAction::LookUp;
    };
    if let Some(id) = image_id {
        return by_status(created, id, view.image(id), records);
    }
    match view.by_token.get(token).map(Vec::as_slice) {
        None | Some([]) => RecoveryAction::Drop,
        Some([image]) => RecoveryAction::Adopt {
            image_id: image.id.clone(),
            then: Box::new(by_status(created, &image.id, Some(image), records)),
        },
        Some(images) => RecoveryAction::Ambiguous {
            image_ids: images.iter().map(|i| i.id.clone()).collect(),
        },
    }
}

/// Resumes from the image's real status.
fn by_status(
    created: &Created<'_>,
    id: &str,
    image: Option<&RemoteImage>,
    records: &mut BTreeMap<Address, ImageRecord>,
) -> RecoveryAction {
    let image_id = id.to_owned();
    let Some(image) = image.filter(|i| i.status != ImageStatus::Deleted) else {
        return RecoveryAction::Vanished { image_id };
    };
    let action = match image.status {
        ImageStatus::Queued => RecoveryAction::ResumeRegister { image_id },
        ImageStatus::Killed if created.replaces => {
            return RecoveryAction::DiscardFailedReplacement { image_id };
        }
        ImageStatus::Killed => {
            let taint = Taint {
                code: None,
                reason: "the image was killed while an interrupted run registered it".into(),
            };
            records.insert(
                created.address.clone(),
                record(created, id, Some(image), Some(taint)),
            );
            return RecoveryAction::Taint { image_id };
        }
        ImageStatus::Active => RecoveryAction::Done { image_id },
        _ => RecoveryAction::Wait { image_id },
    };
    records.insert(
        created.address.clone(),
        record(created, id, Some(image), None),
    );
    action
}

fn record(
    created: &Created<'_>,
    id: &str,
    image: Option<&RemoteImage>,
    tainted: Option<Taint>,
) -> ImageRecord {
    ImageRecord {
        id: id.to_owned(),
        attributes: created.attributes.clone(),
        observed: image.map(observed),
        tainted,
        replicas: std::collections::BTreeMap::new(),
    }
}

/// An interrupted sharing change: the members refresh read are what the image has; the record
/// takes them, so the plan diffs the manifests against the truth and shows no drift for
/// imsform's own change.
fn recover_members(
    address: &Address,
    image_id: &str,
    remote: Option<&RemoteView>,
    records: &mut BTreeMap<Address, ImageRecord>,
) -> RecoveryAction {
    let members = remote
        .and_then(|view| view.image(image_id))
        .and_then(|image| image.members.as_ref())
        .map(|members| members.keys().cloned().collect::<BTreeSet<String>>());
    if let (Some(members), Some(record)) = (&members, records.get_mut(address))
        && record.id == image_id
    {
        record.attributes.share_with.clone_from(members);
    }
    RecoveryAction::Replan {
        image_id: image_id.to_owned(),
        members,
    }
}

fn recover_delete(image_id: &str, remote: Option<&RemoteView>) -> RecoveryAction {
    let image_id = image_id.to_owned();
    match remote {
        Some(view)
            if view
                .image(&image_id)
                .is_none_or(|i| i.status == ImageStatus::Deleted) =>
        {
            RecoveryAction::AlreadyDeleted { image_id }
        }
        _ => RecoveryAction::Delete { image_id },
    }
}

impl ImageRecovery {
    /// The images this recovery finishes creating (`add`) and deletes (`destroy`), as the
    /// `Plan:` line and the apply's closing line count them. A create that completes counts
    /// as added, and its replaced image, deleted in the same run, as destroyed; a delete, or
    /// a killed replacement discarded, counts as destroyed. Without a refresh, a create that
    /// has an image id is assumed to complete (as the plan assumes for its record); one
    /// without is the plan's own create.
    pub fn counts(&self) -> Counts {
        let action = match &self.action {
            RecoveryAction::Adopt { then, .. } => then.as_ref(),
            action => action,
        };
        let none = Counts::default();
        let destroy_one = Counts { destroy: 1, ..none };
        match (&self.operation, action) {
            (
                PendingOperation::Delete { .. },
                RecoveryAction::Delete { .. } | RecoveryAction::LookUp,
            ) => destroy_one,
            (PendingOperation::Create { .. }, RecoveryAction::DiscardFailedReplacement { .. }) => {
                destroy_one
            }
            (
                PendingOperation::Create {
                    image_id, replaces, ..
                },
                action,
            ) if completes(action, image_id.is_some()) => Counts {
                import: 0,
                add: 1,
                change: 0,
                destroy: usize::from(replaces.is_some()),
            },
            _ => none,
        }
    }
}

/// Whether recovering a create with `action` leaves the image recorded at its address.
fn completes(action: &RecoveryAction, has_id: bool) -> bool {
    match action {
        RecoveryAction::ResumeRegister { .. }
        | RecoveryAction::Wait { .. }
        | RecoveryAction::Done { .. } => true,
        RecoveryAction::LookUp => has_id,
        _ => false,
    }
}
