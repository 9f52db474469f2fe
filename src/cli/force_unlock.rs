//! `imsform force-unlock`: remove a stale lock after checking its holder is gone. The checks
//! and the removal live in `state::lock::force_unlock`; this file only orchestrates and reports.

use crate::cli::Outcome;
use crate::cli::args::{ForceUnlockArgs, GlobalArgs};
use crate::cli::state::{blocking, state_path};
use crate::error::Error;
use crate::state::lock;

pub async fn run(global: &GlobalArgs, args: ForceUnlockArgs) -> Result<Outcome, Error> {
    let path = state_path(global)?;
    let holder = blocking(move || Ok(lock::force_unlock(&path, &args.lock_id)?)).await?;
    eprintln!("Removed {holder}: its holder was gone. The state is unlocked.");
    Ok(Outcome::Success)
}
