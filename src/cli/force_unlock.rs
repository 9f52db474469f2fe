//! `imsform force-unlock`: remove a stale lock after checking its holder is gone. The checks
//! and the removal live in the state module (`state::lock::force_unlock` for the local file,
//! `state::backend::pg::force_unlock` for a workspace); this file only orchestrates and reports.

use crate::cli::Outcome;
use crate::cli::args::{ForceUnlockArgs, GlobalArgs};
use crate::cli::io::{blocking, state_location};
use crate::error::Error;
use crate::state::{Location, backend, lock};

pub async fn run(global: &GlobalArgs, args: ForceUnlockArgs) -> Result<Outcome, Error> {
    match state_location(global)? {
        Location::Local(path) => {
            let holder = blocking(move || Ok(lock::force_unlock(&path, &args.lock_id)?)).await?;
            eprintln!("Removed {holder}: its holder was gone. The state is unlocked.");
        }
        Location::Pg(settings) => {
            let holder =
                blocking(move || Ok(backend::pg::force_unlock(&settings, &args.lock_id)?)).await?;
            eprintln!(
                "Ended the database session of {holder}: its lock is released. That run can \
                 save nothing more; the next run resumes from its journal."
            );
        }
    }
    Ok(Outcome::Success)
}
