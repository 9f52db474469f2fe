//! Carrying out what the plan decided for untracked images (design.md section 6): the adopted
//! ones are recorded at their addresses in one save, before any change runs (the changes of
//! those addresses start from them); the ones to delete are deleted and waited for until gone.
//! A delete needs no journal entry: if the run stops, the image still carries this lineage's
//! token and the next refresh finds it again. Copies found in replica regions are deleted
//! there. Must not decide anything: the plan did.

use std::sync::Arc;

use super::delete::{self, Gone};
use super::replica_steps;
use super::{ApplyError, Ctx, Report};
use crate::cloud::CloudApi;
use crate::plan::{Plan, UntrackedAction};

/// Adopts, then deletes, the plan's untracked images.
pub(crate) async fn run<C: CloudApi>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
    report: &mut Report,
) -> Result<(), ApplyError> {
    let adopted: Vec<_> = plan
        .untracked
        .iter()
        .filter_map(|u| match &u.action {
            UntrackedAction::Adopt { address, record } => {
                Some((address.clone(), (**record).clone()))
            }
            _ => None,
        })
        .collect();
    if !adopted.is_empty() {
        ctx.state
            .edit(move |state| {
                for (address, record) in adopted {
                    // The plan was made from this state: the address has no image.
                    if !state.state().images.contains_key(&address) {
                        state.insert_image(address, record);
                    }
                }
            })
            .await?;
    }
    for untracked in &plan.untracked {
        if untracked.action != UntrackedAction::Delete {
            continue;
        }
        let id = &untracked.image_id;
        if let Some(region) = &untracked.region {
            match replica_steps::delete_copy(ctx, region, id).await {
                Ok(()) => report.destroyed += 1,
                Err(why) => report.untracked_failures.push((id.clone(), why)),
            }
            continue;
        }
        match delete::delete_and_wait(ctx, None, id).await {
            Gone::Deleted => report.destroyed += 1,
            Gone::Refused(why) | Gone::Failed(why) => {
                report.untracked_failures.push((id.clone(), why));
            }
            Gone::Stopped(why) => {
                report.interrupted = true;
                report.untracked_failures.push((id.clone(), why));
            }
        }
    }
    Ok(())
}
