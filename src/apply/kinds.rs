//! Apply's one seam to the kinds (design.md section 11): one step of any instance's change and
//! any object's drift accepted into the state, each handed to its kind's protocol (`change.rs`
//! for images, `replicas.rs` for replicas). The walk, the journal, the semaphore and the report
//! are shared and know no kind; adding a kind adds one arm to each function here.

use std::sync::Arc;

use super::{ApplyError, Ctx, Outcome, change, replicas};
use crate::cloud::CloudApi;
use crate::plan::{Change, Drift, Plan, Step};
use crate::state::Edit;

/// The apply protocol of each kind: one step of one change.
pub(crate) async fn run_step<C: CloudApi + 'static>(
    ctx: &Arc<Ctx<C>>,
    change: &Change,
    step: Step,
) -> Result<Outcome, ApplyError> {
    match change {
        Change::Image(image) => change::run(ctx, image).await,
        Change::Replica(replica) => replicas::run(ctx, replica, step).await,
    }
}

/// Accepts one object's drift into the state being edited.
fn accept_drift(state: &mut Edit<'_>, drift: Drift) {
    match drift {
        Drift::Image(seen) => change::accept_drift(state, seen),
        Drift::Replica(seen) => replicas::accept_drift(state, seen),
    }
}

/// Renames the moved addresses and accepts the drift, in one save.
pub(crate) async fn accept_moves_and_drift<C>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
) -> Result<(), ApplyError> {
    if plan.moves.is_empty() && plan.drift.is_empty() {
        return Ok(());
    }
    let (moves, drift) = (plan.moves.clone(), plan.drift.clone());
    ctx.state
        .edit(move |state| {
            for moved in moves {
                if let Some(record) = state.remove_image(&moved.from) {
                    state.insert_image(moved.to.clone(), record);
                }
                for entry in state
                    .pending_mut()
                    .iter_mut()
                    .filter(|e| e.address == moved.from)
                {
                    entry.address = moved.to.clone();
                }
            }
            for seen in drift {
                accept_drift(state, seen);
            }
        })
        .await
}
