//! `--var NAME=VALUE` and `--var-file FILE`: syntax only, kept in the order given. Their
//! meaning (the var files, the environment, precedence) is `manifest::variables`.

use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches};

use crate::manifest::VarArg;

/// `--var NAME=VALUE` and `--var-file FILE` of every command that reads manifests, kept in the
/// order given (a later value wins), which clap's derive cannot express: hence the hand-written
/// `Args` below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarArgs {
    pub args: Vec<VarArg>,
}

impl FromArgMatches for VarArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<VarArgs, clap::Error> {
        let mut indexed: Vec<(usize, VarArg)> = Vec::new();
        if let (Some(values), Some(at)) =
            (matches.get_many::<String>("var"), matches.indices_of("var"))
        {
            indexed.extend(at.zip(values.map(|text| VarArg::Var(text.clone()))));
        }
        if let (Some(values), Some(at)) = (
            matches.get_many::<PathBuf>("var_file"),
            matches.indices_of("var_file"),
        ) {
            indexed.extend(at.zip(values.map(|path| VarArg::File(path.clone()))));
        }
        indexed.sort_by_key(|(at, _)| *at);
        Ok(VarArgs {
            args: indexed.into_iter().map(|(_, arg)| arg).collect(),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = VarArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for VarArgs {
    fn augment_args(command: clap::Command) -> clap::Command {
        command
            .arg(
                clap::Arg::new("var")
                    .long("var")
                    .value_name("NAME=VALUE")
                    .action(clap::ArgAction::Append)
                    .help(
                        "Set a variable of the manifests (repeatable; overrides IMSFORM_VAR_NAME)",
                    ),
            )
            .arg(
                clap::Arg::new("var_file")
                    .long("var-file")
                    .value_name("FILE")
                    .value_parser(clap::value_parser!(PathBuf))
                    .action(clap::ArgAction::Append)
                    .help(
                        "Set variables from a TOML file of `NAME = \"value\"` lines (repeatable)",
                    ),
            )
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        VarArgs::augment_args(command)
    }
}
