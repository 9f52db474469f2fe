//! `imsform.toml` on arbitrary text: `Config::from_toml` with an empty environment. Errors are
//! expected (each with a line and column); a panic is the bug.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let no_env = |_: &str| None;
    let _ = imsform::cli::config::Config::from_toml(
        text,
        Path::new("imsform.toml"),
        Path::new("/fuzz"),
        &no_env,
    );
});
