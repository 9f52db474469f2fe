//! `imsform plan` and `imsform show PLANFILE`.

use std::os::unix::fs::PermissionsExt;

use imsform::state::{LockOptions, Store};
use serde_json::Value;

use crate::support::{
    Cloud, Dir, LOCAL_TOML, MANIFESTS, TOKEN, finish, plan_json, untimed_plan_json,
};

const NOTICE: &str = "Using the local cloud (.imsform/local-cloud.json): no account needed, \
                      nothing leaves this machine.";

fn addresses(json: &Value, action: &str) -> Vec<String> {
    json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"]["actions"] == serde_json::json!([action]))
        .map(|c| c["address"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_quickstart_plans_three_creates_on_the_local_cloud() {
    let dir = Dir::example("quickstart");
    let run = dir.run(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr.trim_end(), NOTICE);
    assert!(dir.file(".imsform/local-cloud.json").is_file());
    assert!(dir.state().is_none(), "plan wrote a state");
    insta::assert_snapshot!("quickstart_plan", run.stdout);
    let run = dir.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Plan: 3 to add, 0 to change, 0 to destroy.")
    );
}

#[test]
fn json_is_alone_on_stdout_and_matches_the_schema() {
    let dir = Dir::local();
    let run = dir.run(&["plan", "--json", "--no-color"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = plan_json(&run.stdout);
    assert_eq!(addresses(&json, "create"), ["images.db", "images.web"]);
    assert_eq!(json["lineage"], Value::Null);
    assert_eq!(json["refreshed"], true);
    assert!(run.stderr.contains(NOTICE));
    let verbose = dir.run(&["plan", "--json", "-v"]);
    // The same plan, made at another moment: only the timestamp may differ.
    assert_eq!(
        untimed_plan_json(&verbose.stdout),
        untimed_plan_json(&run.stdout),
        "logs leaked into stdout"
    );
    assert!(
        verbose.stderr.contains("INFO planned add=2"),
        "{}",
        verbose.stderr
    );
}

#[test]
fn markdown_goes_to_a_file_or_to_stdout_but_not_beside_json() {
    let dir = Dir::local();
    let run = dir.run(&["plan", "--json", "--markdown", "plan.md"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    plan_json(&run.stdout);
    let markdown = dir.read("plan.md");
    assert!(
        markdown.starts_with("### imsform plan: 2 to add, 0 to change, 0 to destroy"),
        "{markdown}"
    );
    let run = dir.run(&["plan", "--markdown", "-"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, markdown);
    let run = dir.run(&["plan", "--json", "--markdown", "-"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("both want stdout"), "{}", run.stderr);
}

#[test]
fn a_saved_plan_is_private_and_shown_in_three_formats() {
    let dir = Dir::local();
    let run = dir.run(&["plan", "-out", "plan.json"]);
    run.assert_ok_saying(&["Saved the plan to: plan.json"]);
    let full = dir.file("plan.json");
    let command = format!(" -C {} apply {}\n", dir.path().display(), full.display());
    assert!(run.stdout.contains(&command), "{}", run.stdout);
    let mode = std::fs::metadata(dir.file("plan.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let human = run.stdout.split("\nSaved the plan").next().unwrap();
    let shown = dir.run(&["show", "plan.json"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert_eq!(shown.stdout.trim_end(), human.trim_end());
    let json = dir.run(&["plan", "--json", "-out", "again.json"]);
    assert!(
        json.stderr.contains("Saved the plan to: again.json"),
        "{}",
        json.stderr
    );
    let shown = dir.run(&["show", "--json", "plan.json"]);
    assert_eq!(
        untimed_plan_json(&shown.stdout),
        untimed_plan_json(&json.stdout)
    );
    let markdown = dir.run(&["plan", "--markdown", "-"]).stdout;
    assert_eq!(
        dir.run(&["show", "--markdown", "plan.json"]).stdout,
        markdown
    );
    let missing = dir.run(&["show", "nothing.json"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("nothing.json"),
        "{}",
        missing.stderr
    );
}

#[test]
fn targets_and_excludes_narrow_the_plan() {
    let dir = Dir::local();
    let json = |args: &[&str]| {
        let mut all = vec!["plan", "--json"];
        all.extend_from_slice(args);
        let run = dir.run(&all);
        assert_eq!(run.code, 0, "{}", run.stderr);
        addresses(&plan_json(&run.stdout), "create")
    };
    assert_eq!(json(&["--target", "images.web"]), ["images.web"]);
    assert_eq!(json(&["--target", "w*"]), ["images.web"]);
    assert_eq!(json(&["--exclude", "images.web"]), ["images.db"]);
    let bad = dir.run(&["plan", "--replace", "web"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("--replace web"), "{}", bad.stderr);
}

#[test]
fn a_manifest_error_exits_1_with_diagnostics_and_touches_nothing() {
    let dir = Dir::new(
        LOCAL_TOML,
        &MANIFESTS.replace("min_disk: 40\n    tags", "min_dsk: 40\n    tags"),
    );
    let run = dir.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("images.yaml:6:5"), "{}", run.stderr);
    assert!(run.stderr.contains("min_disk"), "{}", run.stderr);
    assert!(dir.state().is_none());
    assert!(
        !dir.file(".imsform").exists(),
        "the local cloud was started"
    );
}

#[test]
fn without_credentials_the_error_names_the_variables() {
    let toml = "[cloud]\nregion = \"cn-north-4\"\nendpoint = \"http://127.0.0.1:9\"\n";
    let dir = Dir::new(toml, MANIFESTS);
    let run = dir.run(&["plan"]);
    assert_eq!(run.code, 1);
    for name in [
        "HW_ACCESS_KEY",
        "HW_SECRET_KEY",
        "HW_AUTH_TOKEN",
        "local = true",
    ] {
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
    }
    assert!(dir.state().is_none());
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_first_plan_against_an_unreachable_endpoint_fails_quickly_naming_the_setting() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let iam = format!("http://127.0.0.1:{}", closed_port());
    let toml = format!(
        "[cloud]\nregion = \"cn-north-4\"\nendpoint = \"{endpoint}\"\n\
         iam_endpoint = \"{iam}\"\n"
    );
    let dir = Dir::new(&toml, MANIFESTS);
    // With the project id configured, the first request is the list of images (IMS); without
    // it, the project id is asked of IAM first.
    let cases = [
        (
            Some("0123456789abcdef0123456789abcdef"),
            "endpoint",
            &endpoint,
        ),
        (None, "iam_endpoint", &iam),
    ];
    for (project, setting, url) in cases {
        let mut command = dir.command(&["plan", "-out", "plan.json"]);
        command
            .env("HW_ACCESS_KEY", "AKTESTUNREACHABLE000")
            .env("HW_SECRET_KEY", "a-secret-key-for-an-unreachable-endpoint");
        if let Some(project) = project {
            command.env("HW_PROJECT_ID", project);
        }
        let started = std::time::Instant::now();
        let run = finish(&mut command);
        let elapsed = started.elapsed();
        assert_eq!(run.code, 1, "{}", run.stderr);
        let host = url.trim_start_matches("http://");
        let hint = format!(
            "nothing accepts connections there: check [cloud] {setting} and that the service is up"
        );
        assert!(
            run.stderr.contains(&format!("cannot reach {host}")) && run.stderr.contains(&hint),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        // Connection failures are retried briefly (at most 10 s), not for the 5-minute budget.
        assert!(elapsed.as_secs() < 20, "took {elapsed:?}");
        assert!(dir.state().is_none(), "a state was written");
        assert!(!dir.file("plan.json").exists(), "a plan file was written");
    }
}

#[test]
fn drift_is_shown_and_refresh_false_does_not_read_the_cloud() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let id = cloud.create_active("web", &[("team", "platform")]);
    let imported = cloud.run(&dir, &["import", "images.web", &id]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let state = dir.state().unwrap();
    let run = cloud.run(&dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stdout.contains("outside imsform"), "{}", run.stdout);
    cloud.rename(&id, "web-renamed");
    let run = cloud.run(&dir, &["plan", "--no-color"]);
    run.assert_ok_saying(&[
        "Objects changed outside imsform",
        "\"web-renamed\" -> \"web\"",
    ]);
    insta::assert_snapshot!("drift", run.stdout.replace(&id, "[IMAGE_ID]"));
    let lists = cloud.served("GET /v2/cloudimages");
    let run = cloud.run(&dir, &["plan", "--refresh=false", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        cloud.served("GET /v2/cloudimages"),
        lists,
        "--refresh=false read the cloud"
    );
    let json = plan_json(&run.stdout);
    assert_eq!(json["refreshed"], false);
    assert_eq!(json["resource_drift"], serde_json::json!([]));
    assert_eq!(addresses(&json, "no-op"), ["images.web"]);
    assert_eq!(dir.state().unwrap(), state, "plan changed the state");
}

#[test]
fn refresh_only_plans_show_only_drift() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let id = cloud.create_active("web", &[("team", "platform")]);
    assert_eq!(cloud.run(&dir, &["import", "images.web", &id]).code, 0);
    cloud.rename(&id, "web-renamed");
    let run = cloud.run(
        &dir,
        &["plan", "--refresh-only", "--detailed-exitcode", "--json"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let json = plan_json(&run.stdout);
    assert_eq!(json["mode"], "refresh_only");
    assert_eq!(json["resource_drift"][0]["address"], "images.web");
    assert!(addresses(&json, "create").is_empty(), "{json:#}");
    assert!(addresses(&json, "update").is_empty(), "{json:#}");
}

#[test]
fn plan_refuses_while_another_run_holds_the_state_lock() {
    let dir = Dir::local();
    let options = LockOptions {
        operation: "test",
        timeout: None,
    };
    let held = Store::open(&dir.file("imsform.state.json"), options).unwrap();
    let run = dir.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the state is locked by"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\"test\""), "{}", run.stderr);
    drop(held);
    assert_eq!(dir.run(&["plan", "--lock-timeout", "5s"]).code, 0);
}

#[test]
fn insecure_is_warned_about() {
    let cloud = Cloud::start();
    let dir = Dir::new(&format!("{}insecure = true\n", cloud.toml()), MANIFESTS);
    let run = cloud.run(&dir, &["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("TLS certificates are not verified"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(cloud.emulator.secret_key()));
}

#[test]
fn an_iam_token_is_enough_and_never_printed() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let id = cloud.create_active("web", &[("team", "platform")]);
    let before = cloud.emulator.requests().len();
    let run = cloud.run_with_token(&dir, &["import", "images.web", &id]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cloud.run_with_token(&dir, &["-vvv", "plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let counts = "Plan: 1 to add, 0 to change, 0 to destroy.";
    assert!(run.stdout.contains(counts), "{}", run.stdout);
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    // Token requests are not signed: no X-Sdk-Date on any of imsform's requests.
    let ours = &cloud.emulator.requests()[before..];
    assert!(ours.len() >= 2, "{ours:?}");
    for request in ours {
        let signed = request.headers.iter().any(|(name, _)| name == "x-sdk-date");
        assert!(!signed, "{request:?}");
    }
}
