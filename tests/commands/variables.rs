//! Build variables through the real binary on the local cloud: a value from each source
//! (`--var`, `--var-file`, `IMSFORM_VAR_*`, a default) reaching the plan, each error exiting 1
//! at its file:line:col with nothing written, and a saved plan refusing other values.

use serde_json::Value;

use crate::support::{Dir, LOCAL_TOML, Run};

const MANIFESTS: &str = "\
variables:
  build: { description: \"the image build, set by the pipeline\" }
  os: {}
  team: { default: platform }
  flavour: { default: small }
images:
  web:
    name: web-${var.build}
    image_url: bucket:web/${var.build}-${var.flavour}.qcow2
    os_version: ${var.os}
    min_disk: 40
    tags: { team: \"${var.team}\" }
";

const OS: &str = "Ubuntu 22.04 server 64bit";

fn dir() -> Dir {
    let dir = Dir::new(LOCAL_TOML, MANIFESTS);
    dir.write(
        "prod.vars.toml",
        "# from the pipeline\nflavour = \"large\"\nbuild = 40\n",
    );
    dir
}

/// Runs with `IMSFORM_VAR_os` set and no other `IMSFORM_VAR_*` from the outside.
fn run(dir: &Dir, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = dir.command(args);
    command
        .env_remove("IMSFORM_VAR_build")
        .env_remove("IMSFORM_VAR_team");
    command.env("IMSFORM_VAR_os", OS);
    for (name, value) in env {
        command.env(name, value);
    }
    crate::support::finish(&mut command)
}

fn planned_web(run: &Run) -> Value {
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    let change = &plan["resource_changes"][0];
    assert_eq!(change["address"], "images.web");
    change["change"]["after"].clone()
}

#[test]
fn each_source_gives_values_in_terraform_order() {
    let dir = dir();
    // The file (build 40, flavour large), then --var build=41 after it; os from the
    // environment; team from its default.
    let args = [
        "plan",
        "--json",
        "--var-file",
        "prod.vars.toml",
        "--var",
        "build=41",
    ];
    let after = planned_web(&run(&dir, &args, &[]));
    assert_eq!(after["name"], "web-41");
    assert_eq!(after["image_url"], "bucket:web/41-large.qcow2");
    assert_eq!(after["os_version"], OS);
    assert_eq!(after["tags"]["team"], "platform");
    // The flag first, the file after it: the file wins; the environment loses to both.
    let args = [
        "plan",
        "--json",
        "--var",
        "build=41",
        "--var-file=prod.vars.toml",
    ];
    let after = planned_web(&run(&dir, &args, &[("IMSFORM_VAR_build", "39")]));
    assert_eq!(after["name"], "web-40");
    // The environment beats a default.
    let args = ["plan", "--json", "--var", "build=1"];
    let after = planned_web(&run(&dir, &args, &[("IMSFORM_VAR_team", "data")]));
    assert_eq!(after["tags"]["team"], "data");
    // The text plan shows the substituted values.
    let text = run(&dir, &["plan", "--var", "build=7"], &[]);
    text.assert_ok_saying(&["image_url   = \"bucket:web/7-small.qcow2\""]);
    // validate resolves the same way.
    let valid = run(&dir, &["validate", "--var", "build=7"], &[]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    assert!(dir.state().is_none());
}

#[test]
fn each_error_exits_1_where_it_is_and_writes_nothing() {
    let dir = dir();
    dir.write("bad.vars.toml", "build = \"1\"\nbiuld = \"2\"\n");
    let cases: [(&[&str], &str); 6] = [
        (
            &["plan"],
            "error: variable `build` has no value\n --> images.yaml:8:15",
        ),
        (
            &["plan", "--var", "build"],
            "error: --var `build`: expected NAME=VALUE",
        ),
        (
            &["plan", "--var", "b-uild=1"],
            "`b-uild` is not a variable name",
        ),
        (&["plan", "--var", "buld=1"], "did you mean `build`?"),
        (
            &["apply", "--auto-approve", "--var-file", "missing.toml"],
            "cannot read `missing.toml`",
        ),
        (
            &["validate", "--var-file", "bad.vars.toml"],
            "error: no variable `biuld` is declared\n --> bad.vars.toml:2:1",
        ),
    ];
    for (args, expected) in cases {
        let found = run(&dir, args, &[]);
        assert_eq!(found.code, 1, "{args:?}: {}", found.stderr);
        assert!(
            found.stderr.contains(expected),
            "{args:?}: {}",
            found.stderr
        );
        assert_eq!(found.stdout, "", "{args:?}");
    }
    assert!(dir.state().is_none(), "nothing was written");
    assert!(
        !dir.file(".imsform/local-cloud.json").exists(),
        "no cloud was touched"
    );
    // An undeclared reference and a bad name in `variables:`.
    dir.write(
        "images.yaml",
        &MANIFESTS
            .replace("name: web-${var.build}", "name: web-${var.buidl}")
            .replace("  os: {}", "  os: {}\n  web-os: {}"),
    );
    let found = run(&dir, &["validate", "--var", "build=1"], &[]);
    assert_eq!(found.code, 1);
    for expected in [
        "error: variable `buidl` is not declared\n --> images.yaml:9:15",
        "= hint: did you mean `build`?",
        "error: `web-os` is not a valid variable name\n --> images.yaml:4:3",
    ] {
        assert!(
            found.stderr.contains(expected),
            "{expected}: {}",
            found.stderr
        );
    }
}

/// The arguments, the `IMSFORM_VAR_*` environment and what stderr must say.
type Refusal<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn a_saved_plan_records_its_values_and_refuses_others() {
    let dir = dir();
    let planned = run(
        &dir,
        &["plan", "-out", "plan.json", "--var", "build=41"],
        &[],
    );
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let saved: Value = serde_json::from_str(&dir.read("plan.json")).unwrap();
    let variables = &saved["recorded_inputs"]["variables"];
    assert_eq!(variables["build"], "41");
    assert_eq!(variables["os"], OS);
    assert_eq!(variables["team"], "platform");
    let refusals: [Refusal; 3] = [
        (
            &["apply", "plan.json", "--var", "build=42"],
            &[],
            "error: variable `build` is \"42\" from --var, but the saved plan was made with \"41\"",
        ),
        (
            &["apply", "plan.json"],
            &[("IMSFORM_VAR_team", "data")],
            "variable `team` is \"data\" from the environment",
        ),
        (
            &["apply", "plan.json", "--var-file", "prod.vars.toml"],
            &[],
            " --> prod.vars.toml:2:1",
        ),
    ];
    let mut rendered = String::new();
    for (args, env, expected) in refusals {
        let refused = run(&dir, args, env);
        rendered.push_str(&format!(
            "$ imsform {}\n{}\n",
            args.join(" "),
            refused.stderr
        ));
        assert_eq!(refused.code, 1, "{args:?}");
        assert!(
            refused.stderr.contains(expected),
            "{args:?}: {}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("the saved plan was not applied"),
            "{}",
            refused.stderr
        );
        assert!(dir.state().is_none(), "{args:?} wrote a state");
    }
    insta::assert_snapshot!("saved_plan_refusals", rendered);
    // The same values (or none) apply the plan.
    let applied = run(&dir, &["apply", "plan.json", "--var", "build=41"], &[]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let state = dir.state_json();
    assert_eq!(
        state["images"]["images.web"]["attributes"]["name"],
        "web-41"
    );
}

#[test]
fn import_and_refresh_resolve_variables_like_plan() {
    let dir = dir();
    let applied = run(&dir, &["apply", "--auto-approve", "--var", "build=8"], &[]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let id = dir.state_json()["images"]["images.web"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refreshed = run(&dir, &["refresh", "--var", "build=8"], &[]);
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    assert_eq!(run(&dir, &["state", "rm", "images.web"], &[]).code, 0);
    let unset = run(&dir, &["import", "images.web", &id], &[]);
    assert_eq!(unset.code, 1);
    assert!(
        unset
            .stderr
            .contains("error: variable `build` has no value"),
        "{}",
        unset.stderr
    );
    let imported = run(
        &dir,
        &["import", "images.web", &id, "--var", "build=9"],
        &[],
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    // The emulator reports the file the image was registered from (build 8): import records
    // it, and names the manifest's file as resolved with --var build=9.
    assert!(
        imported.stdout.contains(
            "registered from \"bucket:web/8-small.qcow2\", but the manifest names \
             \"bucket:web/9-small.qcow2\""
        ),
        "{}",
        imported.stdout
    );
    let record = &dir.state_json()["images"]["images.web"];
    assert_eq!(
        record["attributes"]["image_url"],
        "bucket:web/8-small.qcow2"
    );
}
