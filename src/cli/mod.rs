//! The command line: parse, dispatch to one orchestrating file per subcommand, map the outcome to
//! an exit code. Reads like a table of contents.

pub mod apply;
pub mod args;
pub mod argv;
pub mod config;
pub mod context;
pub mod emulator;
pub mod force_unlock;
pub mod graph;
pub mod import;
pub mod io;
pub mod output;
pub mod plan;
pub mod query;
pub mod refresh;
pub mod show;
pub mod state;
pub mod validate;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::error::Error;
use args::{Cli, Command};

/// What a successful command asks the process to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 2: success with changes (`--detailed-exitcode` only).
    Changes,
}

/// Parses the command line; on `--help`, `--version` or a usage error, clap's text is printed and
/// the exit code to use is returned instead.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, ExitCode> {
    Cli::try_parse_from(argv::normalize(args)).map_err(|error| {
        // clap prints help and version on stdout with exit 0, usage errors on stderr.
        let _ = error.print();
        ExitCode::from(if error.use_stderr() { 1 } else { 0 })
    })
}

/// Prints an error on stderr and maps the result to the process exit code.
pub fn exit_code(result: Result<Outcome, Error>) -> ExitCode {
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Changes) => ExitCode::from(2),
        Err(error) => {
            eprintln!("Error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<Outcome, Error> {
    let global = &cli.global;
    context::init_logging(global);
    match cli.command {
        Command::Validate(args) => validate::run(global, args).await,
        Command::Plan(args) => plan::run(global, args).await,
        Command::Apply(args) => apply::run(global, args).await,
        Command::Show(args) => show::run(global, args).await,
        Command::Graph(args) => graph::run(global, args).await,
        Command::Refresh(args) => refresh::run(global, args).await,
        Command::Import(args) => import::run(global, args).await,
        Command::Query(args) => query::run(global, args).await,
        Command::Output(args) => output::run(global, args).await,
        Command::State(command) => state::run(global, command).await,
        Command::ForceUnlock(args) => force_unlock::run(global, args).await,
        Command::Emulator(args) => emulator::run(global, args).await,
        Command::Completions(args) => {
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "imsform", &mut std::io::stdout());
            Ok(Outcome::Success)
        }
    }
}
