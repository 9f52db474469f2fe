//! Destroying on purpose and by accident: `apply --destroy` asks Terraform's destroy question,
//! and a plan over some of the manifests does not destroy the images of the files it left out.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::Dir;

fn applied_multi_file() -> Dir {
    let dir = Dir::example("multi-file");
    let run = dir.run(&["apply", "--auto-approve"]);
    run.assert_ok_saying(&["3 added"]);
    dir
}

#[test]
fn a_plan_over_some_files_leaves_the_unlisted_images_alone_and_says_so() {
    let dir = applied_multi_file();
    let state = dir.state().unwrap();
    let run = dir.run(&["apply", "--auto-approve", "linux.yaml", "defaults.yaml"]);
    run.assert_ok_saying(&["No changes."]);
    assert!(
        run.stderr.contains(
            "the paths given leave out manifests of the directory (databases.yml), so these \
             managed images cannot be seen and are left alone: images.postgres-16."
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--destroy-unlisted"), "{}", run.stderr);
    assert_eq!(dir.state().unwrap(), state, "the state is unchanged");

    let run = dir.run(&["plan", "--destroy-unlisted", "linux.yaml", "defaults.yaml"]);
    run.assert_ok_saying(&[
        "# images.postgres-16 will be destroyed",
        "0 to add, 0 to change, 1 to destroy",
    ]);

    for covering in [
        &["linux.yaml", "defaults.yaml", "databases.yml"][..],
        &["."],
    ] {
        let run = dir.run(&[&["plan"], covering].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            !run.stderr.contains("left alone"),
            "{covering:?}: {}",
            run.stderr
        );
        assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    }
}

#[test]
fn apply_destroy_asks_the_destroy_question_on_a_terminal() {
    let dir = Dir::local();
    let run = dir.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // `script` gives the command a terminal on stdin, as a person at a shell has.
    let command = format!(
        "{} -C {} apply --destroy",
        env!("CARGO_BIN_EXE_imsform"),
        dir.path().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs the command on a terminal");
    child.stdin.take().unwrap().write_all(b"no\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Do you really want to destroy all managed images?"),
        "{text}"
    );
    assert!(
        text.contains("There is no undo. Only 'yes' will be accepted"),
        "{text}"
    );
    assert!(text.contains("apply cancelled"), "{text}");
    assert_eq!(dir.state_json()["images"].as_object().unwrap().len(), 2);

    let run = dir.run(&["apply", "--destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Warning: --destroy: every managed image in this plan (2) is deleted"),
        "{}",
        run.stderr
    );
}
