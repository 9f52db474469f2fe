//! `imsform state`: list, show, rm and mv records of the state.

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, StateCommand};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: StateCommand) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("state"))
}
