//! `imsform force-unlock`: remove a stale lock after checking its holder is gone.

use crate::cli::Outcome;
use crate::cli::args::{ForceUnlockArgs, GlobalArgs};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: ForceUnlockArgs) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("force-unlock"))
}
