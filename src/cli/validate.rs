//! `imsform validate`: load and check manifests, report every problem.

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, ValidateArgs};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: ValidateArgs) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("validate"))
}
