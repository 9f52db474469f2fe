//! `imsform state`: list, show, rm and mv records of the state, and pull / push the whole state
//! between backends. Orchestration only: the state module reads, locks and saves; rendering of
//! a record lives in `show.rs`.
//!
//! `list`, `show` and `pull` read without a lock; `rm` and `mv` lock, change one record and
//! save. `rm` forgets an image without deleting it from the cloud. Both refuse an address with
//! an operation in flight, since the next run's recovery would resolve it under the old
//! address. `pull` prints the state as the local file holds it; `push FILE` locks and replaces
//! the stored state with the file's (refusals: [`Store::push`]). `rebind` (`state/rebind.rs`)
//! moves the state to the cloud the configuration points at.

mod rebind;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, StateCommand};
use crate::cli::config::working_dir;
use crate::cli::io::{blocking, no_state, read, state_location, stdout_error};
use crate::cli::show::write_record;
use crate::error::Error;
use crate::manifest::model::Address;
use crate::state::{self, Location, LockOptions, State, StateError, Store, format};

pub async fn run(global: &GlobalArgs, command: StateCommand) -> Result<Outcome, Error> {
    let path = state_location(global)?;
    match command {
        StateCommand::List => list(path).await,
        StateCommand::Show { address } => show(path, &address).await,
        StateCommand::Pull => pull(path).await,
        StateCommand::Push {
            file,
            force,
            lock_timeout,
        } => push(global, path, &file, force, lock_timeout).await,
        StateCommand::Rm {
            address,
            lock_timeout,
        } => {
            let address = parse_address(&address)?;
            let operation = move |state: &mut State| {
                forget(state, &address)?;
                Ok(format!(
                    "Removed {address} from the state; the image itself is untouched."
                ))
            };
            edit(path, "state rm", lock_timeout, operation).await
        }
        StateCommand::Mv {
            source,
            destination,
            lock_timeout,
        } => {
            let source = parse_address(&source)?;
            let destination = parse_address(&destination)?;
            let operation = move |state: &mut State| {
                rename(state, &source, &destination)?;
                Ok(format!("Moved {source} to {destination}."))
            };
            edit(path, "state mv", lock_timeout, operation).await
        }
        StateCommand::Rebind {
            auto_approve,
            lock_timeout,
        } => rebind::run(global, auto_approve, lock_timeout).await,
    }
}

async fn list(location: Location) -> Result<Outcome, Error> {
    let state = read(location).await?;
    let mut out = std::io::stdout().lock();
    for address in state.iter().flat_map(|state| state.images.keys()) {
        writeln!(out, "{address}").map_err(stdout_error)?;
    }
    Ok(Outcome::Success)
}

async fn show(location: Location, address: &str) -> Result<Outcome, Error> {
    let address = parse_address(address)?;
    let state = read(location.clone())
        .await?
        .ok_or_else(|| no_state(&location))?;
    let record = state.images.get(&address).ok_or(StateError::NotInState {
        address: address.clone(),
    })?;
    write_record(&mut std::io::stdout().lock(), &address, record).map_err(stdout_error)?;
    Ok(Outcome::Success)
}

/// Prints the state in the local file's format.
async fn pull(location: Location) -> Result<Outcome, Error> {
    let state = read(location.clone())
        .await?
        .ok_or_else(|| no_state(&location))?;
    let bytes = format::serialize(&state)?;
    std::io::stdout()
        .lock()
        .write_all(&bytes)
        .map_err(stdout_error)?;
    Ok(Outcome::Success)
}

/// Replaces the stored state with the one in `file` (relative to the working directory).
async fn push(
    global: &GlobalArgs,
    location: Location,
    file: &Path,
    force: bool,
    timeout: Option<Duration>,
) -> Result<Outcome, Error> {
    let file = working_dir(global).join(file);
    let bytes = std::fs::read(&file).map_err(|source| StateError::Io {
        action: "read",
        path: file.clone(),
        source,
    })?;
    let pushed = format::parse(&file, &bytes)?.state;
    let (serial, target) = blocking(move || {
        let operation = "state push";
        let mut store = Store::open_at(&location, LockOptions { operation, timeout })?;
        Ok((store.push(&pushed, force)?, store.location()))
    })
    .await?;
    eprintln!("Pushed {} to {target} (serial {serial}).", file.display());
    Ok(Outcome::Success)
}

/// Locks, applies `change` to the state and saves it; prints the change's message on stderr.
async fn edit(
    location: Location,
    operation: &'static str,
    timeout: Option<Duration>,
    change: impl FnOnce(&mut State) -> Result<String, StateError> + Send + 'static,
) -> Result<Outcome, Error> {
    let message = blocking(move || {
        // No state, nothing to edit: fail before the lock, which would leave its file behind.
        if state::read(&location)?.is_none() {
            return Err(no_state(&location).into());
        }
        let mut store = Store::open_at(&location, LockOptions { operation, timeout })?;
        let mut state = store.state().cloned().ok_or_else(|| no_state(&location))?;
        let message = change(&mut state)?;
        store.save(&state)?;
        Ok(message)
    })
    .await?;
    eprintln!("{message}");
    Ok(Outcome::Success)
}

fn forget(state: &mut State, address: &Address) -> Result<(), StateError> {
    refuse_in_flight(state, address)?;
    state
        .images
        .remove(address)
        .map(drop)
        .ok_or_else(|| StateError::NotInState {
            address: address.clone(),
        })
}

fn rename(state: &mut State, source: &Address, destination: &Address) -> Result<(), StateError> {
    refuse_in_flight(state, source)?;
    refuse_in_flight(state, destination)?;
    if state.images.contains_key(destination) {
        return Err(StateError::AlreadyInState {
            address: destination.clone(),
        });
    }
    let record = state
        .images
        .remove(source)
        .ok_or_else(|| StateError::NotInState {
            address: source.clone(),
        })?;
    state.images.insert(destination.clone(), record);
    Ok(())
}

fn refuse_in_flight(state: &State, address: &Address) -> Result<(), StateError> {
    if state.has_pending(address) {
        return Err(StateError::OperationInFlight {
            address: address.clone(),
        });
    }
    Ok(())
}

fn parse_address(text: &str) -> Result<Address, Error> {
    Ok(Address::parse(text).map_err(StateError::Invalid)?)
}
