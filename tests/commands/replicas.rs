//! Replicas end to end with the real binary on the local cloud (design.md section 10): an image
//! with two replicas converges; removing one and adding another converges; a replica deleted
//! and one renamed outside imsform are drift that one apply repairs; replacing the source
//! replaces its replicas and deletes the old copies; with members too (the local cloud serves
//! the consumer projects the manifests name). The cloud's world is read from the local
//! cloud's file after each run.

use serde_json::Value;

use super::support::*;

const TOML: &str = "[cloud]\nlocal = true\ncopy_agency = \"ims_admin_agency\"\n";

const IMAGE: &str = "\
images:
  web:
    name: web-base
    image_url: my-bucket:web/base.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
    replicas:
";

fn manifests(replicas: &str) -> String {
    format!("{IMAGE}{replicas}")
}

/// The local cloud's images, live ones only.
fn world(dir: &Dir) -> Vec<Value> {
    let world: Value = serde_json::from_str(&dir.read(".imsform/local-cloud.json")).unwrap();
    world["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] != "deleted" && i["gone_at"].is_null())
        .cloned()
        .collect()
}

/// The replica ids the state records, by region.
fn replicas(dir: &Dir) -> Vec<(String, String)> {
    let state = dir.state_json();
    let recorded = state["images"]["images.web"]["replicas"]
        .as_object()
        .cloned();
    recorded
        .unwrap_or_default()
        .into_iter()
        .map(|(region, r)| (region, r["id"].as_str().unwrap().to_owned()))
        .collect()
}

fn apply(dir: &Dir) -> Run {
    let run = dir.run(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run
}

fn converged(dir: &Dir) {
    dir.run(&["plan", "--no-color"])
        .assert_ok_saying(&["No changes. Your images match the manifests."]);
}

#[test]
fn replicas_are_created_changed_repaired_and_follow_their_source() {
    let dir = Dir::new(
        TOML,
        &manifests("      cn-south-1: {}\n      ap-southeast-1: { name: web-base-sg }\n"),
    );
    let run = apply(&dir);
    assert!(
        run.stdout
            .contains("Plan: 3 to add, 0 to change, 0 to destroy.")
    );
    converged(&dir);
    dir.run(&["show", "--no-color"]).assert_ok_saying(&[
        "# images.web.replicas[\"ap-southeast-1\"]:",
        "    name        = \"web-base-sg\"",
    ]);
    let first = replicas(&dir);
    assert_eq!(
        first.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        ["ap-southeast-1", "cn-south-1"]
    );
    let images = world(&dir);
    assert_eq!(images.len(), 3, "the source and two copies");
    let sg = images
        .iter()
        .find(|i| i["id"] == first[0].1.as_str())
        .unwrap();
    assert_eq!(sg["name"], "web-base-sg");
    assert!(
        sg["tags"]["imsform-token"].is_string(),
        "the copy carries its token"
    );

    // Remove one, add another.
    dir.write(
        "images.yaml",
        &manifests(
            "      ap-southeast-1: { name: web-base-sg }\n      eu-west-0: { description: EU }\n",
        ),
    );
    let planned = dir.run(&["plan", "-out", "plan.json", "--no-color"]);
    assert!(
        planned
            .stdout
            .contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{}",
        planned.stdout
    );
    // The saved plan: each replica is its own resource change, valid for the schema.
    let json = plan_json(dir.read("plan.json"));
    let entries: Vec<(&str, &str, String)> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let kind = c["type"].as_str().unwrap();
            let actions = c["change"]["actions"].to_string();
            (c["address"].as_str().unwrap(), kind, actions)
        })
        .collect();
    let replica = "imsform_image_replica";
    assert_eq!(
        entries,
        [
            ("images.web", "imsform_image", r#"["no-op"]"#.to_owned()),
            (
                r#"images.web.replicas["ap-southeast-1"]"#,
                replica,
                r#"["no-op"]"#.to_owned()
            ),
            (
                r#"images.web.replicas["cn-south-1"]"#,
                replica,
                r#"["delete"]"#.to_owned()
            ),
            (
                r#"images.web.replicas["eu-west-0"]"#,
                replica,
                r#"["create"]"#.to_owned()
            ),
        ]
    );
    assert_eq!(
        (
            json["summary"]["add"].as_u64(),
            json["summary"]["destroy"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let run = dir.run(&["apply", "plan.json", "--no-color"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    converged(&dir);
    let second = replicas(&dir);
    assert_eq!(second[0], first[0], "the kept replica is untouched");
    assert_eq!(second[1].0, "eu-west-0");
    assert_eq!(world(&dir).len(), 3, "the removed copy is deleted");

    // Outside imsform: one copy deleted, the other renamed.
    let path = dir.file(".imsform/local-cloud.json");
    let mut cloud: Value = serde_json::from_str(&dir.read(".imsform/local-cloud.json")).unwrap();
    let images = cloud["images"].as_array_mut().unwrap();
    images.retain(|i| i["id"] != second[1].1.as_str());
    let renamed = images
        .iter_mut()
        .find(|i| i["id"] == second[0].1.as_str())
        .unwrap();
    renamed["name"] = "renamed-by-hand".into();
    std::fs::write(&path, serde_json::to_vec(&cloud).unwrap()).unwrap();
    let plan = dir.run(&["plan", "--no-color"]);
    for text in [
        "Objects changed outside imsform",
        "# images.web.replicas[\"eu-west-0\"] has been deleted",
        "# images.web.replicas[\"ap-southeast-1\"] has changed",
        "# images.web.replicas[\"eu-west-0\"] will be created",
        "# images.web.replicas[\"ap-southeast-1\"] will be updated in-place",
        "Plan: 1 to add, 1 to change, 0 to destroy.",
    ] {
        assert!(plan.stdout.contains(text), "{text:?} in\n{}", plan.stdout);
    }
    apply(&dir);
    converged(&dir);

    // Replacing the source replaces its copies; the old ones are deleted.
    let before = replicas(&dir);
    dir.write(
        "images.yaml",
        &manifests(
            "      ap-southeast-1: { name: web-base-sg }\n      eu-west-0: { description: EU }\n",
        )
        .replace("base.qcow2", "base-2.qcow2"),
    );
    let run = apply(&dir);
    assert!(
        run.stdout
            .contains("Plan: 3 to add, 0 to change, 3 to destroy."),
        "{}",
        run.stdout
    );
    converged(&dir);
    let after = replicas(&dir);
    let live: Vec<Value> = world(&dir);
    assert_eq!(live.len(), 3, "no orphan, no duplicate: {live:#?}");
    for ((region, old), (_, new)) in before.iter().zip(&after) {
        assert_ne!(old, new, "{region} was replaced");
        assert!(live.iter().all(|i| i["id"] != old.as_str()));
    }
}

#[test]
fn a_replica_in_the_source_region_or_without_an_agency_is_refused_before_any_change() {
    let dir = Dir::new(
        "[cloud]\nlocal = true\n",
        &manifests("      cn-north-4: {}\n"),
    );
    let run = dir.run(&["plan", "--no-color"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "images.yaml:8:7: images.web.replicas[\"cn-north-4\"]: the image itself is in \
             cn-north-4"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`[cloud] copy_agency` is not set"),
        "{}",
        run.stderr
    );
    assert!(dir.state().is_none(), "nothing was written");
}

/// The members of the local cloud's image `id`, as its world file holds them.
fn members_in_world(dir: &Dir, id: &str) -> Vec<String> {
    let image = world(dir).into_iter().find(|i| i["id"] == id).unwrap();
    let members = image["members"].as_object().cloned().unwrap_or_default();
    members.keys().cloned().collect()
}

fn source_id(dir: &Dir) -> String {
    dir.state_json()["images"]["images.web"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn members_and_replicas_converge_on_the_local_cloud_and_follow_edits_and_drift() {
    const P1: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    const P2: &str = "5f3c0e1d2b4a49f6a8e7c6d5b4a39281";
    const P3: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";
    let shared = |members: &[&str], replicas: &str| {
        let image = IMAGE.replace(
            "    replicas:\n",
            &format!("    share_with: [{}]\n    replicas:\n", members.join(", ")),
        );
        format!("{image}{replicas}")
    };
    let dir = Dir::new(
        TOML,
        &shared(
            &[P1, P2],
            "      cn-south-1: {}\n      ap-southeast-1: {}\n",
        ),
    );
    let run = apply(&dir);
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{}",
        run.stdout
    );
    converged(&dir);
    assert_eq!(members_in_world(&dir, &source_id(&dir)), [P1, P2]);
    assert_eq!(replicas(&dir).len(), 2);

    // One member and one replica removed, others added: one apply.
    dir.write(
        "images.yaml",
        &shared(&[P2, P3], "      cn-south-1: {}\n      eu-west-0: {}\n"),
    );
    let run = apply(&dir);
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 1 added, 1 changed, 1 destroyed."),
        "{}",
        run.stdout
    );
    converged(&dir);
    assert_eq!(members_in_world(&dir, &source_id(&dir)), [P2, P3]);
    let regions: Vec<String> = replicas(&dir).into_iter().map(|(r, _)| r).collect();
    assert_eq!(regions, ["cn-south-1", "eu-west-0"]);

    // A member removed outside imsform is drift, and one apply shares it again.
    let path = dir.file(".imsform/local-cloud.json");
    let mut cloud: Value = serde_json::from_str(&dir.read(".imsform/local-cloud.json")).unwrap();
    let id = source_id(&dir);
    let image = cloud["images"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    image["members"].as_object_mut().unwrap().remove(P3);
    std::fs::write(&path, serde_json::to_vec(&cloud).unwrap()).unwrap();
    let plan = dir.run(&["plan", "--no-color"]);
    for text in [
        "Objects changed outside imsform",
        &format!("+ \"{P3}\","),
        "Plan: 0 to add, 1 to change, 0 to destroy.",
    ] {
        assert!(plan.stdout.contains(text), "{text:?} in\n{}", plan.stdout);
    }
    apply(&dir);
    converged(&dir);
    assert_eq!(members_in_world(&dir, &id), [P2, P3]);

    // The replacement of the source is shared like it, and its copies follow it.
    dir.write(
        "images.yaml",
        &shared(&[P2, P3], "      cn-south-1: {}\n      eu-west-0: {}\n")
            .replace("base.qcow2", "base-2.qcow2"),
    );
    apply(&dir);
    converged(&dir);
    let new_id = source_id(&dir);
    assert_ne!(new_id, id);
    assert_eq!(members_in_world(&dir, &new_id), [P2, P3]);
    assert_eq!(world(&dir).len(), 3, "the new source and its two copies");
}
