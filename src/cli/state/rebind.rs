//! `imsform state rebind`: moves the state to the cloud identity the configuration points at
//! (design.md section 4: an explicit command, never a side effect of an environment variable
//! left set). Terraform's nearest relative is `terraform state replace-provider`: it shows the
//! change, asks for `yes` (or takes `--auto-approve`) and rewrites the state under its lock.
//!
//! The identity is resolved as `plan` resolves it (configuration and environment, IAM asked for
//! a project id that is not configured: [`Connection::identity`]); no image is read or touched.
//! The state is written through the [`Store`], so both backends work. Refused without a state
//! (before the cloud is asked or the lock taken) and while an operation is in flight, since
//! recovery must look for its image in the cloud the journal was written against.

use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::Outcome;
use crate::cli::apply::confirm;
use crate::cli::args::GlobalArgs;
use crate::cli::config::{Config, process_env, working_dir};
use crate::cli::context::{check_connectable, connect};
use crate::cli::io::{blocking, no_state, read};
use crate::error::Error;
use crate::state::{Identity, LockOptions, State, StateError, Store};

const PROMPT: &str = "Do you want to bind the state to the configured cloud? Only 'yes' will be \
                      accepted to approve.";

pub async fn run(
    global: &GlobalArgs,
    auto_approve: bool,
    timeout: Option<Duration>,
) -> Result<Outcome, Error> {
    let config = Config::load(&working_dir(global), &process_env)?;
    let location = config.state.location.clone();
    if read(location.clone()).await?.is_none() {
        return Err(no_state(&location).into());
    }
    let configured = configured_identity(&config).await?;
    let (store, mut state) = blocking(move || {
        let operation = "state rebind";
        let store = Store::open_at(&location, LockOptions { operation, timeout })?;
        let state = store.state().cloned().ok_or_else(|| no_state(&location))?;
        Ok((store, state))
    })
    .await?;
    let target = store.location();
    if state.identity.as_ref() == Some(&configured) {
        eprintln!("{target} already belongs to {configured}: nothing to do.");
        return Ok(Outcome::Success);
    }
    refuse_in_flight(&state)?;
    eprintln!("{}", describe(&target, &state, &configured));
    approve(auto_approve)?;
    state.identity = Some(configured.clone());
    blocking(move || {
        let mut store = store;
        Ok(store.save(&state)?)
    })
    .await?;
    eprintln!("{target} now belongs to {configured}.");
    Ok(Outcome::Success)
}

/// The identity `plan` would bind the state to. Stops the local cloud, if it was started, at
/// once: nothing else is asked of it.
async fn configured_identity(config: &Config) -> Result<Identity, Error> {
    check_connectable(config)?;
    let connection = connect(config, &Default::default()).await?;
    let identity = connection.identity().await;
    connection.close().await;
    identity
}

fn refuse_in_flight(state: &State) -> Result<(), StateError> {
    match state.pending.first() {
        Some(entry) => Err(StateError::OperationInFlight {
            address: entry.address.clone(),
        }),
        None => Ok(()),
    }
}

/// Both identities and what the change means for the images.
fn describe(target: &str, state: &State, configured: &Identity) -> String {
    let recorded = state.identity.as_ref().map_or_else(
        || "records no cloud (written before imsform recorded identities)".to_owned(),
        |identity| format!("belongs to {identity}"),
    );
    format!(
        "{target} {recorded}.\nThe configuration points at {configured}.\n\nRebinding records \
         the configured cloud in the state and touches no image. The {} managed image(s) keep \
         their ids: the next plan looks for them in the configured cloud, and one it does not \
         find there shows as deleted outside imsform and is planned again.",
        state.images.len()
    )
}

/// `yes` on a terminal, or `--auto-approve`.
fn approve(auto_approve: bool) -> Result<(), Error> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "stdin is not a terminal, so the rebind cannot be confirmed: pass --auto-approve; \
             the state was not changed"
                .into(),
        ));
    }
    if confirm(PROMPT)? {
        Ok(())
    } else {
        Err(Error::Usage(
            "state rebind cancelled: the state was not changed".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::CloudKind;

    fn identity(kind: CloudKind, project: &str) -> Identity {
        Identity {
            kind,
            region: "cn-north-4".into(),
            project_id: project.into(),
        }
    }

    #[test]
    fn the_description_names_both_identities_or_the_missing_one() {
        let mut state = State::new("lineage".into());
        state.identity = Some(identity(CloudKind::Local, "p0"));
        let text = describe(
            "imsform.state.json",
            &state,
            &identity(CloudKind::Cloud, "p1"),
        );
        assert!(text.starts_with(
            "imsform.state.json belongs to the local cloud (region cn-north-4, project p0).\n\
             The configuration points at the cloud (region cn-north-4, project p1).\n"
        ));
        assert!(text.contains("The 0 managed image(s) keep their ids"));
        state.identity = None;
        let text = describe(
            "imsform.state.json",
            &state,
            &identity(CloudKind::Cloud, "p1"),
        );
        assert!(text.starts_with("imsform.state.json records no cloud"));
    }
}
