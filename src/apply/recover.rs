//! Carrying out the image entries of [`Plan::recovery`]: finishing or undoing the journal of an
//! interrupted run, at each image's real status. Entries of one address run in journal order in one task; addresses
//! run in parallel. A [`RecoveryAction::LookUp`] (plan made without refresh) is first resolved
//! against the cloud with the plan's own rules ([`crate::plan::recover`]); one entry's recovery
//! is in `resume.rs`.
//!
//! What it tells the scheduler ([`Recovered`]): an address whose recovery did not end as the plan
//! assumed (still in flight, failed, or found otherwise than a plan without refresh expected)
//! gets no change this run; a create the plan expected to make and the lookup found already made
//! with the same attributes is not made twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::progress::Event;
use super::resume::{Ended, Work, recover_one};
use super::{ApplyError, Ctx, Report};
use crate::cloud::CloudApi;
use crate::manifest::model::{Address, ImageAttrs};
use crate::plan::{Action, ImageChange, ImageRecovery, Plan, PlanMode, Recovery};

/// What recovery means for the plan's changes.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// Addresses whose change must not run, with why.
    invalid: BTreeMap<Address, String>,
    /// Addresses where a looked-up create was found and completed, with its attributes.
    completed: BTreeMap<Address, ImageAttrs>,
}

impl Recovered {
    pub(crate) fn invalidates(&self, change: &ImageChange) -> Option<String> {
        if self.fulfils(change) {
            return None;
        }
        if self.completed.contains_key(&change.address) {
            // The plan (made without refresh) did not know this image: acting on the address
            // now could orphan it.
            return Some(
                "the recovery completed an interrupted create the plan did not know of; plan \
                 again"
                    .into(),
            );
        }
        self.invalid.get(&change.address).cloned()
    }

    /// The change is a create the recovery already made exactly.
    pub(crate) fn fulfils(&self, change: &ImageChange) -> bool {
        change.action == Action::Create
            && self.completed.get(&change.address) == change.after.as_ref()
    }
}

/// Runs every recovery, `parallelism` addresses at once.
pub(crate) async fn run_all<C: CloudApi + 'static>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
    report: &mut Report,
) -> Result<Recovered, ApplyError> {
    let mut by_address: BTreeMap<Address, Vec<ImageRecovery>> = BTreeMap::new();
    let mut entries = 0;
    for recovery in &plan.recovery {
        match recovery {
            Recovery::Image(recovery) => by_address
                .entry(recovery.address.clone())
                .or_default()
                .push(recovery.clone()),
            // Each of the other kinds' entries is a progress line of its own.
            _ => entries += 1,
        }
    }
    let changes = plan.changes.iter().filter(|c| c.action() != Action::NoOp);
    let total = by_address.len() + entries + changes.count();
    ctx.progress.event(Event::Begin { total });
    let semaphore = Arc::new(Semaphore::new(ctx.options.parallelism.max(1)));
    let refresh_only = plan.mode == PlanMode::RefreshOnly;
    let mut tasks = JoinSet::new();
    let mut task_ids = HashMap::new();
    for (address, recoveries) in by_address {
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            break;
        };
        if ctx.shutdown.is_requested() {
            // The journal keeps what was not recovered; the run ends after this phase.
            break;
        }
        let key = address.clone();
        let ctx = ctx.clone();
        let handle = tasks.spawn(async move {
            let _permit = permit;
            let mut ended = Vec::new();
            for recovery in &recoveries {
                let end = recover_one(&ctx, recovery, refresh_only).await;
                let stop = !matches!(end, Ok(Ended::Settled(_) | Ended::Completed(..)));
                ended.push(end);
                if stop {
                    break;
                }
            }
            (address, ended)
        });
        task_ids.insert(handle.id(), key);
    }
    let mut recovered = Recovered::default();
    while let Some(joined) = tasks.join_next().await {
        let (address, ended) = match joined {
            Ok(done) => done,
            Err(error) => {
                // A panicking task is a bug; its entries stay in the journal and its address
                // gets no change this run.
                let Some(address) = task_ids.get(&error.id()) else {
                    continue;
                };
                let why = format!("internal error: {error}");
                (
                    address.clone(),
                    vec![Ok(Ended::Unsettled {
                        why,
                        stopped: false,
                    })],
                )
            }
        };
        for end in ended {
            note(&mut recovered, report, ctx, &address, end?);
        }
    }
    Ok(recovered)
}

fn note<C>(
    recovered: &mut Recovered,
    report: &mut Report,
    ctx: &Ctx<C>,
    address: &Address,
    end: Ended,
) {
    let (ok, summary) = match end {
        Ended::Settled(work) => {
            count(report, work);
            (true, "interrupted operation recovered".to_owned())
        }
        Ended::Left => (
            true,
            "interrupted operation left for the next apply".to_owned(),
        ),
        Ended::Completed(attrs, work) => {
            count(report, work);
            recovered.completed.insert(address.clone(), attrs);
            (true, "interrupted create found and completed".to_owned())
        }
        Ended::Diverged(why) => {
            recovered
                .invalid
                .insert(address.clone(), format!("{why}; plan again"));
            (false, why)
        }
        Ended::Unsettled { why, stopped } => {
            let refused = format!(
                "not changed: the recovery of an interrupted operation did not finish ({why})"
            );
            recovered.invalid.insert(address.clone(), refused);
            if stopped {
                report.interrupted = true;
                report.stopped.push((address.clone(), why.clone()));
            } else {
                report.failures.push((address.clone(), why.clone()));
            }
            (false, why)
        }
    };
    let address = address.clone();
    ctx.progress.event(Event::Finish {
        address,
        ok,
        summary,
    });
}

fn count(report: &mut Report, work: Work) {
    report.added += work.added;
    report.destroyed += work.destroyed;
}
