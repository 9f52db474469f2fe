//! The edges every subcommand shares: where the state lives and reading it without a lock,
//! running blocking state work (the lock's wait, fsync) off the async runtime's threads, and the
//! error for a failed write to stdout. Imports no subcommand, so each of them can use it.

use crate::cli::args::GlobalArgs;
use crate::cli::config::{Config, process_env, working_dir};
use crate::error::Error;
use crate::state::{self, Location, State, StateError};

/// Where the state of this run lives: `[state]` of `imsform.toml` in the working directory.
pub fn state_location(global: &GlobalArgs) -> Result<Location, Error> {
    Ok(Config::load(&working_dir(global), &process_env)?
        .state
        .location)
}

/// Reads the state at `location` without a lock, off the async threads.
pub async fn read(location: Location) -> Result<Option<State>, Error> {
    blocking(move || Ok(state::read(&location)?)).await
}

/// Runs blocking state work (waiting for the lock, fsync) off the async runtime's threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StateError::Invalid(format!("the state task failed: {error}")))?
}

/// The error for a command that needs a state where there is none.
pub(crate) fn no_state(location: &Location) -> StateError {
    StateError::NoState {
        path: location.to_string().into(),
    }
}

/// The error for a failed write to stdout.
pub(crate) fn stdout_error(source: std::io::Error) -> Error {
    Error::Io {
        context: "cannot write to stdout".to_owned(),
        source,
    }
}
