//! `imsform import`: adopt an existing image under an address of the manifests.

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, ImportArgs};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: ImportArgs) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("import"))
}
