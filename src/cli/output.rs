//! `imsform output [ADDRESS] [--json]`: each managed image's id, name, status and region, for
//! scripts. Reads the state only, without a lock (as `show` does: `Store::read`) and the
//! region from the configuration; never the cloud. An ADDRESS not in the state is an error
//! naming the closest addresses that are.

use std::io;

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, OutputArgs};
use crate::cli::config::{Config, process_env, working_dir};
use crate::cli::io::stdout_error;
use crate::error::Error;
use crate::manifest::model::Address;
use crate::render::output::{Outputs, write_image, write_json, write_text};
use crate::state::Store;

pub async fn run(global: &GlobalArgs, args: OutputArgs) -> Result<Outcome, Error> {
    let config = Config::load(&working_dir(global), &process_env)?;
    let state = Store::read(&config.state.path)?;
    let mut outputs = Outputs::new(state.as_ref(), &config.cloud.region);
    let mut out = io::stdout().lock();
    let Some(address) = &args.address else {
        if outputs.images.is_empty() {
            eprintln!("The state holds no images: nothing to output.");
        }
        return if args.json {
            write_json(&mut out, &outputs)
        } else {
            write_text(&mut out, &outputs)
        }
        .map(|()| Outcome::Success)
        .map_err(stdout_error);
    };
    let parsed = Address::parse(address).ok();
    let Some(image) = parsed.and_then(|address| outputs.images.remove(&address)) else {
        return Err(not_found(address, &outputs));
    };
    if args.json {
        write_json(&mut out, &image)
    } else {
        write_image(&mut out, &image)
    }
    .map_err(stdout_error)?;
    Ok(Outcome::Success)
}

/// `ADDRESS` is not in the state: name up to three addresses that are, closest first.
fn not_found(address: &str, outputs: &Outputs) -> Error {
    let wanted = address.strip_prefix("images.").unwrap_or(address);
    let mut near: Vec<(f64, String)> = outputs
        .images
        .keys()
        .map(|known| {
            let key = known.to_string();
            let score =
                strsim::normalized_damerau_levenshtein(wanted, key.trim_start_matches("images."));
            (score, key)
        })
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let shown: Vec<String> = near.into_iter().take(3).map(|(_, key)| key).collect();
    let hint = if shown.is_empty() {
        "the state holds no images (has `imsform apply` run in this directory?)".to_owned()
    } else {
        format!("the closest in the state: {}", shown.join(", "))
    };
    Error::Usage(format!("`{address}` is not in the state; {hint}"))
}
