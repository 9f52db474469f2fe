//! Walking the plan's dependency graph ([`crate::plan::Graph`]): every step of every instance's
//! change, at most `parallelism` at once, each started once the steps before it have finished.
//! The kinds' own steps are behind one seam (`kinds.rs`); the journal, the semaphore, the
//! interrupts and the report are shared by all of them.
//!
//! - A step whose predecessor failed or was stopped does not start: a replica whose image
//!   failed is left alone, and an image whose copies could not be deleted is not destroyed.
//! - A no-op finishes at once; a create the recovery already made exactly
//!   ([`Recovered::fulfils`]) counts as done; an image whose recovery did not end as planned
//!   ([`Recovered::invalidates`]) fails with the reason and its dependents do not start.
//! - On an interrupt no new step starts; the steps never started are listed (at their image's
//!   address) unless the report already names that address.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::kinds::run_step;
use super::recover::Recovered;
use super::{ApplyError, Ctx, Outcome, Report, add};
use crate::cloud::CloudApi;
use crate::manifest::model::Address;
use crate::plan::{Action, Change, Graph, Plan};

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Waiting,
    Running,
    Done,
    /// Failed, stopped, or not started because a step before it did not finish.
    Blocked,
}

/// Runs every step of `plan`'s graph.
pub(crate) async fn walk<C: CloudApi + 'static>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
    recovered: &Recovered,
    report: &mut Report,
) -> Result<(), ApplyError> {
    let graph = Graph::of(plan);
    let mut waiting_on: Vec<usize> = graph.predecessors().iter().map(Vec::len).collect();
    let mut after = vec![Vec::new(); graph.nodes.len()];
    for &(a, b) in &graph.edges {
        after[a].push(b);
    }
    let mut marks = vec![Mark::Waiting; graph.nodes.len()];
    let mut ready: VecDeque<usize> = (0..graph.nodes.len())
        .filter(|&n| waiting_on[n] == 0)
        .collect();
    let semaphore = Arc::new(Semaphore::new(ctx.options.parallelism.max(1)));
    let mut tasks: JoinSet<(usize, Result<Outcome, ApplyError>)> = JoinSet::new();
    let mut ids = HashMap::new();
    let mut stopping = false;
    loop {
        while let (false, Some(node)) = (stopping, ready.pop_front()) {
            let change = &plan.changes[graph.nodes[node].change];
            let gate = gate(change, recovered, report);
            if let Some(ok) = gate {
                marks[node] = if ok { Mark::Done } else { Mark::Blocked };
                release(node, ok, &after, &mut waiting_on, &mut marks, &mut ready);
                continue;
            }
            let permit = tokio::select! {
                permit = semaphore.clone().acquire_owned() => permit.ok(),
                () = ctx.shutdown.requested() => None,
            };
            // The semaphore is never closed, so only an interrupt leaves no permit.
            let (Some(permit), false) = (permit, ctx.shutdown.is_requested()) else {
                ready.push_front(node);
                stopping = true;
                break;
            };
            marks[node] = Mark::Running;
            let (task_ctx, step) = (ctx.clone(), graph.nodes[node].step);
            let task_change = change.clone();
            let handle = tasks.spawn(async move {
                let _permit = permit;
                (node, run_step(&task_ctx, &task_change, step).await)
            });
            ids.insert(handle.id(), node);
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (node, outcome) = match joined {
            Ok((node, outcome)) => (node, outcome?),
            // A panicking step is a bug; its journal entry, if any, stays for the next apply.
            Err(error) => {
                let Some(&node) = ids.get(&error.id()) else {
                    continue;
                };
                (node, Outcome::Failed(format!("internal error: {error}")))
            }
        };
        let ok = matches!(outcome, Outcome::Done { .. });
        marks[node] = if ok { Mark::Done } else { Mark::Blocked };
        let image = plan.changes[graph.nodes[node].change].image().clone();
        add(report, image, outcome);
        release(node, ok, &after, &mut waiting_on, &mut marks, &mut ready);
    }
    let unstarted = graph
        .nodes
        .iter()
        .zip(&marks)
        .filter(|(_, m)| **m == Mark::Waiting);
    let unstarted = unstarted.map(|(node, _)| &plan.changes[node.change]);
    report.not_started = not_started(unstarted, recovered, report);
    Ok(())
}

/// Whether a step is settled without running: `Some(true)` done (a no-op, or a create the
/// recovery made), `Some(false)` failed (its image's recovery did not end as planned; listed
/// once), `None` to run.
fn gate(change: &Change, recovered: &Recovered, report: &mut Report) -> Option<bool> {
    if change.action() == Action::NoOp {
        return Some(true);
    }
    let Change::Image(image) = change else {
        return None;
    };
    if let Some(reason) = recovered.invalidates(image) {
        // An address whose recovery failed is already listed once, with the cause.
        if !report.lists(&image.address) {
            report.failures.push((image.address.clone(), reason));
        }
        return Some(false);
    }
    // Counted by the recovery that made it.
    recovered.fulfils(image).then_some(true)
}

/// Marks `node` ended and makes ready the steps it was the last to wait for; after a failure
/// they are blocked, and so is every step after them.
fn release(
    node: usize,
    ok: bool,
    after: &[Vec<usize>],
    waiting_on: &mut [usize],
    marks: &mut [Mark],
    ready: &mut VecDeque<usize>,
) {
    let mut ended = vec![(node, ok)];
    while let Some((node, ok)) = ended.pop() {
        for &next in &after[node] {
            if marks[next] != Mark::Waiting {
                continue;
            }
            if !ok {
                marks[next] = Mark::Blocked;
                ended.push((next, false));
                continue;
            }
            waiting_on[next] -= 1;
            if waiting_on[next] == 0 {
                ready.push_back(next);
            }
        }
    }
}

/// The image addresses of `unstarted` changes with work to do (an interrupt stopped them),
/// none the report already lists.
pub(crate) fn not_started<'a>(
    unstarted: impl Iterator<Item = &'a Change>,
    recovered: &Recovered,
    report: &Report,
) -> Vec<Address> {
    let addresses: BTreeSet<&Address> = unstarted
        .filter(|change| change.action() != Action::NoOp)
        .filter(|change| !matches!(change, Change::Image(image) if recovered.fulfils(image)))
        .map(Change::image)
        .filter(|address| !report.lists(address))
        .collect();
    addresses.into_iter().cloned().collect()
}
