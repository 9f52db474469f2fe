//! The sentences that say what the recovery of each pending journal entry, and the plan's
//! handling of each untracked image, will do, shared by the human and markdown renderings.
//! Wording only; the decisions are the plan's.

use crate::plan::{ImageRecovery, RecoveryAction, Untracked, UntrackedAction};
use crate::state::PendingOperation;

/// One sentence saying what recovering a journal entry will do.
pub(crate) fn sentence(recovery: &ImageRecovery) -> String {
    let what = match &recovery.operation {
        PendingOperation::Create { token, .. } => format!("interrupted create (token {token})"),
        PendingOperation::Delete { image_id } => format!("interrupted delete of {image_id}"),
        // Replica entries are the replica kind's (`replica.rs`).
        PendingOperation::Copy { region, .. } => format!("interrupted copy to {region}"),
        PendingOperation::DeleteReplica { region, image_id } => {
            format!("interrupted delete of {image_id} in {region}")
        }
        PendingOperation::Members { image_id, .. } => {
            format!("interrupted sharing change of {image_id}")
        }
    };
    let mut text = format!(
        "{}: {what}: {}",
        recovery.address,
        outcome(&recovery.action)
    );
    if let PendingOperation::Create {
        replaces: Some(old),
        ..
    } = &recovery.operation
        && recovery.counts().add > 0
    {
        text.push_str(&format!("; then delete the replaced image {old}"));
    }
    text
}

fn outcome(action: &RecoveryAction) -> String {
    match action {
        RecoveryAction::LookUp => "not refreshed: its image is looked up when applying".into(),
        RecoveryAction::Adopt { image_id, then } => {
            format!(
                "adopt image {image_id}, found by its token; then {}",
                outcome(then)
            )
        }
        RecoveryAction::Drop => {
            "no image carries its token, so the create never reached IMS: drop the entry".into()
        }
        RecoveryAction::ResumeRegister { image_id } => {
            format!("image {image_id} is queued: register its image file again")
        }
        RecoveryAction::Wait { image_id } => {
            format!("image {image_id} is saving: wait for its registration to finish")
        }
        RecoveryAction::Done { image_id } => {
            format!("image {image_id} is active: record it in the state")
        }
        RecoveryAction::Taint { image_id } => {
            format!("image {image_id} was killed: record it as tainted, to be replaced")
        }
        RecoveryAction::DiscardFailedReplacement { image_id } => {
            format!("replacement image {image_id} was killed: delete it and keep the current image")
        }
        RecoveryAction::Vanished { image_id } => {
            format!("image {image_id} no longer exists: drop the entry")
        }
        RecoveryAction::Delete { image_id } => {
            format!("delete image {image_id} (the old half of a replace)")
        }
        RecoveryAction::AlreadyDeleted { image_id } => {
            format!("image {image_id} is already gone: drop the entry")
        }
        RecoveryAction::Ambiguous { image_ids } => format!(
            "several images carry its token ({}): imsform will not guess; delete the extra \
             images by hand",
            image_ids.join(", ")
        ),
        RecoveryAction::Replan {
            image_id,
            members: Some(members),
        } => format!(
            "image {image_id} is shared with {} project(s) now: record them and drop the entry; \
             this plan finishes the change",
            members.len()
        ),
        RecoveryAction::Replan {
            image_id,
            members: None,
        } => format!(
            "not refreshed: the members of image {image_id} are not known; drop the entry and \
             re-send the change this plan makes"
        ),
    }
}

/// The title and introduction of the untracked images' section.
pub(crate) const UNTRACKED_TITLE: &str = "Untracked images";
pub(crate) const UNTRACKED_INTRO: &str = "These images carry this state's imsform-token tag, but \
    neither the state nor its journal knows them (a create whose answer was lost, or an image \
    forgotten by `state rm`):";

/// One sentence saying what happens to an untracked image.
pub(crate) fn untracked_sentence(untracked: &Untracked) -> String {
    let what = match &untracked.action {
        UntrackedAction::Report {
            matches: Some(address),
        } => format!(
            "left alone; it matches {address}, which has no image: --adopt-untracked adopts it \
             there (instead of creating another), --delete-untracked deletes it"
        ),
        UntrackedAction::Report { matches: None } => {
            "left alone; --delete-untracked deletes it".to_owned()
        }
        UntrackedAction::Adopt { address, .. } => format!("adopt it as {address}"),
        UntrackedAction::Delete => "delete it and wait until it is gone".to_owned(),
    };
    let place = untracked
        .region
        .as_ref()
        .map(|region| format!(" in {region}"))
        .unwrap_or_default();
    format!(
        "image {}{place} \"{}\" ({}, token {}): {what}",
        untracked.image_id, untracked.name, untracked.status, untracked.token
    )
}
