//! Untracked images: an image carrying this state's token that the state does not know is
//! reported in its own plan section (text, markdown, JSON), left alone unless asked, deleted by
//! `--delete-untracked` and adopted by `--adopt-untracked`.

use serde_json::Value;

use crate::env::{TestEnv, image, manifest};

fn creates(env: &TestEnv) -> usize {
    env.emulator
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/images"))
        .count()
}

async fn plan_json(env: &TestEnv, args: &[&str]) -> Value {
    let mut all = vec!["plan", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&env.ok(&all, 0).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untracked_image_is_reported_and_deleted_only_when_asked() {
    let env = TestEnv::new().await;
    env.manifest(&manifest(&[image("a", "a", ""), image("b", "b", "")]));
    env.apply_converges().await;
    let lineage = env.state().lineage.clone();
    let b = env
        .state()
        .images
        .values()
        .find(|r| r.attributes.name == "b")
        .unwrap()
        .id
        .clone();
    let token = env.live_images()[&b]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|tag| tag.as_str().unwrap().strip_prefix("imsform-token="))
        .unwrap()
        .to_owned();
    assert!(token.starts_with(&format!("{}-", &lineage[..8])), "{token}");
    // Forgotten by the state, gone from the manifests: an image nothing tracks.
    env.ok(&["state", "rm", "images.b"], 0).await;
    env.manifest(&manifest(&[image("a", "a", "")]));

    let plan = env
        .ok(&["plan", "--markdown", "plan.md", "--detailed-exitcode"], 0)
        .await;
    assert!(plan.contains("Untracked images"), "{plan}");
    assert!(
        plan.contains(&format!(
            "image {b} \"b\" (active, token {token}): left alone"
        )),
        "{plan}"
    );
    assert!(plan.contains("No changes."), "{plan}");
    let markdown = std::fs::read_to_string(env.path().join("plan.md")).unwrap();
    assert!(markdown.contains("**Untracked images** (1)"), "{markdown}");
    let json = plan_json(&env, &[]).await;
    assert_eq!(json["untracked"][0]["image_id"], b.as_str());
    assert_eq!(json["untracked"][0]["action"], "report");
    assert_eq!(json["summary"]["destroy"], 0);

    // Never silently: a plain apply leaves it.
    env.ok(&["apply", "--auto-approve"], 0).await;
    assert!(env.live_images().contains_key(&b));

    let plan = env
        .ok(&["plan", "--delete-untracked", "--markdown", "plan.md"], 0)
        .await;
    assert!(
        plan.contains("Plan: 0 to add, 0 to change, 1 to destroy."),
        "{plan}"
    );
    let markdown = std::fs::read_to_string(env.path().join("plan.md")).unwrap();
    assert!(
        markdown.contains("> [!WARNING]\n> This plan destroys 1 image(s)"),
        "{markdown}"
    );
    let json = plan_json(&env, &["--delete-untracked"]).await;
    assert_eq!(json["untracked"][0]["action"], "delete");
    assert_eq!(json["summary"]["destroy"], 1);

    let out = env
        .ok(&["apply", "--auto-approve", "--delete-untracked"], 0)
        .await;
    assert!(
        out.contains("Apply complete! Resources: 0 added, 0 changed, 1 destroyed."),
        "{out}"
    );
    assert!(!env.live_images().contains_key(&b));
    env.assert_cloud_matches(&["a"]);
    let plan = env.ok(&["plan", "--detailed-exitcode"], 0).await;
    assert!(!plan.contains("Untracked images"), "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untracked_image_is_adopted_at_the_address_it_matches() {
    let env = TestEnv::new().await;
    env.manifest(&manifest(&[image("a", "a", "    description: first\n")]));
    env.apply_converges().await;
    let id = env.state().images.values().next().unwrap().id.clone();
    env.ok(&["state", "rm", "images.a"], 0).await;
    env.manifest(&manifest(&[image("a", "a", "    description: second\n")]));
    // Without the flag, the address would get a second image of that name.
    let plan = env.ok(&["plan"], 0).await;
    assert!(plan.contains("# images.a will be created"), "{plan}");
    assert!(
        plan.contains(&format!("image {id} \"a\" (active")),
        "{plan}"
    );
    assert!(
        plan.contains("it matches images.a, which has no image"),
        "{plan}"
    );

    let plan = env.ok(&["plan", "--adopt-untracked"], 0).await;
    assert!(plan.contains("adopt it as images.a"), "{plan}");
    assert!(
        plan.contains("# images.a will be updated in-place"),
        "{plan}"
    );
    let before = creates(&env);
    let out = env
        .ok(&["apply", "--auto-approve", "--adopt-untracked"], 0)
        .await;
    assert!(
        out.contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed."),
        "{out}"
    );
    assert_eq!(creates(&env), before, "adopted, not created");
    assert_eq!(env.state().images.values().next().unwrap().id, id);
    env.assert_cloud_matches(&["a"]);
    env.assert_no_changes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_untracked_flags_are_refused_where_they_cannot_act() {
    let env = TestEnv::new().await;
    env.manifest(&manifest(&[image("a", "a", "")]));
    for (args, wanted) in [
        (
            &["plan", "--refresh-only", "--delete-untracked"][..],
            "--delete-untracked cannot be used with --refresh-only",
        ),
        (
            &["plan", "--refresh=false", "--adopt-untracked"][..],
            "--adopt-untracked cannot be used with --refresh=false",
        ),
        (
            &["apply", "--auto-approve", "--destroy", "--adopt-untracked"][..],
            "--adopt-untracked cannot be used with --destroy",
        ),
    ] {
        let output = env.run(args).await;
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
    }
    assert!(
        env.emulator.requests().is_empty(),
        "nothing reached the cloud"
    );
    assert!(!env.path().join("imsform.state.json").exists());
}
