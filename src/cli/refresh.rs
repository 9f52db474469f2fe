//! `imsform refresh`: accept drift into the state without touching the cloud's images, like
//! `terraform apply -refresh-only -auto-approve`: a refresh-only plan, printed, then carried out
//! without a prompt. Orchestration only.

use crate::cli::Outcome;
use crate::cli::apply::confirm_forgetting;
use crate::cli::apply::{Run, carry_out};
use crate::cli::args::{GlobalArgs, RefreshArgs, RunArgs};
use crate::cli::context::{self, Request};
use crate::cli::io::stdout_error;
use crate::error::Error;
use crate::render::human;

pub async fn run(global: &GlobalArgs, args: RefreshArgs) -> Result<Outcome, Error> {
    let run = RunArgs {
        scope: args.scope.clone(),
        ..RunArgs::default()
    };
    let request = Request {
        paths: &args.paths,
        run: &run,
        vars: &args.vars,
        operation: "refresh",
        refresh_only: true,
    };
    let session = context::prepare(global, request).await?;
    let mut out = std::io::stdout().lock();
    human::write_plan(&mut out, &session.plan, context::stdout_color(global))
        .map_err(stdout_error)?;
    drop(out);
    let go_on = if session.plan.has_changes() {
        confirm_forgetting(&session.plan, args.auto_approve)
    } else {
        Ok(false)
    };
    if !matches!(go_on, Ok(true)) {
        drop(session.store);
        session.connection.close().await;
        return go_on.map(|_| Outcome::Success);
    }
    let run = Run {
        config: &session.config,
        parallelism: session.parallelism,
    };
    carry_out(&run, &session.plan, session.store, session.connection).await
}
