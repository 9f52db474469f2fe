//! `share_with` end to end: the real binary against the emulator over loopback. Members are
//! added, removed and read back; a member removed outside imsform is drift and repaired; each
//! sharing change converges in one apply and the next plan says "No changes".

use std::collections::BTreeMap;

use crate::support::{Cloud, Dir};

const P1: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const P2: &str = "5f3c0e1d2b4a49f6a8e7c6d5b4a39281";
const P3: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";

/// An emulator whose region holds the three consumer projects.
fn cloud() -> Cloud {
    Cloud::start_with(|builder| {
        builder
            .project_with_id("cn-north-4_a", P1)
            .project_with_id("cn-north-4_b", P2)
            .project_with_id("cn-north-4_c", P3)
    })
}

fn manifests(members: &[&str]) -> String {
    format!(
        "\
images:
  web:
    name: web
    image_url: bucket:web.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
    share_with: [{}]
",
        members.join(", ")
    )
}

fn image_id(dir: &Dir) -> String {
    dir.state_json()["images"]["images.web"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn recorded_members(dir: &Dir) -> Vec<String> {
    let state = dir.state_json();
    let members = state["images"]["images.web"]["attributes"]["share_with"].as_array();
    members
        .map(|m| m.iter().map(|p| p.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn pending(projects: &[&str]) -> BTreeMap<String, String> {
    projects
        .iter()
        .map(|p| ((*p).to_owned(), "pending".to_owned()))
        .collect()
}

fn assert_no_changes(cloud: &Cloud, dir: &Dir) {
    let plan = cloud.run(dir, &["plan", "--detailed-exitcode", "--no-color"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[test]
fn members_are_shared_changed_and_read_back_in_one_apply_each() {
    let cloud = cloud();
    let dir = cloud.dir(&manifests(&[P1, P2]));
    let plan = cloud.run(&dir, &["plan", "--no-color"]);
    assert!(
        plan.stdout.contains(&format!(
            "      + share_with  = [\n          + \"{P1}\",\n          + \"{P2}\",\n        ]"
        )),
        "{}",
        plan.stdout
    );
    cloud
        .run(&dir, &["apply", "--auto-approve"])
        .assert_ok_saying(&["Apply complete! Resources: 1 added, 0 changed, 0 destroyed."]);
    let id = image_id(&dir);
    assert_eq!(cloud.members(&id), pending(&[P1, P2]));
    assert_eq!(recorded_members(&dir), [P1, P2]);
    assert_eq!(dir.state_json()["pending"], serde_json::json!([]));
    assert_no_changes(&cloud, &dir);

    dir.write("images.yaml", &manifests(&[P2, P3]));
    let plan = cloud.run(&dir, &["plan", "--no-color"]);
    let expected = format!(
        "      ~ share_with = [\n          + \"{P3}\",\n          - \"{P1}\", # pending\n            \
         # (1 unchanged element hidden: 1 pending)\n        ]"
    );
    assert!(plan.stdout.contains(&expected), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    let json = crate::support::plan_json(cloud.run(&dir, &["plan", "--json"]).stdout);
    let change = &json["resource_changes"][0];
    assert_eq!(change["member_status"][P1], "pending");
    assert_eq!(
        change["change"]["after"]["share_with"],
        serde_json::json!([P2, P3])
    );
    cloud
        .run(&dir, &["apply", "--auto-approve"])
        .assert_ok_saying(&["Apply complete! Resources: 0 added, 1 changed, 0 destroyed."]);
    assert_eq!(cloud.members(&id), pending(&[P2, P3]));
    assert_eq!(recorded_members(&dir), [P2, P3]);
    assert_no_changes(&cloud, &dir);

    dir.write("images.yaml", &manifests(&[]));
    cloud
        .run(&dir, &["apply", "--auto-approve"])
        .assert_ok_saying(&["Apply complete! Resources: 0 added, 1 changed, 0 destroyed."]);
    assert!(cloud.members(&id).is_empty());
    assert!(recorded_members(&dir).is_empty());
    assert_no_changes(&cloud, &dir);
}

#[test]
fn a_member_removed_outside_imsform_is_drift_and_shared_again() {
    let cloud = cloud();
    let dir = cloud.dir(&manifests(&[P1, P2]));
    cloud
        .run(&dir, &["apply", "--auto-approve"])
        .assert_ok_saying(&["1 added"]);
    let id = image_id(&dir);
    cloud.unshare(&id, P1);
    let drift = cloud.run(
        &dir,
        &[
            "plan",
            "--refresh-only",
            "--detailed-exitcode",
            "--no-color",
        ],
    );
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    assert!(
        drift.stdout.contains("Objects changed outside imsform"),
        "{}",
        drift.stdout
    );
    assert!(
        drift.stdout.contains(&format!("- \"{P1}\",")),
        "{}",
        drift.stdout
    );
    let plan = cloud.run(&dir, &["plan", "--no-color"]);
    assert!(
        plan.stdout.contains(&format!("+ \"{P1}\",")),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
    cloud
        .run(&dir, &["apply", "--auto-approve"])
        .assert_ok_saying(&["0 added, 1 changed, 0 destroyed"]);
    assert_eq!(cloud.members(&id), pending(&[P1, P2]));
    assert_no_changes(&cloud, &dir);
}

#[test]
fn a_project_id_that_is_not_one_fails_validation_and_touches_nothing() {
    let cloud = cloud();
    let dir = cloud.dir(&manifests(&[P1, "not-a-project"]));
    let run = cloud.run(&dir, &["plan"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`not-a-project` in `share_with` of image `images.web` is not a project id"),
        "{}",
        run.stderr
    );
    assert_eq!(cloud.total_requests(), 0);
    assert!(dir.state().is_none());
}

#[test]
fn sharing_with_the_owning_project_fails_at_plan_time_and_nothing_is_written() {
    let cloud = cloud();
    let owner = cloud.emulator.project_id().to_owned();
    let dir = cloud.dir(&manifests(&[P1, &owner]));
    let run = cloud.run(&dir, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "images.web: share_with lists {owner}, the project that owns the image"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(cloud.writes(), Vec::<(String, u64)>::new());
}
