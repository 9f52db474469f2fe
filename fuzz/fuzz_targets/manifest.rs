//! The manifest loader on arbitrary bytes: the input is written as one `.yaml` file and loaded
//! with `manifest::load`, exactly as `imsform validate` reads it (size, UTF-8 and nesting checks,
//! YAML parsing, the tree walk, assembly). Errors are expected; a panic or a hang is the bug.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One directory per fuzzing process, reused for every input.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("imsform-fuzz-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    let file = dir.join("images.yaml");
    std::fs::write(&file, data).expect("write the input");
    let _ = imsform::manifest::load(&[file], dir, &imsform::manifest::VarInput::default());
});
