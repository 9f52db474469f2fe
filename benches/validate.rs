//! How long loading and validating a large set of manifests takes: 10,000 images in 50 files,
//! written to a temporary directory, loaded with `manifest::load` (best of several runs) and
//! checked once with the real binary (`imsform validate`, wall time including process start).
//!
//! Run with `cargo bench --bench validate`. The target (design.md section 7) is well under a
//! second for both.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const FILES: usize = 50;
const IMAGES_PER_FILE: usize = 200;

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bytes = generate(dir.path());
    println!(
        "generated {} images in {FILES} files ({:.1} MB)",
        FILES * IMAGES_PER_FILE,
        bytes as f64 / 1e6
    );

    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let loaded =
            imsform::manifest::load(&[], dir.path(), &imsform::manifest::VarInput::default())
                .expect("valid manifests");
        best = best.min(started.elapsed());
        assert_eq!(loaded.manifests.images.len(), FILES * IMAGES_PER_FILE);
    }
    println!(
        "manifest::load: {:.1} ms (best of 5)",
        best.as_secs_f64() * 1e3
    );

    let started = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_imsform"))
        .arg("-C")
        .arg(dir.path())
        .arg("validate")
        .output()
        .expect("the imsform binary runs");
    let wall = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    print!("{}", String::from_utf8_lossy(&output.stdout));
    println!(
        "imsform validate (binary, wall): {:.1} ms",
        wall.as_secs_f64() * 1e3
    );
}

/// Writes the manifests; returns their total size in bytes.
fn generate(dir: &Path) -> usize {
    let mut total = 0;
    for file in 0..FILES {
        let mut text = String::from("# yaml-language-server: $schema=manifest.schema.json\n");
        if file == 0 {
            text.push_str("defaults:\n  min_disk: 40\n  tags: { team: platform }\n");
        }
        text.push_str("images:\n");
        for image in 0..IMAGES_PER_FILE {
            let key = format!("img-{file:02}-{image:03}");
            let _ = write!(
                text,
                "  {key}:\n    name: {key}\n    image_url: platform-images:{file}/{key}.qcow2\n    \
                 os_version: Ubuntu 22.04 server 64bit\n    min_ram: 1024\n    \
                 description: generated image {image} of file {file}\n    \
                 tags: {{ tier: t{}, build: b{image} }}\n    \
                 lifecycle: {{ ignore_changes: [description] }}\n",
                image % 7
            );
        }
        total += text.len();
        std::fs::write(dir.join(format!("images-{file:02}.yaml")), text).expect("write");
    }
    total
}
