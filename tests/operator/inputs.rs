//! The tests' copies of `examples/` take only the tracked inputs, so the README's first command
//! (which leaves the local cloud's world and a state in `examples/quickstart`) changes no test;
//! and a plan file that is not there is reported as a plan file.

use crate::support::Dir;

#[test]
fn copies_of_an_example_ignore_what_the_readme_commands_leave_behind() {
    // The README's first command, run in a copy of the quickstart.
    let used = Dir::example("quickstart");
    let run = used.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = used.run(&["plan", "-out", "plan.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(used.file(".imsform/local-cloud.json").is_file());
    assert!(used.file("imsform.state.json").is_file());

    let fresh = Dir::inputs_of(used.path());
    let mut names: Vec<String> = std::fs::read_dir(fresh.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["images.yaml", "imsform.toml"]);
    let run = fresh.run(&["plan"]);
    assert!(
        run.stdout
            .contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
}

#[test]
fn a_missing_plan_file_is_named_as_a_plan_file() {
    let dir = Dir::local();
    let run = dir.run(&["apply", "plan.json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read the plan file"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("plan.json"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("manifests are not valid"),
        "{}",
        run.stderr
    );
    assert!(dir.state().is_none());
}
