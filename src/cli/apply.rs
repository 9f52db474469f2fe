//! `imsform apply`: carry out a saved plan exactly, or plan, show, confirm and apply. Orchestration
//! only: the pipeline is `cli::context`, the executor `crate::apply`, the plan file `planfile`.
//!
//! - `apply PLANFILE` (one argument that is a file and not a `.yaml`/`.yml` manifest): read the
//!   plan, refuse variable values other than the plan's (`--var`, `--var-file`,
//!   `IMSFORM_VAR_*`), lock the state, refuse a stale plan (`check_fresh`) with the state
//!   untouched, execute.
//! - `apply [PATH…]`: plan (as `imsform plan`), print it, stop with exit 0 if nothing changes,
//!   ask for `yes` on a terminal (or take `--auto-approve`), execute. Without a terminal on stdin
//!   and without `--auto-approve` it refuses before touching anything.
//!
//! Signals while executing: the first SIGINT/SIGTERM stops starting new work and lets in-flight
//! steps reach a saved point; a second exits at once (every state write is atomic and journaled).
//! The loss of the state database's connection and a cloud endpoint that stopped answering stop
//! the run the same way, and its error then names the cause (`apply/stops.rs`).

mod stops;

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::apply::{
    self, ApplyError, ApplyOptions, PlainProgress, ProgressSink, Report, Shutdown, TermProgress,
};
use crate::cli::Outcome;
use crate::cli::args::{ApplyArgs, GlobalArgs};
use crate::cli::config::{Config, process_env, working_dir};
use crate::cli::context::{self, Connection, Request};
use crate::cli::io::{blocking, stdout_error};
use crate::cloud::{CloudError, Liveness};
use crate::error::Error;
use crate::manifest::check_plan_variables;
use crate::plan::{Plan, PlanMode};
use crate::planfile::{SavedPlan, check_fresh};
use crate::render::human;
use crate::state::backend::pg::PgError;
use crate::state::{LockOptions, StateError, Store};

const PROMPT: &str =
    "Do you want to perform these actions? Only 'yes' will be accepted to approve.";

/// Terraform's destroy question, for `apply --destroy`.
const DESTROY_PROMPT: &str = "Do you really want to destroy all managed images?\n  imsform will \
    delete every image it manages in this plan from the cloud, as shown above.\n  There is no \
    undo. Only 'yes' will be accepted to confirm.";

pub async fn run(global: &GlobalArgs, args: ApplyArgs) -> Result<Outcome, Error> {
    if let Some(plan_file) = plan_file(&working_dir(global), &args.paths) {
        return apply_saved(global, &args, &plan_file).await;
    }
    let request = Request {
        paths: &args.paths,
        run: &args.run,
        vars: &args.vars,
        operation: "apply",
        refresh_only: args.refresh_only,
    };
    if !args.auto_approve && !io::stdin().is_terminal() {
        return Err(Error::Usage(
            "stdin is not a terminal, so the plan cannot be confirmed: pass --auto-approve, or \
             apply a reviewed plan file (`imsform plan -out FILE`, then `imsform apply FILE`)"
                .into(),
        ));
    }
    let session = context::prepare(global, request).await?;
    print_plan(global, &session.plan)?;
    list_forgotten(&session.plan);
    if !session.plan.has_changes() {
        drop(session.store);
        session.connection.close().await;
        return Ok(Outcome::Success);
    }
    let destroy = session.plan.mode == PlanMode::Destroy;
    if destroy && args.auto_approve {
        eprintln!(
            "Warning: --destroy: every managed image in this plan ({}) is deleted from the cloud.",
            session.plan.counts().destroy
        );
    }
    let prompt = if destroy { DESTROY_PROMPT } else { PROMPT };
    if !args.auto_approve && !confirm(prompt)? {
        drop(session.store);
        session.connection.close().await;
        return Err(Error::Usage(
            "apply cancelled: the plan was not approved".into(),
        ));
    }
    let run = Run {
        config: &session.config,
        parallelism: session.parallelism,
    };
    carry_out(&run, &session.plan, session.store, session.connection).await
}

/// One argument that is a file and not a manifest: a saved plan. Relative to the working
/// directory (`-C DIR`), as `plan -out` and `show PLANFILE` resolve it. A missing path with an
/// extension (`plan.json`) is a plan file too, so that its absence is reported as such.
fn plan_file(dir: &Path, paths: &[PathBuf]) -> Option<PathBuf> {
    let [path] = paths else { return None };
    let extension = path.extension().and_then(|e| e.to_str());
    let manifest = matches!(extension, Some("yaml" | "yml"));
    let path = dir.join(path);
    let missing_file = extension.is_some() && !path.exists();
    (!manifest && (path.is_file() || missing_file)).then_some(path)
}

async fn apply_saved(global: &GlobalArgs, args: &ApplyArgs, path: &Path) -> Result<Outcome, Error> {
    let config = Config::load(&working_dir(global), &process_env)?;
    let saved = SavedPlan::read(path)?;
    let vars = context::var_input(&args.vars);
    if let Err(error) = check_plan_variables(&saved.variables(), path, &vars, &config.dir) {
        context::print_diagnostics(error.diagnostics(), context::stderr_color(global))?;
        return Err(error.into());
    }
    context::check_connectable(&config)?;
    let location = config.state.location.clone();
    let timeout = args.run.scope.lock_timeout;
    let mut store = blocking(move || {
        let lock = LockOptions {
            operation: "apply",
            timeout,
        };
        Ok(Store::open_at(&location, lock)?)
    })
    .await?;
    let named = context::regions::Reach {
        regions: saved.plan.replica_regions(),
        consumers: saved.plan.member_projects(),
    };
    let reach = context::regions::reached(named, store.state());
    let connection = context::connect(&config, &reach).await?;
    let workspace = config.state.location.workspace_id();
    let fresh = check_saved(&saved, &mut store, &connection, workspace.as_deref()).await;
    if let Err(error) = fresh {
        drop(store);
        connection.close().await;
        return Err(error);
    }
    let run = Run {
        config: &config,
        parallelism: context::parallelism(&args.run.scope, &config)?,
    };
    carry_out(&run, &saved.plan, store, connection).await
}

/// Refuses a saved plan made for another cloud, or from another state than the current one.
async fn check_saved(
    saved: &SavedPlan,
    store: &mut Store,
    connection: &Connection,
    workspace: Option<&str>,
) -> Result<(), Error> {
    let identity = connection.identity().await?;
    let digest = connection.config_digest().await?;
    check_fresh(saved, store.state(), &digest, &identity, workspace)?;
    context::bind_identity(store, connection).await
}

fn print_plan(global: &GlobalArgs, plan: &Plan) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    human::write_plan(&mut out, plan, context::stdout_color(global)).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)
}

/// Lists on stderr the managed images a refresh-only plan forgets (the cloud no longer lists
/// them); how many.
fn list_forgotten(plan: &Plan) -> usize {
    let gone: Vec<_> = plan.drift.iter().filter(|d| d.deleted()).collect();
    if plan.mode != PlanMode::RefreshOnly || gone.is_empty() {
        return 0;
    }
    eprintln!(
        "\nThis refresh forgets {} managed image(s) that the cloud no longer lists:",
        gone.len()
    );
    for drift in &gone {
        eprintln!("  - {} ({})", drift.address(), drift.object_id());
    }
    gone.len()
}

/// Whether a refresh-only plan may go on: one that forgets managed images needs
/// `--auto-approve`, or `yes` on a terminal, so a state is never emptied silently (a
/// configuration pointing at the wrong cloud sees every image as deleted).
pub(crate) fn confirm_forgetting(plan: &Plan, auto_approve: bool) -> Result<bool, Error> {
    if list_forgotten(plan) == 0 || auto_approve {
        return Ok(true);
    }
    if !io::stdin().is_terminal() {
        return Err(Error::Usage(
            "refresh would forget managed images and stdin is not a terminal, so this cannot be \
             confirmed: check that the configuration points at the cloud these images live in, \
             then pass --auto-approve to forget them"
                .into(),
        ));
    }
    if confirm(PROMPT)? {
        Ok(true)
    } else {
        Err(Error::Usage(
            "refresh cancelled: the state was not changed".into(),
        ))
    }
}

/// Asks `prompt` on stderr, reads one line from stdin.
pub(crate) fn confirm(prompt: &str) -> Result<bool, Error> {
    let mut err = io::stderr().lock();
    let io_error = |source| Error::Io {
        context: "cannot ask for confirmation".into(),
        source,
    };
    write!(err, "\n{prompt}\n\n  Enter a value: ").map_err(io_error)?;
    err.flush().map_err(io_error)?;
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(io_error)?;
    Ok(answer.trim() == "yes")
}

/// What the executor needs from the command's configuration.
pub(crate) struct Run<'a> {
    pub config: &'a Config,
    pub parallelism: usize,
}

/// Executes `plan` with signal handling and progress on stderr, prints the summary, and
/// releases the lock. Shared with `imsform refresh`.
pub(crate) async fn carry_out(
    run: &Run<'_>,
    plan: &Plan,
    store: Store,
    connection: Connection,
) -> Result<Outcome, Error> {
    let (trigger, shutdown) = Shutdown::new();
    let trigger = Arc::new(trigger);
    let progress: Arc<dyn ProgressSink> = if io::stderr().is_terminal() {
        Arc::new(TermProgress::new())
    } else {
        PlainProgress::with_heartbeat(Box::new(io::stderr()), apply::HEARTBEAT)
    };
    let liveness = connection.factory.liveness();
    let (loss, location) = (store.loss(), store.location());
    let noticeable = stops::noticeable(run.config.cloud.unresponsive_timeout);
    let mut watchers = vec![
        tokio::spawn(stops::watch_signals(trigger.clone())),
        tokio::spawn(stops::watch_unresponsive(
            liveness.unresponsive(),
            trigger.clone(),
        )),
        tokio::spawn(stops::report_silence(
            liveness.clone(),
            progress.clone(),
            noticeable,
        )),
    ];
    if let Some(loss) = loss.clone() {
        watchers.push(tokio::spawn(stops::watch_loss(loss, trigger)));
    }
    let options = ApplyOptions {
        parallelism: run.parallelism.max(1),
        job_timeout: run.config.apply.job_timeout,
        watch: connection.watch,
        regions: Some(connection.factory.clone()),
        ..ApplyOptions::default()
    };
    let cloud = connection.client.clone();
    let result = apply::execute(plan, store, cloud, options, progress, shutdown).await;
    for watcher in &watchers {
        watcher.abort();
    }
    let result = result.map(|(report, store)| {
        drop(store);
        report
    });
    connection.close().await;
    let report = result?;
    summarize(&report, stop_cause(loss.as_ref(), &liveness, location))
}

/// What stopped the run from outside, if anything: the state database's connection lost, or
/// a cloud endpoint that stopped answering.
fn stop_cause(
    loss: Option<&tokio::sync::watch::Receiver<Option<String>>>,
    liveness: &Liveness,
    target: String,
) -> Option<Error> {
    if let Some(reason) = loss.and_then(|loss| loss.borrow().clone()) {
        return Some(StateError::from(PgError::Lost { target, reason }).into());
    }
    let gone = liveness.unresponsive().borrow().clone()?;
    Some(
        CloudError::Unresponsive {
            endpoint: gone.endpoint,
            silent_for: gone.silent_for,
        }
        .into(),
    )
}

fn summarize(report: &Report, cause: Option<Error>) -> Result<Outcome, Error> {
    let counts = format!(
        "Resources: {} added, {} changed, {} destroyed.",
        report.added, report.changed, report.destroyed
    );
    if report.success() {
        let mut out = io::stdout().lock();
        writeln!(out, "\nApply complete! {counts}").map_err(stdout_error)?;
        return Ok(Outcome::Success);
    }
    let mut err = io::stderr().lock();
    for (address, why) in &report.failures {
        let _ = writeln!(err, "Error: {address}: {why}");
    }
    for (image_id, why) in &report.untracked_failures {
        let _ = writeln!(err, "Error: untracked image {image_id}: {why}");
    }
    for (address, why) in &report.stopped {
        let _ = writeln!(err, "Stopped: {address}: {why}");
    }
    for address in &report.not_started {
        let _ = writeln!(err, "Not started: {address}");
    }
    for (address, what) in &report.left {
        let _ = writeln!(err, "Left in the journal: {address}: {what}");
    }
    let _ = writeln!(err, "\nApply incomplete. {counts}");
    Err(cause.unwrap_or_else(|| {
        ApplyError::Incomplete {
            failed: report.failures.len() + report.untracked_failures.len(),
            interrupted: report.interrupted,
            left: report.left.len(),
        }
        .into()
    }))
}
