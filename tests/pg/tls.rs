//! TLS with rustls against a server that presents Debian's self-signed snakeoil certificate
//! (`CN=localhost`) and refuses the role `tlsonly` without TLS: each `sslmode` is honoured.

use std::time::Duration;

use crate::env::{PgEnv, manifest, text};
use crate::server::SNAKEOIL_CERT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sslmode_is_honoured_with_rustls() {
    let Some(env) = PgEnv::new(Duration::from_millis(100)).await else {
        return;
    };
    let Some(port) = env.server.tls_port else {
        let message = "the test server speaks no TLS (not our own throwaway server, or no \
                       snakeoil key): the sslmode test did not run";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {message}"
        );
        eprintln!("\n!!!!! SKIPPING: {message} !!!!!\n");
        return;
    };
    env.manifest(&manifest(&["web"]));
    let config = std::fs::read_to_string(env.path().join("imsform.toml")).unwrap();
    let with = |host: &str, query: &str| {
        let url = format!("postgres://tlsonly@{host}:{port}/postgres?{query}");
        let text = config.replace(&env.server.url, &url);
        std::fs::write(env.path().join("imsform.toml"), text).unwrap();
    };
    let root = format!("sslrootcert={SNAKEOIL_CERT}");
    let refused = [
        ("localhost", "sslmode=disable".to_owned(), "no encryption"),
        (
            "127.0.0.1",
            format!("sslmode=verify-full&{root}"),
            "certificate not valid for name \"127.0.0.1\"",
        ),
        (
            "localhost",
            "sslmode=verify-full".to_owned(),
            "invalid peer certificate",
        ),
    ];
    for (host, query, expected) in refused {
        with(host, &query);
        let out = env.run(&["state", "list"]).await;
        assert_eq!(out.status.code(), Some(1), "{query}\n{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot connect to the state database"),
            "{stderr}"
        );
        assert!(stderr.contains(expected), "{query}: {stderr}");
    }
    for (host, query) in [
        ("localhost", "sslmode=require".to_owned()),
        ("localhost", "sslmode=prefer".to_owned()),
        ("127.0.0.1", format!("sslmode=verify-ca&{root}")),
    ] {
        with(host, &query);
        let out = env.run(&["state", "list"]).await;
        assert_eq!(out.status.code(), Some(0), "{query}\n{}", text(&out));
    }
    with("localhost", &format!("sslmode=verify-full&{root}"));
    let out = env.ok(&["apply", "--auto-approve"], 0).await;
    assert!(out.contains("1 added"), "{out}");
    assert_eq!(env.ok(&["state", "list"], 0).await, "images.web\n");
}
