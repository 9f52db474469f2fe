//! `imsform refresh`: accept drift into the state without touching the cloud.

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, RefreshArgs};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: RefreshArgs) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("refresh"))
}
