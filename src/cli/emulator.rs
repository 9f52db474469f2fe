//! `imsform emulator`: run the local IMS emulator in the foreground.

use crate::cli::Outcome;
use crate::cli::args::{EmulatorArgs, GlobalArgs};
use crate::error::Error;

pub async fn run(_global: &GlobalArgs, _args: EmulatorArgs) -> Result<Outcome, Error> {
    Err(Error::NotImplemented("emulator"))
}
