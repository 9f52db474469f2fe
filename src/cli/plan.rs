//! `imsform plan`: refresh, diff and print the plan.

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, PlanArgs};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: PlanArgs) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("plan"))
}
