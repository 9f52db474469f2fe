//! `imsform import ADDRESS IMAGE_ID`: every refusal leaves the state alone; a success records
//! the image and the next plan compares it with the manifest.

use crate::support::{Cloud, MANIFESTS};

#[test]
fn import_refuses_what_it_cannot_adopt_and_adopts_the_rest() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let legacy = cloud.create_active_from("web-legacy", &[("team", "ops")], "bucket:web.qcow2");
    let other = cloud.create_active("db", &[]);
    let queued = cloud.create_queued("half-made", &[]);
    let refused = |args: &[&str], message: &str| {
        let run = cloud.run(&dir, args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(dir.state().is_none(), "{args:?} wrote a state");
    };
    refused(
        &["import", "images.cache", &legacy],
        "images.cache is not in the manifests",
    );
    refused(&["import", "web", &legacy], "web:");
    refused(
        &[
            "import",
            "images.web",
            "0b7f3b2c-0000-4000-8000-000000000000",
        ],
        "there is no private image 0b7f3b2c-0000-4000-8000-000000000000",
    );
    refused(&["import", "images.web", &queued], "is queued, not active");

    let before = cloud.emulator.requests().len();
    let run = cloud.run(&dir, &["import", "images.web", &legacy]);
    run.assert_ok_saying(&[
        "Import successful! images.web",
        "image_url (\"bucket:web.qcow2\")",
    ]);
    let state = dir.state_json();
    let record = &state["images"]["images.web"];
    assert_eq!(record["id"], legacy.as_str());
    assert_eq!(record["attributes"]["name"], "web-legacy");
    assert_eq!(record["attributes"]["image_url"], "bucket:web.qcow2");
    assert_eq!(
        record["attributes"]["tags"],
        serde_json::json!({"team": "ops"})
    );
    assert_eq!(record["observed"]["status"], "active");
    let saved = dir.state().unwrap();
    let owner = format!("owner={}", cloud.emulator.project_id());
    let reads: Vec<String> = cloud
        .emulator
        .requests()
        .into_iter()
        .skip(before)
        .filter(|r| r.query.contains(&format!("id={legacy}")))
        .map(|r| r.query)
        .collect();
    assert!(!reads.is_empty());
    for query in reads {
        assert!(
            query.contains("__imagetype=private") && query.contains(&owner),
            "import must read only the project's private images: {query}"
        );
    }

    let run = cloud.run(&dir, &["import", "images.web", &other]);
    assert!(
        run.stderr.contains("images.web is already in the state"),
        "{}",
        run.stderr
    );
    let run = cloud.run(&dir, &["import", "images.db", &legacy]);
    assert!(
        run.stderr
            .contains(&format!("image {legacy} is already managed as images.web")),
        "{}",
        run.stderr
    );
    assert_eq!(
        dir.state().unwrap(),
        saved,
        "a refused import changed the state"
    );

    let run = cloud.run(&dir, &["plan", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let web = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "images.web")
        .unwrap();
    assert_eq!(web["change"]["actions"], serde_json::json!(["update"]));
    assert_eq!(web["change"]["before"]["name"], "web-legacy");
    assert_eq!(web["change"]["after"]["name"], "web");
    assert_eq!(
        web["change"]["after"]["tags"],
        serde_json::json!({"team": "platform"})
    );

    let run = cloud.run(&dir, &["import", "images.db", &other]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cloud.run(
        &dir,
        &["plan", "--target", "images.db", "--detailed-exitcode"],
    );
    assert_eq!(
        run.code, 0,
        "an identical image plans no change: {}",
        run.stdout
    );
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
}

#[test]
fn import_works_on_the_local_cloud_too() {
    // The local cloud's world is only reachable through imsform, so the refusal is what can be
    // checked here without credentials: the id does not exist in the local project.
    let dir = crate::support::Dir::local();
    let run = dir.run(&["import", "images.web", "missing-id"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Using the local cloud"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("there is no private image missing-id in project"),
        "{}",
        run.stderr
    );
    assert!(dir.state().is_none());
}

#[test]
fn import_records_the_file_the_cloud_reports_and_the_plan_shows_the_difference() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let id = cloud.create_active_from("web", &[("team", "platform")], "bucket:legacy.qcow2");
    let run = cloud.run(&dir, &["import", "images.web", &id]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "IMS reports that the image was registered from \"bucket:legacy.qcow2\", but the \
             manifest names \"bucket:web.qcow2\""
        ),
        "{}",
        run.stdout
    );
    let state = dir.state_json();
    assert_eq!(
        state["images"]["images.web"]["attributes"]["image_url"],
        "bucket:legacy.qcow2"
    );
    let run = cloud.run(&dir, &["plan", "--target", "web"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "~ image_url = \"bucket:legacy.qcow2\" -> \"bucket:web.qcow2\" # forces replacement"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("images.web must be replaced"),
        "{}",
        run.stdout
    );
}
