//! `imsform validate`: load and check manifests, report every problem. No network, no state.
//!
//! Variables are resolved as `plan` resolves them (`--var`, `--var-file`, `IMSFORM_VAR_*`,
//! defaults), so an unset variable fails here too. Diagnostics go to stderr (through
//! `context::load_manifests`, in colour when stderr is a terminal and neither `--no-color` nor
//! `NO_COLOR` says otherwise); the success line goes to stdout. On failure the error returned
//! is [`crate::manifest::ManifestError::Invalid`], whose `Display` is the one-line summary
//! printed last by `cli::exit_code`.

use std::io::Write;

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, ValidateArgs};
use crate::cli::config::working_dir;
use crate::cli::context::load_manifests;
use crate::error::Error;
use crate::manifest::plural;

pub async fn run(global: &GlobalArgs, args: ValidateArgs) -> Result<Outcome, Error> {
    let loaded = load_manifests(global, &args.paths, &args.vars, &working_dir(global))?;
    let images = loaded.manifests.images.len();
    let verb = if images == 1 { "is" } else { "are" };
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "Success! {} in {} {verb} valid.",
        plural(images, "image"),
        plural(loaded.files.len(), "file")
    )
    .map_err(|source| Error::Io {
        context: "cannot write the report".to_owned(),
        source,
    })?;
    Ok(Outcome::Success)
}
