//! Every flag imsform shares with Terraform, in Terraform's single-dash spelling, on the real
//! binary against the local cloud: each must do what its double-dash form does.

use crate::support::Dir;

fn applied() -> Dir {
    let dir = Dir::local();
    let run = dir.run(&["apply", "-auto-approve"]);
    run.assert_ok_saying(&["Apply complete! Resources: 2 added"]);
    dir
}

#[test]
fn selection_and_replacement_flags() {
    let dir = applied();
    let run = dir.run(&["plan", "-destroy", "-target=images.web"]);
    run.assert_ok_saying(&[
        "Plan: 0 to add, 0 to change, 1 to destroy.",
        "# images.web will be destroyed",
    ]);
    let run = dir.run(&["plan", "-destroy", "-exclude=images.web"]);
    assert!(
        run.stdout.contains("# images.db will be destroyed"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("images.web will"), "{}", run.stdout);
    let run = dir.run(&["plan", "-replace=images.db"]);
    assert!(
        run.stdout.contains("# images.db must be replaced"),
        "{}",
        run.stdout
    );
    let run = dir.run(&["plan", "-refresh=false", "-detailed-exitcode"]);
    assert_eq!(run.code, 0, "no changes: {}", run.stderr);
    let run = dir.run(&["plan", "-replace", "images.db", "-detailed-exitcode"]);
    assert_eq!(run.code, 2, "changes: {}", run.stderr);
}

#[test]
fn output_and_run_flags() {
    let dir = applied();
    let run = dir.run(&["plan", "-out", "one.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = dir.run(&[
        "plan",
        "-out=two.json",
        "-parallelism=3",
        "-lock-timeout=2s",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for file in ["one.json", "two.json"] {
        let saved: serde_json::Value = serde_json::from_str(&dir.read(file)).unwrap();
        assert!(saved.is_object(), "{file}");
    }
    let run = dir.run(&["plan", "-parallelism=0"]);
    assert_eq!(run.code, 1, "the value reaches the check");
    assert!(run.stderr.contains("--parallelism 0"), "{}", run.stderr);
    let run = dir.run(&["plan", "-json"]);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(plan.is_object());
    let run = dir.run(&["-no-color", "plan", "-refresh-only"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'));
    let run = dir.run(&["apply", "-refresh-only", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = dir.run(&["apply", "-destroy", "-auto-approve"]);
    run.assert_ok_saying(&["2 destroyed"]);
}

#[test]
fn unknown_single_dash_words_are_still_refused() {
    let dir = Dir::local();
    let run = dir.run(&["plan", "-targets=images.web"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("unexpected argument"), "{}", run.stderr);
}
