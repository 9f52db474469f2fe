//! The plan-file loader on arbitrary bytes: `SavedPlan::from_slice`, as `apply PLANFILE` and
//! `show PLANFILE` read it. Errors are expected; a panic is the bug.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = imsform::planfile::SavedPlan::from_slice(Path::new("plan.json"), data);
});
