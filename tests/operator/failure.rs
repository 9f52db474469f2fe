//! Fast, explained failure: an endpoint that cannot be reached fails within seconds naming why,
//! `-v` shows each retry, `-vv` each request (never a secret), and an unknown project is named
//! as such.

use std::time::{Duration, Instant};

use crate::ONE_IMAGE;
use crate::support::{Cloud, Dir, MANIFESTS, finish};

/// `import images.web img-1` (one read of the image) against `endpoint` with made-up
/// credentials; returns the run and how long it took.
fn import_against(endpoint: &str, args: &[&str]) -> (crate::support::Run, Duration) {
    let toml = format!(
        "[cloud]\nregion = \"cn-north-4\"\nendpoint = \"{endpoint}\"\niam_endpoint = \"{endpoint}\"\n"
    );
    let dir = Dir::new(&toml, ONE_IMAGE);
    let mut command = dir.command(&[args, &["import", "images.web", "img-1"]].concat());
    command
        .env("HW_ACCESS_KEY", "AKNOTREAL0000000000")
        .env("HW_SECRET_KEY", "not-a-real-secret-key")
        .env("HW_PROJECT_ID", "0123456789abcdef0123456789abcdef");
    let started = Instant::now();
    let run = finish(&mut command);
    (run, started.elapsed())
}

#[test]
fn a_refused_connection_fails_in_seconds_with_each_retry_logged() {
    // Port 1 on loopback: nothing listens, the kernel refuses at once.
    let (run, took) = import_against("http://127.0.0.1:1", &["-v"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(
        run.stderr.contains("gave up after 4 attempts"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing accepts connections there"),
        "{}",
        run.stderr
    );
    let retries = run.stderr.matches("failed, retrying in").count();
    assert_eq!(retries, 3, "{}", run.stderr);
}

#[test]
fn an_unresolvable_host_fails_in_seconds_naming_dns() {
    let (run, took) = import_against("https://ims.imsform-test.invalid", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(
        run.stderr.contains("the host name does not resolve"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_tls_handshake_with_a_plain_http_server_fails_in_seconds() {
    let cloud = Cloud::start();
    let endpoint = cloud.emulator.uri().replace("http://", "https://");
    let (run, took) = import_against(&endpoint, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(
        run.stderr.contains("the TLS handshake failed"),
        "{}",
        run.stderr
    );
    assert_eq!(cloud.emulator.stats().values().sum::<u64>(), 0);
}

#[test]
fn every_request_is_logged_at_vv_without_a_secret() {
    let cloud = Cloud::start();
    let dir = cloud.dir(MANIFESTS);
    let run = cloud.run(&dir, &["-vv", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|line| line.contains("POST /v2/images -> "))
        .unwrap_or_else(|| panic!("no request line: {}", run.stderr));
    assert!(line.contains("-> 201 in "), "{line}");
    assert!(line.contains("[request id "), "{line}");
    assert!(
        !line.contains("[request id -]"),
        "the emulator sends one: {line}"
    );
    for secret in [cloud.emulator.secret_key(), "Authorization", "Signature="] {
        assert!(!run.stderr.contains(secret), "{secret} in {}", run.stderr);
    }
    let run = cloud.run(&dir, &["-vv", "plan"]);
    assert!(
        run.stderr.contains("GET /v2/cloudimages?"),
        "{}",
        run.stderr
    );
    let quiet = cloud.run(&dir, &["-v", "plan"]);
    assert!(
        !quiet.stderr.contains("GET /v2/cloudimages"),
        "{}",
        quiet.stderr
    );
}

#[test]
fn an_unknown_project_is_named_instead_of_the_secret_key() {
    let cloud = Cloud::start();
    let dir = cloud.dir(ONE_IMAGE);
    let mut command = dir.command(&["apply", "--auto-approve"]);
    command
        .env("HW_ACCESS_KEY", cloud.emulator.access_key())
        .env("HW_SECRET_KEY", cloud.emulator.secret_key())
        .env("HW_PROJECT_ID", "ffffffffffffffffffffffffffffffff");
    let run = finish(&mut command);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("check HW_PROJECT_ID"), "{}", run.stderr);
    assert!(!run.stderr.contains("HW_SECRET_KEY"), "{}", run.stderr);
}
