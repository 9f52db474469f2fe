//! Commands that fail before they need the state lock leave no lock file behind.

use crate::support::{Cloud, Dir, MANIFESTS};

#[test]
fn missing_credentials_take_no_lock() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["refresh"]] {
        let run = dir.run(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("HW_ACCESS_KEY"), "{}", run.stderr);
    }
    let run = dir.run(&["import", "images.web", "img-1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("state")), "{names:?}");
    assert_eq!(cloud.emulator.stats().values().sum::<u64>(), 0);
}

#[test]
fn state_edits_without_a_state_take_no_lock() {
    let dir = Dir::local();
    for args in [
        &["state", "rm", "images.web"][..],
        &["state", "mv", "images.web", "images.www"],
    ] {
        let run = dir.run(args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(run.stderr.contains("no state"), "{}", run.stderr);
    }
    assert!(!dir.file("imsform.state.json.lock").exists());
    assert!(!dir.file("imsform.state.json").exists());
}
