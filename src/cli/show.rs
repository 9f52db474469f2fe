//! `imsform show`: render a saved plan, or the state.

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, ShowArgs};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: ShowArgs) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("show"))
}
