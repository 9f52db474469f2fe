//! `imsform graph [PLAN_FILE]`: the order apply follows, in Graphviz's DOT language, as
//! `terraform graph` prints it. With a plan file, the graph that file's apply walks (neither the
//! state nor the cloud is read); without one, the graph of the plan the manifests make now (the
//! pipeline of `plan`, its flags included). Orchestration only: the graph is `plan::Graph`.

use std::io::{self, Write};

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, GraphArgs};
use crate::cli::config::working_dir;
use crate::cli::context::{self, Request};
use crate::cli::io::stdout_error;
use crate::error::Error;
use crate::plan::Graph;
use crate::planfile::SavedPlan;

pub async fn run(global: &GlobalArgs, args: GraphArgs) -> Result<Outcome, Error> {
    let dot = match &args.plan_file {
        Some(path) => {
            let saved = SavedPlan::read(&working_dir(global).join(path))?;
            Graph::of(&saved.plan).dot(&saved.plan)
        }
        None => {
            let request = Request {
                paths: &[],
                run: &args.run,
                vars: &args.vars,
                operation: "graph",
                refresh_only: false,
            };
            let session = context::prepare(global, request).await?;
            let dot = Graph::of(&session.plan).dot(&session.plan);
            let context::Session {
                store, connection, ..
            } = session;
            drop(store);
            connection.close().await;
            dot
        }
    };
    let mut out = io::stdout().lock();
    out.write_all(dot.as_bytes()).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    Ok(Outcome::Success)
}
