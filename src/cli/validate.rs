//! `imsform validate`: load and check manifests, and `imsform.toml` when there is one (so a CI
//! validate step catches a broken configuration), reporting every problem of both, each with
//! file:line:col. No network, no state.
//!
//! Variables are resolved as `plan` resolves them (`--var`, `--var-file`, `IMSFORM_VAR_*`,
//! defaults), so an unset variable fails here too. Diagnostics go to stderr (through
//! `context::load_manifests`, in colour when stderr is a terminal and neither `--no-color` nor
//! `NO_COLOR` says otherwise), followed by the configuration's error when both are broken; the
//! success line goes to stdout. When the manifests are broken the error returned is
//! [`crate::manifest::ManifestError::Invalid`], whose `Display` is the one-line summary printed
//! last by `cli::exit_code`.

use std::io::Write;
use std::path::Path;

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, ValidateArgs};
use crate::cli::config::{Config, FILE_NAME as CONFIG_FILE, process_env, working_dir};
use crate::cli::context::load_manifests;
use crate::error::{ConfigError, Error};
use crate::manifest::plural;

pub async fn run(global: &GlobalArgs, args: ValidateArgs) -> Result<Outcome, Error> {
    let dir = working_dir(global);
    let config = check_config(&dir);
    let loaded = match load_manifests(global, &args.paths, &args.vars, &dir) {
        Ok(loaded) => loaded,
        Err(error) => {
            if let Err(config) = config {
                writeln!(std::io::stderr(), "Error: {config}").map_err(io_error)?;
            }
            return Err(error);
        }
    };
    let checked_config = config?;
    let images = loaded.manifests.images.len();
    let verb = if images == 1 { "is" } else { "are" };
    let also = if checked_config {
        format!(", and so is {CONFIG_FILE}")
    } else {
        String::new()
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "Success! {} in {} {verb} valid{also}.",
        plural(images, "image"),
        plural(loaded.files.len(), "file")
    )
    .map_err(io_error)?;
    Ok(Outcome::Success)
}

/// Checks `imsform.toml` as every command would read it (environment included); whether there
/// was one.
fn check_config(dir: &Path) -> Result<bool, ConfigError> {
    if !dir.join(CONFIG_FILE).is_file() {
        return Ok(false);
    }
    Config::load(dir, &process_env).map(|_| true)
}

fn io_error(source: std::io::Error) -> Error {
    Error::Io {
        context: "cannot write the report".to_owned(),
        source,
    }
}
