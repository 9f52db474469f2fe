//! The command line: parse, build the configuration, dispatch to one orchestrating function per
//! subcommand, and map the outcome to an exit code. Reads like a table of contents.

pub mod args;
pub mod config;

use std::process::ExitCode;

use clap::Parser;

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

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Changes => 2,
        }
    }
}

/// The binary's entry point: parse the arguments, run, print any error on stderr.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(args::normalize(std::env::args_os())) {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version on stdout with exit 0, usage errors on stderr.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 1 } else { 0 });
        }
    };
    match run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(error) => {
            eprintln!("Error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    match cli.command {
        Command::Validate(_) => Err(Error::NotImplemented("validate")),
        Command::Plan(_) => Err(Error::NotImplemented("plan")),
        Command::Apply(_) => Err(Error::NotImplemented("apply")),
        Command::Show(_) => Err(Error::NotImplemented("show")),
        Command::Refresh(_) => Err(Error::NotImplemented("refresh")),
        Command::Import(_) => Err(Error::NotImplemented("import")),
        Command::State(_) => Err(Error::NotImplemented("state")),
        Command::ForceUnlock(_) => Err(Error::NotImplemented("force-unlock")),
        Command::Emulator(_) => Err(Error::NotImplemented("emulator")),
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "imsform", &mut std::io::stdout());
            Ok(Outcome::Success)
        }
    }
}
