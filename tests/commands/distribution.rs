//! Issue 17's acceptance, end to end with the real binary against a multi-region emulator: an
//! image with two members and two replicas converges; removing a member and a replica and
//! adding others converges; a member removed and a replica deleted outside imsform are drift
//! that one apply repairs; replacing the source replaces its replicas (old copies deleted) and
//! shares the new image. Each step is one apply, then "No changes".

use serde_json::Value;

use crate::support::{Cloud, Dir};

const P1: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const P2: &str = "5f3c0e1d2b4a49f6a8e7c6d5b4a39281";
const P3: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";
const REGIONS: [&str; 3] = ["cn-south-1", "ap-southeast-1", "eu-west-0"];

fn cloud() -> Cloud {
    Cloud::start_with(|mut builder| {
        builder = builder.region("cn-north-4");
        for region in REGIONS {
            builder = builder.region(region);
        }
        builder
            .project_with_id("cn-north-4_a", P1)
            .project_with_id("cn-north-4_b", P2)
            .project_with_id("cn-north-4_c", P3)
    })
}

fn manifests(members: &[&str], replicas: &[&str], file: &str) -> String {
    let replicas: String = replicas
        .iter()
        .map(|region| format!("      {region}: {{}}\n"))
        .collect();
    format!(
        "images:\n  web:\n    name: web\n    image_url: bucket:{file}.qcow2\n    os_version: Ubuntu \
         22.04 server 64bit\n    min_disk: 40\n    share_with: [{}]\n    replicas:\n{replicas}",
        members.join(", ")
    )
}

fn apply_and_converge(cloud: &Cloud, dir: &Dir, summary: &str) {
    let run = cloud.run(dir, &["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(summary),
        "{summary:?} in\n{}",
        run.stdout
    );
    let plan = cloud.run(dir, &["plan", "--detailed-exitcode", "--no-color"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

/// The image id, its members as the cloud has them, and its replicas (region, id) as the
/// state records them, each checked against the cloud: one live copy of this image per region.
fn observed(cloud: &Cloud, dir: &Dir) -> (String, Vec<String>, Vec<(String, String)>) {
    let state = dir.state_json();
    let record = &state["images"]["images.web"];
    let id = record["id"].as_str().unwrap().to_owned();
    let members = cloud.members(&id).into_keys().collect();
    let replicas: Vec<(String, String)> = record["replicas"]
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|(region, r)| (region, r["id"].as_str().unwrap().to_owned()))
        .collect();
    let copies: Vec<Value> = cloud
        .emulator
        .images()
        .into_iter()
        .filter(|i| i["status"] != "deleted")
        .filter(|i| {
            i["__data_origin"]
                .as_str()
                .is_some_and(|o| o.starts_with("image,"))
        })
        .collect();
    let mut ids: Vec<&str> = copies.iter().map(|c| c["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut recorded: Vec<&str> = replicas.iter().map(|(_, id)| id.as_str()).collect();
    recorded.sort_unstable();
    assert_eq!(ids, recorded, "no orphan, no duplicate copy: {copies:#?}");
    for copy in &copies {
        assert_eq!(copy["__data_origin"], format!("image,cn-north-4,{id}"));
    }
    (id, members, replicas)
}

fn regions(replicas: &[(String, String)]) -> Vec<&str> {
    replicas.iter().map(|(region, _)| region.as_str()).collect()
}

#[test]
fn members_and_replicas_are_kept_in_step_repaired_and_follow_their_source() {
    let cloud = cloud();
    let dir = Dir::new(
        &cloud.toml_with_regions(&REGIONS),
        &manifests(&[P1, P2], &["cn-south-1", "ap-southeast-1"], "web"),
    );
    apply_and_converge(&cloud, &dir, "Resources: 3 added, 0 changed, 0 destroyed.");
    let (id, members, replicas) = observed(&cloud, &dir);
    assert_eq!(members, [P1, P2]);
    assert_eq!(regions(&replicas), ["ap-southeast-1", "cn-south-1"]);

    // A member and a replica removed, others added.
    dir.write(
        "images.yaml",
        &manifests(&[P2, P3], &["ap-southeast-1", "eu-west-0"], "web"),
    );
    apply_and_converge(&cloud, &dir, "Resources: 1 added, 1 changed, 1 destroyed.");
    let (same, members, second) = observed(&cloud, &dir);
    assert_eq!(same, id);
    assert_eq!(members, [P2, P3]);
    assert_eq!(regions(&second), ["ap-southeast-1", "eu-west-0"]);
    assert_eq!(second[0], replicas[0], "the kept replica is the same copy");

    // Outside imsform: a member removed, a copy deleted.
    cloud.unshare(&id, P3);
    cloud.delete_in("eu-west-0", &second[1].1);
    let plan = cloud.run(&dir, &["plan", "--no-color"]);
    for text in [
        "Objects changed outside imsform",
        "# images.web.replicas[\"eu-west-0\"] has been deleted",
        "# images.web.replicas[\"eu-west-0\"] will be created",
        "Plan: 1 to add, 1 to change, 0 to destroy.",
    ] {
        assert!(plan.stdout.contains(text), "{text:?} in\n{}", plan.stdout);
    }
    apply_and_converge(&cloud, &dir, "Resources: 1 added, 1 changed, 0 destroyed.");
    let (_, members, repaired) = observed(&cloud, &dir);
    assert_eq!(members, [P2, P3]);
    assert_ne!(repaired[1].1, second[1].1, "a new copy");

    // The source replaced: a new image, shared, and new copies; the old ones deleted.
    dir.write(
        "images.yaml",
        &manifests(&[P2, P3], &["ap-southeast-1", "eu-west-0"], "web-2"),
    );
    apply_and_converge(&cloud, &dir, "Resources: 3 added, 0 changed, 3 destroyed.");
    let (new, members, replaced) = observed(&cloud, &dir);
    assert_ne!(new, id);
    assert_eq!(members, [P2, P3]);
    for ((region, old), (_, copy)) in repaired.iter().zip(&replaced) {
        assert_ne!(old, copy, "{region} was copied again from the new image");
    }
}
