//! `imsform validate`: load and check manifests, and `imsform.toml` when there is one (so a CI
//! validate step catches a broken configuration), reporting every problem of both, each with
//! file:line:col. No network, no state.
//!
//! Diagnostics go to stderr (colour when stderr is a terminal and neither `--no-color` nor
//! `NO_COLOR` says otherwise); the success line goes to stdout. On failure the error returned
//! is [`ManifestError::Invalid`], whose `Display` is the one-line summary printed last by
//! `cli::exit_code`; the diagnostics are printed here, once.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, ValidateArgs};
use crate::cli::config::{Config, ConfigError, FILE_NAME as CONFIG_FILE, process_env, working_dir};
use crate::error::Error;
use crate::manifest::{self, ManifestError, diagnostic::render_all, plural};

pub async fn run(global: &GlobalArgs, args: ValidateArgs) -> Result<Outcome, Error> {
    let dir = working_dir(global);
    let color = stderr_color(global);
    let stderr = &mut std::io::stderr().lock();
    let config = check_config(&dir);
    let loaded = match manifest::load(&args.paths, &dir) {
        Ok(loaded) => loaded,
        Err(error) => {
            let ManifestError::Invalid { diagnostics, .. } = &error;
            write_diagnostics(stderr, diagnostics, color)?;
            if let Err(config) = config {
                writeln!(stderr, "Error: {config}").map_err(io_error)?;
            }
            return Err(error.into());
        }
    };
    write_diagnostics(stderr, &loaded.warnings, color)?;
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

fn write_diagnostics(
    out: &mut dyn Write,
    diagnostics: &[manifest::Diagnostic],
    color: bool,
) -> Result<(), Error> {
    render_all(diagnostics, out, color).map_err(io_error)
}

fn io_error(source: std::io::Error) -> Error {
    Error::Io {
        context: "cannot write the report".to_owned(),
        source,
    }
}

/// Colour on stderr: only on a terminal, and never with `--no-color` or `NO_COLOR`.
pub fn stderr_color(global: &GlobalArgs) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !global.no_color && !no_color && std::io::stderr().is_terminal()
}
