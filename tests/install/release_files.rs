//! The release's own files: action.yml (a composite action running scripts/install.sh), the
//! release workflow (builds with scripts/release.sh, publishes the binaries with SHA256SUMS,
//! installs the published release through the action), and a dependency graph with no C TLS
//! library, which the static musl binaries rely on.

use std::os::unix::fs::PermissionsExt;

use crate::repo;

fn yaml(path: &str) -> marked_yaml::Node {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    marked_yaml::parse_yaml(0, &text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// action.yml is a composite action with the documented inputs whose one step runs
/// scripts/install.sh from the action's own checkout.
#[test]
fn the_action_runs_the_install_script() {
    let action = yaml("action.yml");
    let action = action.as_mapping().unwrap();
    let inputs = action.get_mapping("inputs").unwrap();
    let version = inputs.get_mapping("version").expect("input `version`");
    assert_eq!(
        version.get_scalar("required").and_then(|r| r.as_bool()),
        Some(true)
    );
    let url = inputs
        .get_mapping("download-url")
        .expect("input `download-url`");
    assert_eq!(
        url.get_scalar("required").and_then(|r| r.as_bool()),
        Some(false)
    );
    let runs = action.get_mapping("runs").unwrap();
    assert_eq!(runs.get_scalar("using").unwrap().as_str(), "composite");
    let steps = runs.get_sequence("steps").unwrap();
    let step = steps.iter().find_map(|s| s.as_mapping()).unwrap();
    assert!(
        step.get_scalar("shell").is_some(),
        "composite run steps need a shell"
    );
    let run = step.get_scalar("run").unwrap().as_str();
    assert!(
        run.contains("\"$GITHUB_ACTION_PATH/scripts/install.sh\" \"$IMSFORM_VERSION\""),
        "{run}"
    );
    let env = step.get_mapping("env").unwrap();
    assert_eq!(
        env.get_scalar("IMSFORM_VERSION").unwrap().as_str(),
        "${{ inputs.version }}"
    );
    assert_eq!(
        env.get_scalar("IMSFORM_DOWNLOAD_URL").unwrap().as_str(),
        "${{ inputs.download-url }}"
    );
}

/// The release workflow runs on version tags, builds with scripts/release.sh, publishes the
/// binaries with SHA256SUMS and install.sh, and installs the published release with the action.
#[test]
fn the_release_workflow_builds_publishes_and_verifies() {
    let workflow = yaml(".github/workflows/release.yml");
    let workflow = workflow.as_mapping().unwrap();
    let on = workflow.get_mapping("on").unwrap();
    let tags = on
        .get_mapping("push")
        .and_then(|p| p.get_sequence("tags"))
        .unwrap();
    assert_eq!(tags.get_scalar(0).unwrap().as_str(), "v*.*.*");
    let jobs = workflow.get_mapping("jobs").unwrap();
    let runs = |job: &str| -> String {
        let steps = jobs.get_mapping(job).and_then(|j| j.get_sequence("steps"));
        let steps = steps.unwrap_or_else(|| panic!("no job {job}"));
        steps
            .iter()
            .filter_map(|s| {
                s.as_mapping()?
                    .get_scalar("run")
                    .map(|r| r.as_str().to_owned())
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(runs("test").contains("bash .ci/run"));
    assert!(runs("build").contains("scripts/release.sh --dist dist ${{ matrix.targets }}"));
    let publish = runs("publish");
    assert!(
        publish.contains("sha256sum imsform-* install.sh > SHA256SUMS"),
        "{publish}"
    );
    assert!(
        publish.contains("gh release create \"$GITHUB_REF_NAME\""),
        "{publish}"
    );
    let verify = jobs
        .get_mapping("verify")
        .and_then(|j| j.get_sequence("steps"))
        .unwrap();
    // It installs the tag's release from this repository's releases, wherever it is hosted.
    let action = verify
        .iter()
        .filter_map(|s| s.as_mapping())
        .find(|s| s.get_scalar("uses").is_some_and(|u| u.as_str() == "./"))
        .expect("the verify job runs the action");
    let with = action.get_mapping("with").unwrap();
    assert_eq!(
        with.get_scalar("version").unwrap().as_str(),
        "${{ github.ref_name }}"
    );
    assert_eq!(
        with.get_scalar("download-url").unwrap().as_str(),
        "${{ github.server_url }}/${{ github.repository }}/releases/download"
    );
    for script in ["scripts/release.sh", "scripts/install.sh"] {
        let mode = std::fs::metadata(repo().join(script))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{script} is executable");
    }
}

/// The static release binaries use rustls with ring for TLS: no OpenSSL (which a musl build
/// would have to link statically, and which `cargo install` users would need installed), no
/// native-tls, no aws-lc (whose build needs cmake). Cargo.lock lists every package any target
/// may build.
#[test]
fn no_c_tls_library_is_in_the_dependency_graph() {
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    let names: Vec<&str> = lock
        .lines()
        .filter_map(|line| line.strip_prefix("name = \"")?.strip_suffix('"'))
        .collect();
    assert!(
        names.contains(&"ring") && names.contains(&"rustls"),
        "{names:?}"
    );
    for banned in [
        "openssl",
        "openssl-sys",
        "native-tls",
        "aws-lc-rs",
        "aws-lc-sys",
    ] {
        assert!(!names.contains(&banned), "{banned} is in Cargo.lock");
    }
}
