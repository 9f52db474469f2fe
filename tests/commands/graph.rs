//! `imsform graph`: the DOT graph of the order apply follows, for the manifests and for a saved
//! plan, run as the real binary on the local cloud. A replica is created after its image and
//! deleted before its image is replaced; a saved plan gives the same graph as the manifests.

use super::support::*;

const TOML: &str = "[cloud]\nlocal = true\ncopy_agency = \"ims_admin_agency\"\n";

fn manifests(min_disk: u32, order: &str, replicas: &str) -> String {
    format!(
        "images:
  web:
    name: web-base
    image_url: my-bucket:web/base.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: {min_disk}
    lifecycle: {{ replace_order: {order} }}
    replicas:
{replicas}  db:
    name: db-base
    image_url: my-bucket:db/base.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
"
    )
}

/// The graph's edges, as `from -> to` lines without indentation.
fn edges(dot: &str) -> Vec<String> {
    dot.lines()
        .map(str::trim)
        .filter(|l| l.contains(" -> "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_new_image_comes_before_its_replicas_and_a_saved_plan_draws_the_same_graph() {
    let dir = Dir::new(
        TOML,
        &manifests(40, "create_before_destroy", "      cn-south-1: {}\n"),
    );
    let graph = dir.run(&["graph"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    assert!(graph.stdout.starts_with("digraph {"), "{}", graph.stdout);
    for node in [
        r#""images.web" [label = "images.web (create)"]"#,
        r#""images.db" [label = "images.db (create)"]"#,
        r#""images.web.replicas[\"cn-south-1\"]" [label = "images.web.replicas[\"cn-south-1\"] (create)"]"#,
    ] {
        assert!(
            graph.stdout.contains(node),
            "{node} missing:\n{}",
            graph.stdout
        );
    }
    assert_eq!(
        edges(&graph.stdout),
        [r#""images.web" -> "images.web.replicas[\"cn-south-1\"]""#]
    );
    // Nothing was created: graph only plans.
    assert!(dir.state().is_none() || dir.state_json()["images"].as_object().unwrap().is_empty());

    let saved = dir.run(&["plan", "-out", "plan.json", "--no-color"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let from_file = dir.run(&["graph", "plan.json"]);
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);
    assert_eq!(from_file.stdout, graph.stdout);
}

#[test]
fn a_replica_is_destroyed_before_its_image_is_replaced_destroy_first() {
    let dir = Dir::new(
        TOML,
        &manifests(40, "destroy_before_create", "      cn-south-1: {}\n"),
    );
    let run = dir.run(&["apply", "--auto-approve", "--no-color"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    dir.write(
        "images.yaml",
        &manifests(80, "destroy_before_create", "      cn-south-1: {}\n"),
    );
    let graph = dir.run(&["graph"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    let replica = r#""images.web.replicas[\"cn-south-1\"]""#;
    let destroy = r#""images.web.replicas[\"cn-south-1\"] (destroy)""#;
    assert!(
        graph.stdout.contains(&format!(
            "{destroy} [label = {}]",
            r#""images.web.replicas[\"cn-south-1\"] (destroy)""#
        )),
        "{}",
        graph.stdout
    );
    let mut expected = vec![
        format!("{destroy} -> \"images.web\""),
        format!("{destroy} -> {replica}"),
        format!("\"images.web\" -> {replica}"),
    ];
    expected.sort();
    let mut found = edges(&graph.stdout);
    found.sort();
    assert_eq!(found, expected, "{}", graph.stdout);
    assert!(
        graph
            .stdout
            .contains(r#""images.db" [label = "images.db (no-op)"]"#)
    );
}

#[test]
fn a_missing_plan_file_is_named() {
    let dir = Dir::new(TOML, &manifests(40, "create_before_destroy", ""));
    let run = dir.run(&["graph", "nothing.json"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("nothing.json"), "{}", run.stderr);
}
