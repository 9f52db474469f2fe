//! The state loader on arbitrary bytes: `state::format::parse` (duplicate keys, versions,
//! migration of format 0, the checks). A state it accepts must serialize and parse back to the
//! same state; a panic or a failed round trip is the bug.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("imsform.state.json");
    let _ = imsform::state::format::lineage_and_serial(data);
    if let Ok(parsed) = imsform::state::format::parse(path, data) {
        let bytes =
            imsform::state::format::serialize(&parsed.state).expect("an accepted state serializes");
        let again = imsform::state::format::parse(path, &bytes).expect("a written state parses");
        assert_eq!(
            again.state, parsed.state,
            "the state changed in a round trip"
        );
    }
});
