//! The executor behind `imsform apply`: carries out a [`Plan`] against the cloud, journaling every
//! step in the state. It owns the crash-safety protocol, bounded and per-address exclusive
//! concurrency, progress events and interrupts. It must not diff (that is [`crate::plan`]), print
//! (progress goes to a [`ProgressSink`]) or parse arguments (that is `cli/apply.rs`).
//!
//! # Flow ([`execute`])
//!
//! 1. Refuse the plan if any recovery is [`RecoveryAction::Ambiguous`] (several images carry one
//!    create's token): nothing is touched.
//! 2. Carry out the image entries of [`Plan::recovery`] (`recover.rs`), one task per address,
//!    entries of an address in journal order. [`RecoveryAction::LookUp`] (a plan made without
//!    refresh) is resolved against the cloud first with the plan's own rules.
//! 3. Rename the addresses of [`Plan::moves`] and accept [`Plan::drift`] of every kind into the
//!    state, in one save (`kinds.rs`). Then carry out [`Plan::untracked`] (`untracked.rs`):
//!    adopt (one save), delete (waited out).
//! 4. Stop there for a refresh-only plan. Otherwise recover the other kinds' journal entries
//!    (copies and replica deletes, `replicas.rs`), then walk the plan's dependency graph
//!    ([`crate::plan::Graph`], `walk.rs`): every step of every instance's change, at most
//!    `parallelism` at once, each once the steps before it have ended well, each kind's step
//!    handed to its protocol through one seam (`kinds.rs`: `change.rs` for images,
//!    `replicas.rs` for replicas).
//!
//! # The create protocol (design.md section 6, `create.rs`)
//!
//! 1. A pending `Create` entry (address, a fresh token `<lineage8>-<ULID>`, the attributes,
//!    `started_at`) is **saved before any call**.
//! 2. `POST /v2/images` with the reserved tag `imsform-token=<token>`; the id is saved.
//! 3. `PUT /v1/cloudimages/{id}/upload`; the job id is saved.
//! 4. The [`JobWatcher`] waits for the job (one list request per tick for every job in flight).
//!    On success the description (which create cannot set) is applied, the image is recorded at
//!    the address and the entry dropped, in one save. On failure the image is recorded tainted
//!    with the job's error code and reason (the next plan replaces it); the failed new half of a
//!    replace is deleted instead and the old image stays.
//!
//! A create answered [`CloudError::OutcomeUnknown`] is never re-sent blindly. It is resolved by
//! the token: an image carrying it is adopted. **Retry rule:** when no image carries the token,
//! the lookup is repeated after `create_settle`; only when it is still absent both times is the
//! entry dropped and the create retried, once, under a **new** token (a new entry saved first).
//! A second unknown outcome whose token is absent both times drops the entry and fails the
//! address; the next plan creates it again. A create request that IMS takes in more than
//! `create_settle` after its answer was lost leaves an image carrying a token of this lineage
//! that the state does not know: refresh finds it and the plan reports it as untracked
//! (`plan/untracked.rs`); it is adopted or deleted only when asked, and can never become a
//! second image *at an address*.
//!
//! A register answered `OutcomeUnknown` is resolved by the image's status: `queued` means it
//! was not taken (sent again, once); otherwise the image is waited for by its status.
//!
//! # Replace and delete
//!
//! - create_before_destroy: the new image is created fully (its entry names the image it
//!   `replaces`), then **one save** points the address at the new id and journals a `Delete` of
//!   the old id; the old image is deleted and waited for until gone, then the entry is dropped.
//!   Recovery of such a create (interrupted at any step) goes on in the same run to delete the
//!   replaced image: one apply converges.
//! - destroy_before_create, destroy: one save removes the record and journals the `Delete`; the
//!   image is deleted and waited for until gone, then the entry is dropped. A delete IMS refuses
//!   outright (4xx) puts the record back and drops the entry in one save.
//!
//! # Guarantees
//!
//! - Every completed step is saved before the next call ([`writer::StateWriter`], a single task
//!   owning the [`Store`]); a crash at any point leaves a journal the next plan resolves.
//! - Never two operations on one instance at once (the graph orders the steps of an image and
//!   its replicas); never more than `parallelism` steps at once.
//! - A failed address does not stop the others; the [`Report`] lists it.
//! - Interrupts ([`Shutdown`]): no new address starts; in-flight steps finish their call and its
//!   save; waits (jobs, deletes) are abandoned at a saved point and resumed by the next apply.
//! - A save that fails stops the run ([`ApplyError::State`]): nothing is done that cannot be
//!   written down.
//! - The [`Report`] is a success only when nothing failed or stopped **and the journal is
//!   empty** at the end (refresh-only runs leave cloud work to the next apply by design). Its
//!   counts include the recovery's work: completed creates as added, deleted images as
//!   destroyed, as [`Plan::counts`] counts them.

mod change;
mod copy;
mod create;
mod delete;
mod kinds;
mod members;
mod progress;
mod recover;
mod register;
mod replica_steps;
mod replicas;
mod report;
mod resume;
mod shutdown;
mod steps;
mod untracked;
mod walk;
mod writer;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

pub use progress::{Event, HEARTBEAT, Phase, PlainProgress, ProgressSink, Silent, TermProgress};
pub use report::Report;
pub use shutdown::{Shutdown, ShutdownTrigger};

use crate::cloud::{ClientFactory, CloudApi, JobWatcher, WatchConfig};
use crate::manifest::model::Address;
use crate::plan::{Plan, PlanMode, Recovery, RecoveryAction};
use crate::state::{StateError, Store};
use writer::StateWriter;

/// How the executor runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// At most this many addresses at once (at least 1).
    pub parallelism: usize,
    /// How long one registration job (or one delete) may take.
    pub job_timeout: Duration,
    /// How the job watcher polls.
    pub watch: WatchConfig,
    /// The wait between the two token lookups after a create's answer was lost.
    pub create_settle: Duration,
    /// The clients of the other regions, for replicas (`None`: a plan without replicas).
    pub regions: Option<ClientFactory>,
}

impl Default for ApplyOptions {
    fn default() -> ApplyOptions {
        ApplyOptions {
            parallelism: 10,
            job_timeout: Duration::from_secs(30 * 60),
            watch: WatchConfig::default(),
            create_settle: Duration::from_secs(2),
            regions: None,
        }
    }
}

/// Why an apply could not run at all (per-address failures go into the [`Report`]).
#[derive(Debug, Error)]
pub enum ApplyError {
    #[error(
        "refusing to apply: several images carry the token of the interrupted create of \
         {address} ({}); delete the extra images by hand, then plan again",
        image_ids.join(", ")
    )]
    Ambiguous {
        address: Address,
        image_ids: Vec<String>,
    },
    #[error("cannot save the state; the apply stopped: {0}")]
    State(Arc<StateError>),
    #[error("the state writer stopped unexpectedly")]
    WriterGone,
    /// Some addresses failed or were interrupted (listed on stderr by the CLI).
    #[error(
        "the apply did not complete: {failed} address(es) failed{}{}",
        if *interrupted { "; it was interrupted" } else { "" },
        if *left > 0 {
            format!("; {left} operation(s) are left in the journal for the next apply")
        } else {
            String::new()
        }
    )]
    Incomplete {
        failed: usize,
        interrupted: bool,
        left: usize,
    },
}

/// How one address's work ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Done; the counts it adds to the report, and the image the address now names (none
    /// after a destroy), shown as Terraform's `[id=…]`.
    Done {
        added: usize,
        changed: usize,
        destroyed: usize,
        id: Option<String>,
    },
    Failed(String),
    /// Stopped at a saved point by an interrupt.
    Stopped(String),
}

impl Outcome {
    pub(crate) fn none() -> Outcome {
        Outcome::Done {
            added: 0,
            changed: 0,
            destroyed: 0,
            id: None,
        }
    }
}

/// Everything a task needs; shared behind an `Arc`.
pub(crate) struct Ctx<C> {
    pub cloud: Arc<C>,
    pub watcher: JobWatcher,
    pub state: StateWriter,
    pub progress: Arc<dyn ProgressSink>,
    pub shutdown: Shutdown,
    pub options: ApplyOptions,
    /// The state's lineage: new create tokens carry its prefix.
    pub lineage: String,
}

/// Carries out `plan` (see the module docs). `store` must hold the state the plan was made from;
/// it is returned (still locked) with the report so that the caller decides when to unlock.
pub async fn execute<C: CloudApi + 'static>(
    plan: &Plan,
    store: Store,
    cloud: Arc<C>,
    options: ApplyOptions,
    progress: Arc<dyn ProgressSink>,
    shutdown: Shutdown,
) -> Result<(Report, Store), ApplyError> {
    refuse_ambiguous(plan)?;
    let lineage = match store.state() {
        Some(state) => state.lineage.clone(),
        None => store.state_or_new().lineage,
    };
    let (state, writer_task) = writer::spawn(store);
    let ctx = Arc::new(Ctx {
        watcher: JobWatcher::spawn(cloud.clone(), options.watch),
        cloud,
        state,
        progress,
        shutdown,
        options,
        lineage,
    });
    let run = run_phases(plan, &ctx).await;
    drop(ctx);
    let store = writer_task.await.map_err(|_| ApplyError::WriterGone)?;
    let mut report = run?;
    if plan.mode != PlanMode::RefreshOnly {
        report.left = report::left_in_journal(&store);
    }
    report.failures.sort();
    report.stopped.sort();
    Ok((report, store))
}

fn refuse_ambiguous(plan: &Plan) -> Result<(), ApplyError> {
    for recovery in &plan.recovery {
        if let Recovery::Image(recovery) = recovery
            && let RecoveryAction::Ambiguous { image_ids } = &recovery.action
        {
            return Err(ApplyError::Ambiguous {
                address: recovery.address.clone(),
                image_ids: image_ids.clone(),
            });
        }
    }
    Ok(())
}

async fn run_phases<C: CloudApi + 'static>(
    plan: &Plan,
    ctx: &Arc<Ctx<C>>,
) -> Result<Report, ApplyError> {
    let mut report = Report::default();
    let recovered = recover::run_all(plan, ctx, &mut report).await?;
    if ctx.shutdown.is_requested() {
        report.interrupted = true;
        // Only addresses with planned work, and none the recovery already lists.
        report.not_started = walk::not_started(plan.changes.iter(), &recovered, &report);
        return Ok(report);
    }
    kinds::accept_moves_and_drift(plan, ctx).await?;
    untracked::run(plan, ctx, &mut report).await?;
    if plan.mode == PlanMode::RefreshOnly {
        return Ok(report);
    }
    replicas::recover_all(plan, ctx, &mut report).await?;
    walk::walk(plan, ctx, &recovered, &mut report).await?;
    report.interrupted |= ctx.shutdown.is_requested();
    Ok(report)
}

pub(crate) fn add(report: &mut Report, address: Address, outcome: Outcome) {
    match outcome {
        Outcome::Done {
            added,
            changed,
            destroyed,
            ..
        } => {
            report.added += added;
            report.changed += changed;
            report.destroyed += destroyed;
        }
        Outcome::Failed(reason) => report.failures.push((address, reason)),
        Outcome::Stopped(reason) => {
            report.interrupted = true;
            report.stopped.push((address, reason));
        }
    }
}
