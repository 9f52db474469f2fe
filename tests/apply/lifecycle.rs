//! Every action, each followed by `plan` = "No changes": create, update (name, description,
//! min_ram, tags), replace in both orders, moved, destroy, refresh-only drift acceptance; and
//! the gates: confirmation, saved plans (exact and stale).

use std::collections::BTreeMap;

use imsform::cli::config::CloudConfig;
use imsform::cloud::{AttrUpdate, Client, ClientOptions, CloudApi, Credentials};

use crate::env::{TestEnv, image, manifest, text};

fn client(env: &TestEnv) -> Client {
    let config = CloudConfig::at_endpoint(
        &env.emulator.uri(),
        env.emulator.region(),
        Some(env.emulator.project_id()),
    );
    let credentials = Credentials::ak_sk(env.emulator.access_key(), env.emulator.secret_key());
    Client::new(&config, credentials, ClientOptions::default()).unwrap()
}

const DBC: &str = "    lifecycle: { replace_order: destroy_before_create }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_converges_to_no_changes() {
    let env = TestEnv::new().await;
    // Create, with a description (set after the registration) and tags.
    env.manifest(&manifest(&[
        image(
            "web",
            "web",
            "    description: the web tier\n    tags: { tier: web, team: a }\n",
        ),
        image("db", "db", DBC),
        image("cache", "cache", ""),
    ]));
    let out = env.apply_converges().await;
    assert!(
        out.contains("Resources: 3 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    env.assert_cloud_matches(&["web", "db", "cache"]);
    let state = env.state();
    let web_id = state.images[&address("web")].id.clone();
    let web = &env.live_images()[&web_id];
    assert_eq!(web["__description"], "the web tier", "{web}");

    // Update in place: name, description, min_ram, tags (one changed, one removed, one added).
    env.manifest(&manifest(&[
        image(
            "web",
            "web-2",
            "    description: the new web tier\n    min_ram: 2048\n    \
             tags: { tier: frontend, owner: ops }\n",
        ),
        image("db", "db", DBC),
        image("cache", "cache", ""),
    ]));
    let out = env.apply_converges().await;
    assert!(out.contains("0 added, 1 changed, 0 destroyed."), "{out}");
    let state = env.state();
    assert_eq!(state.images[&address("web")].id, web_id, "updated in place");
    let web = &env.live_images()[&web_id];
    assert_eq!(web["name"], "web-2");
    assert_eq!(web["min_ram"], 2048);
    assert_eq!(web["__description"], "the new web tier");
    let tags = tags_of(web);
    assert_eq!(tags.get("tier").map(String::as_str), Some("frontend"));
    assert_eq!(tags.get("owner").map(String::as_str), Some("ops"));
    assert!(!tags.contains_key("team"), "{tags:?}");
    assert!(
        tags.contains_key("imsform-token"),
        "the token tag is never touched: {tags:?}"
    );
    let updates: u64 = stat(&env, "PATCH");
    assert!(updates >= 1);

    // Replace in both orders: web (create_before_destroy) and db (destroy_before_create).
    let db_id = state.images[&address("db")].id.clone();
    env.manifest(&manifest(&[
        image(
            "web",
            "web-2",
            "    description: the new web tier\n    min_ram: 2048\n    \
               tags: { tier: frontend, owner: ops }\n    min_disk: 50\n",
        )
        .replace("    min_disk: 40\n", ""),
        image("db", "db", DBC).replace(
            "os_version: Ubuntu 22.04 server 64bit",
            "os_version: Debian GNU/Linux 12.0.0 64bit",
        ),
        image("cache", "cache", ""),
    ]));
    let out = env.apply_converges().await;
    assert!(out.contains("2 added, 0 changed, 2 destroyed."), "{out}");
    let state = env.state();
    assert_ne!(state.images[&address("web")].id, web_id);
    assert_ne!(state.images[&address("db")].id, db_id);
    env.assert_cloud_matches(&["web-2", "db", "cache"]);

    // Moved: cache -> store, same image.
    let cache_id = state.images[&address("cache")].id.clone();
    let moved = env.path().join("images.yaml");
    let yaml = std::fs::read_to_string(&moved)
        .unwrap()
        .replace("  cache:\n", "  store:\n");
    env.manifest(&format!(
        "{yaml}moved:\n  - {{ from: images.cache, to: images.store }}\n"
    ));
    let out = env.apply_converges().await;
    assert!(out.contains("0 added, 0 changed, 0 destroyed."), "{out}");
    assert_eq!(env.state().images[&address("store")].id, cache_id);

    // Destroy: db leaves the manifests.
    let yaml = std::fs::read_to_string(&moved).unwrap();
    let without_db: String = {
        let start = yaml.find("  db:\n").unwrap();
        let end = yaml[start..].find("  store:\n").unwrap() + start;
        format!("{}{}", &yaml[..start], &yaml[end..])
    };
    env.manifest(&without_db);
    let out = env.apply_converges().await;
    assert!(out.contains("0 added, 0 changed, 1 destroyed."), "{out}");
    env.assert_cloud_matches(&["web-2", "cache"]);

    // Drift: renamed outside imsform; `refresh` accepts it, `plan --refresh-only` is clean,
    // and apply puts the manifest's name back.
    let store_id = env.state().images[&address("store")].id.clone();
    let cloud = client(&env);
    cloud
        .update(&store_id, &[AttrUpdate::Name("renamed".into())])
        .await
        .unwrap();
    let out = env.ok(&["refresh"], 0).await;
    assert!(out.contains("renamed"), "{out}");
    assert_eq!(
        env.state().images[&address("store")].attributes.name,
        "renamed"
    );
    let plan = env
        .ok(&["plan", "--refresh-only", "--detailed-exitcode"], 0)
        .await;
    assert!(plan.contains("No changes."), "{plan}");
    let out = env.apply_converges().await;
    assert!(out.contains("0 added, 1 changed, 0 destroyed."), "{out}");
    env.assert_cloud_matches(&["web-2", "cache"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_without_a_terminal_or_approval_and_changes_nothing() {
    let env = TestEnv::new().await;
    env.manifest(&manifest(&[image("web", "web", "")]));
    let output = env.run(&["apply"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--auto-approve"), "{stderr}");
    assert!(env.live_images().is_empty());
    assert!(!env.path().join("imsform.state.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_applied_exactly_or_refused_when_stale() {
    let env = TestEnv::new().await;
    env.manifest(&manifest(&[image("web", "web", "")]));
    env.ok(&["plan", "-out", "first.plan"], 0).await;
    env.ok(&["plan", "-out", "second.plan"], 0).await;
    // The manifests change after the plan: the saved plan still creates only `web`.
    env.manifest(&manifest(&[image("web", "web", ""), image("db", "db", "")]));
    // Run from elsewhere with `-C`: the plan file is found relative to the working directory.
    let dir = env.path().to_str().unwrap().to_owned();
    let mut command = env.command(&["-C", &dir, "apply", "first.plan"]);
    command.current_dir(env.path().parent().unwrap());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        out.contains("Resources: 1 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    env.assert_cloud_matches(&["web"]);
    // The second plan was made from "no state"; a state exists now.
    let before = std::fs::read(env.path().join("imsform.state.json")).unwrap();
    let output = env.run(&["apply", "second.plan"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plan -out FILE"), "{stderr}");
    let after = std::fs::read(env.path().join("imsform.state.json")).unwrap();
    assert_eq!(before, after, "a refused plan leaves the state untouched");
    env.assert_cloud_matches(&["web"]);
}

fn address(key: &str) -> imsform::manifest::model::Address {
    imsform::manifest::model::Address::from_key(key)
}

fn tags_of(image: &serde_json::Value) -> BTreeMap<String, String> {
    image["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tag| tag.as_str())
        .filter_map(|tag| tag.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn stat(env: &TestEnv, method: &str) -> u64 {
    env.emulator
        .stats()
        .iter()
        .filter(|(route, _)| route.starts_with(method))
        .map(|(_, count)| count)
        .sum()
}
