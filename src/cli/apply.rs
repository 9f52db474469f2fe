//! `imsform apply`: carry out a saved plan, or plan, confirm and apply.

use crate::cli::Outcome;
use crate::cli::args::{ApplyArgs, GlobalArgs};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: ApplyArgs) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("apply"))
}
