//! Plans that fail before apply does: each refusal exits 1, says what is wrong, leaves the state
//! as it was and reaches the cloud with reads only (the emulator's request counts prove it).

use crate::support::{Cloud, Dir, MANIFESTS, Run, plan_json};

/// The cloud's writes and the state's bytes before a refused command.
struct Before {
    writes: Vec<(String, u64)>,
    state: Option<Vec<u8>>,
}

fn before(cloud: &Cloud, dir: &Dir) -> Before {
    Before {
        writes: cloud.writes(),
        state: dir.state(),
    }
}

/// Exit 1, every `expected` text on stderr, nothing on stdout, no write reached the cloud, and
/// the state is byte for byte what it was.
fn assert_refused(cloud: &Cloud, dir: &Dir, was: &Before, run: &Run, expected: &[&str]) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    for text in expected {
        assert!(run.stderr.contains(text), "no {text:?} in\n{}", run.stderr);
    }
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    assert_eq!(
        cloud.writes(),
        was.writes,
        "a refused command wrote to the cloud"
    );
    assert!(
        dir.state() == was.state,
        "a refused command changed the state"
    );
}

/// Runs `args` in `dir` and asserts it is refused as [`assert_refused`] checks.
fn assert_run_refused(cloud: &Cloud, dir: &Dir, args: &[&str], expected: &[&str]) {
    let was = before(cloud, dir);
    let run = cloud.run(dir, args);
    assert_refused(cloud, dir, &was, &run, expected);
}

fn image_id(dir: &Dir, address: &str) -> String {
    dir.state_json()["images"][address]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn applied(cloud: &Cloud, dir: &Dir) {
    let run = cloud.run(dir, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_first_plan_reads_the_cloud_so_a_wrong_secret_or_project_fails_it() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let was = before(&cloud, &dir);
    let secret = "a-wrong-secret-key-for-this-test";
    let run = cloud.run_env(&dir, &["plan"], &[("HW_SECRET_KEY", secret)]);
    assert_refused(&cloud, &dir, &was, &run, &["check HW_SECRET_KEY"]);
    assert!(!run.stderr.contains(secret), "the secret was printed");
    let run = cloud.run_env(
        &dir,
        &["plan", "-out", "plan.json"],
        &[("HW_SECRET_KEY", secret)],
    );
    assert_refused(&cloud, &dir, &was, &run, &["check HW_SECRET_KEY"]);
    assert!(!dir.file("plan.json").exists(), "a plan file was written");
    let run = cloud.run_env(
        &dir,
        &["plan"],
        &[("HW_PROJECT_ID", "0123456789abcdef0123456789abcdef")],
    );
    assert_refused(&cloud, &dir, &was, &run, &["check HW_PROJECT_ID"]);
    // With good credentials, the first plan lists the project's images once.
    let run = cloud.run(&dir, &["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(cloud.served("GET /v2/cloudimages") >= 1);
    assert!(dir.state().is_none());
}

#[test]
fn a_state_of_another_identity_is_refused_before_any_request() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    applied(&cloud, &dir);
    let identity = &dir.state_json()["identity"];
    assert_eq!(identity["kind"], "cloud");
    assert_eq!(identity["region"], cloud.emulator.region());
    assert_eq!(identity["project_id"], cloud.emulator.project_id());
    let other = "0123456789abcdef0123456789abcdef";
    let ours = format!(
        "belongs to the cloud (region {}, project {})",
        cloud.emulator.region(),
        cloud.emulator.project_id()
    );
    let theirs = format!(
        "points at the cloud (region {}, project {other})",
        cloud.emulator.region()
    );
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["refresh", "--auto-approve"],
    ] {
        let was = before(&cloud, &dir);
        let requests = cloud.total_requests();
        let run = cloud.run_env(&dir, args, &[("HW_PROJECT_ID", other)]);
        assert_refused(&cloud, &dir, &was, &run, &[&ours, &theirs]);
        assert_eq!(
            cloud.total_requests(),
            requests,
            "{args:?} reached the cloud"
        );
    }
    let run = cloud.run(&dir, &["state", "rm", "images.web"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let was = before(&cloud, &dir);
    let requests = cloud.total_requests();
    let web = "an-image-id";
    let run = cloud.run_env(
        &dir,
        &["import", "images.web", web],
        &[("HW_PROJECT_ID", other)],
    );
    assert_refused(&cloud, &dir, &was, &run, &[&ours, &theirs]);
    assert_eq!(cloud.total_requests(), requests, "import reached the cloud");
    // Another region is refused before IAM is asked for a project id that is not configured.
    let was = before(&cloud, &dir);
    let requests = cloud.total_requests();
    let toml = cloud.toml().replace(
        &format!("region = \"{}\"", cloud.emulator.region()),
        "region = \"ap-southeast-1\"",
    );
    dir.write("imsform.toml", &toml);
    let mut command = dir.command(&["plan"]);
    command
        .env("HW_ACCESS_KEY", cloud.emulator.access_key())
        .env("HW_SECRET_KEY", cloud.emulator.secret_key());
    let run = crate::support::finish(&mut command);
    assert_refused(
        &cloud,
        &dir,
        &was,
        &run,
        &[
            &ours,
            "points at the cloud (region ap-southeast-1, project to be asked of IAM)",
        ],
    );
    assert_eq!(cloud.total_requests(), requests, "IAM was asked");
    // The local cloud is another identity too.
    let was = before(&cloud, &dir);
    dir.write("imsform.toml", "[cloud]\nlocal = true\n");
    let run = cloud.run(&dir, &["refresh", "--auto-approve"]);
    assert_refused(
        &cloud,
        &dir,
        &was,
        &run,
        &[&ours, "points at the local cloud"],
    );
}

#[test]
fn a_state_without_identity_takes_it_at_its_next_write() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    applied(&cloud, &dir);
    let mut state = dir.state_json();
    state.as_object_mut().unwrap().remove("identity");
    dir.write(
        "imsform.state.json",
        &serde_json::to_string_pretty(&state).unwrap(),
    );
    let run = cloud.run(&dir, &["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        dir.state_json().get("identity").is_none(),
        "plan wrote the state"
    );
    dir.write(
        "images.yaml",
        &MANIFESTS.replace("name: db", "name: db-renamed"),
    );
    applied(&cloud, &dir);
    assert_eq!(
        dir.state_json()["identity"]["project_id"],
        cloud.emulator.project_id()
    );
}

#[test]
fn refresh_never_forgets_managed_images_without_approval() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    applied(&cloud, &dir);
    let web = image_id(&dir, "images.web");
    cloud.delete(&web);
    let was = before(&cloud, &dir);
    let run = cloud.run(&dir, &["refresh"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("images.web ({web})")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("pass --auto-approve"), "{}", run.stderr);
    assert_eq!(cloud.writes(), was.writes);
    assert!(
        dir.state() == was.state,
        "refresh changed the state unasked"
    );
    let run = cloud.run(&dir, &["apply", "--refresh-only"]);
    assert_refused(&cloud, &dir, &was, &run, &["pass --auto-approve"]);
    let run = cloud.run(&dir, &["refresh", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "This refresh forgets 1 managed image(s) that the cloud no longer lists:\n  - \
             images.web ({web})"
        )),
        "{}",
        run.stderr
    );
    let state = dir.state_json();
    assert!(state["images"].get("images.web").is_none());
    assert!(state["images"].get("images.db").is_some());
}

#[test]
fn creates_beyond_the_quota_fail_the_plan_with_the_numbers() {
    let cloud = Cloud::start_with(|builder| builder.image_quota(3));
    let dir = cloud.dir(MANIFESTS);
    cloud.create_queued("someone-elses-a", &[]);
    cloud.create_queued("someone-elses-b", &[]);
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        assert_run_refused(
            &cloud,
            &dir,
            args,
            &[
                "the plan creates 2 new images",
                "quota is 3 with 2 in use: 1 remain",
                "IMG.0015",
            ],
        );
    }
    assert_eq!(
        cloud.served("GET /v1/cloudimages/quota"),
        2,
        "one quota read per run"
    );
    assert_eq!(cloud.served("GET /v1/cloudimages/os_version"), 2);
    let run = cloud.run(&dir, &["plan", "--target", "web"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // --refresh=false reads nothing from the cloud, so it cannot check the quota either.
    let requests = cloud.total_requests();
    let run = cloud.run(&dir, &["plan", "--refresh=false"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(cloud.total_requests(), requests);
}

#[test]
fn an_os_version_the_region_lacks_fails_the_plan_with_the_closest_names() {
    let cloud = Cloud::start();
    let dir = cloud.dir(&MANIFESTS.replacen(
        "os_version: Ubuntu 22.04 server 64bit",
        "os_version: Ubuntu 22.04 server 64 bit",
        1,
    ));
    assert_run_refused(
        &cloud,
        &dir,
        &["plan"],
        &[
            "images.web: os_version \"Ubuntu 22.04 server 64 bit\" is not offered in this region",
            "the closest valid names: \"Ubuntu 22.04 server 64bit\"",
        ],
    );
    // A plan that creates nothing asks for neither the quota nor the os_versions.
    let dir = cloud.dir(MANIFESTS);
    applied(&cloud, &dir);
    let quota_reads = cloud.served("GET /v1/cloudimages/quota");
    let run = cloud.run(&dir, &["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(cloud.served("GET /v1/cloudimages/quota"), quota_reads);
}

#[test]
fn targets_that_match_nothing_are_errors_naming_the_closest_addresses() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["--target", "wbe"],
            &["--target wbe matches no address", "the closest: images.web"],
        ),
        (
            &["--exclude", "images.dbb"],
            &[
                "--exclude images.dbb matches no address",
                "the closest: images.db",
            ],
        ),
        (
            &["--exclude", "*"],
            &["leave no address of the manifests or the state"],
        ),
        (
            &["--replace", "images.wbe"],
            &["--replace images.wbe", "the closest: images.web"],
        ),
        (
            &["--target", "web", "--exclude", "w*"],
            &["leave no address"],
        ),
    ];
    for (flags, expected) in cases {
        for command in [&["plan"][..], &["apply", "--auto-approve"]] {
            let args: Vec<&str> = command.iter().chain(flags).copied().collect();
            assert_run_refused(&cloud, &dir, &args, expected);
        }
    }
}

#[test]
fn refresh_only_refuses_the_flags_terraform_refuses() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    applied(&cloud, &dir);
    for flag in [
        &["--destroy"][..],
        &["--replace", "images.web"],
        &["--refresh=false"],
    ] {
        for command in [
            &["plan", "--refresh-only"][..],
            &["apply", "--refresh-only", "--auto-approve"],
        ] {
            let args: Vec<&str> = command.iter().chain(flag).copied().collect();
            let expected = format!("--refresh-only cannot be combined with {}", flag[0]);
            assert_run_refused(&cloud, &dir, &args, &[&expected]);
        }
        let args: Vec<&str> = ["refresh"].iter().chain(flag).copied().collect();
        assert_run_refused(&cloud, &dir, &args, &["unexpected argument"]);
    }
}

#[test]
fn a_saved_plan_is_the_json_plan_and_an_edited_one_is_refused() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let run = cloud.run(&dir, &["plan", "-out", "plan.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bytes = std::fs::read(dir.file("plan.json")).unwrap();
    // What `jq .resource_changes plan.json` reads.
    let file = plan_json(&bytes);
    let addresses: Vec<&str> = file["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, ["images.db", "images.web"]);
    assert_eq!(file["resource_changes"][1]["type"], "imsform_image");
    assert_eq!(file["resource_changes"][1]["name"], "web");
    assert_eq!(file["resource_changes"][1]["mode"], "managed");
    assert_eq!(file["applyable"], true);
    assert_eq!(file["complete"], true);
    let shown = cloud.run(&dir, &["show", "--json", "plan.json"]);
    let mut without_envelope = file.clone();
    for key in [
        "kind",
        "planfile_version",
        "plan_sha256",
        "manifests_sha256",
        "config_sha256",
        "identity",
        "recorded_inputs",
    ] {
        without_envelope.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(plan_json(shown.stdout.as_bytes()), without_envelope);
    // An edit of the plan: refused, nothing created.
    let mut edited = file.clone();
    edited["resource_changes"][1]["change"]["after"]["name"] = "web-edited".into();
    dir.write("plan.json", &serde_json::to_string_pretty(&edited).unwrap());
    for args in [&["apply", "plan.json"][..], &["show", "plan.json"]] {
        assert_run_refused(&cloud, &dir, args, &["was changed after it was saved"]);
    }
    assert!(cloud.writes().is_empty());
    // The file as saved applies; applied again, it is stale.
    std::fs::write(dir.file("plan.json"), &bytes).unwrap();
    let run = cloud.run(&dir, &["apply", "plan.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_run_refused(
        &cloud,
        &dir,
        &["apply", "plan.json"],
        &["Saved plan is stale"],
    );
}

#[test]
fn name_collisions_and_targeting_are_said_in_every_rendering() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let id = cloud.create_active("web", &[]);
    let import = format!("imsform import images.web {id}");
    let text = cloud.run(&dir, &["plan"]);
    text.assert_ok_saying(&["Warning: An image named \"web\" already exists", &import]);
    let json = cloud.run(&dir, &["plan", "--json"]);
    let json = plan_json(json.stdout.as_bytes());
    assert_eq!(json["name_collisions"][0]["address"], "images.web");
    assert_eq!(json["name_collisions"][0]["image_ids"][0], id.as_str());
    let markdown = cloud.run(&dir, &["plan", "--markdown", "-"]).stdout;
    assert!(
        markdown.contains("> [!WARNING]\n> **An image named \"web\" already exists**"),
        "{markdown}"
    );
    assert!(markdown.contains(&import), "{markdown}");
    // Targeting.
    let text = cloud.run(&dir, &["plan", "--target", "db"]);
    assert!(
        text.stdout
            .contains("Warning: Resource targeting is in effect"),
        "{}",
        text.stdout
    );
    assert!(
        !text.stdout.contains("already exists"),
        "web is not targeted"
    );
    let json = cloud.run(&dir, &["plan", "--json", "--exclude", "web"]);
    let json = plan_json(json.stdout.as_bytes());
    assert_eq!(json["complete"], false);
    assert_eq!(json["targeting"]["excludes"][0], "web");
    let markdown = cloud
        .run(&dir, &["plan", "--markdown", "-", "--target", "db"])
        .stdout;
    assert!(
        markdown.contains("> **Resource targeting is in effect**"),
        "{markdown}"
    );
}
