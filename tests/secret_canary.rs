//! Secret canary: a whole workflow (plan -out, apply, a second plan and apply that writes the
//! backup, refresh, show, show PLANFILE, state list/show) with trace logging (`-vvv`) runs
//! against an in-test emulator with KNOWN fake credentials, through a loopback proxy that
//! captures every byte the client sends. Then stdout, stderr and every file left in the working
//! directory (state, backup, plan file, logs) are searched for the secret key, the tokens, every
//! `Authorization` header value and every signature seen on the wire: zero hits.
//! Three credential kinds: AK/SK, AK/SK with `HW_SECURITY_TOKEN`, and `HW_AUTH_TOKEN`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use imsform::emulator::Emulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ACCESS_KEY: &str = "CANARYACCESSKEY00001";
const SECRET_KEY: &str = "CanarySecretKey-Do-Not-Leak-7f3a9c1e5b";
const SECURITY_TOKEN: &str = "CanarySecurityToken-Do-Not-Leak-2d8e4f6a";
const AUTH_TOKEN: &str = "CanaryAuthToken-Do-Not-Leak-9b1c3e5d";

/// A loopback TCP proxy to `upstream` that keeps every byte clients send.
async fn capturing_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let captured = Arc::new(Mutex::new(Vec::new()));
    let sink = captured.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = TcpStream::connect(upstream).await else {
                continue;
            };
            let sink = sink.clone();
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = inbound.into_split();
                let (mut server_read, mut server_write) = outbound.into_split();
                let upstream = async move {
                    let mut buffer = vec![0; 16 * 1024];
                    while let Ok(read @ 1..) = client_read.read(&mut buffer).await {
                        sink.lock().unwrap().extend_from_slice(&buffer[..read]);
                        if server_write.write_all(&buffer[..read]).await.is_err() {
                            break;
                        }
                    }
                    let _ = server_write.shutdown().await;
                };
                let downstream = async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    let _ = client_write.shutdown().await;
                };
                tokio::join!(upstream, downstream);
            });
        }
    });
    (address, captured)
}

/// Header values that carry credentials, from the raw bytes clients sent.
fn credential_headers(wire: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(wire);
    let mut values = Vec::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "authorization" | "x-auth-token" | "x-security-token"
        ) {
            let value = value.trim().to_owned();
            if let Some((_, signature)) = value.split_once("Signature=") {
                values.push(signature.to_owned());
            }
            values.push(value);
        }
    }
    values.sort();
    values.dedup();
    values
}

/// Every file under `dir`, recursively, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    found
}

const MANIFEST: &str = "images:\n  web:\n    name: web-base\n    \
    image_url: images-bucket:web/base.qcow2\n    os_version: Ubuntu 22.04 server 64bit\n    \
    min_disk: 20\n    description: first\n";

/// Runs the workflow in `dir` with `env`; returns every (label, stdout+stderr) seen.
fn workflow(dir: &Path, env: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    let plan = dir.join("plan.json");
    let plan = plan.to_str().unwrap();
    let steps: Vec<Vec<&str>> = vec![
        vec!["plan", "-out", plan],
        vec!["apply", plan],
        vec!["show", plan],
        vec!["show", plan, "--json"],
        vec!["plan", "-out", plan, "--markdown", "plan.md"],
        vec!["apply", plan],
        vec!["refresh"],
        vec!["show"],
        vec!["show", "--json"],
        vec!["state", "list"],
        vec!["state", "show", "images.web"],
        vec!["plan", "--json"],
    ];
    let mut outputs = Vec::new();
    for (index, args) in steps.iter().enumerate() {
        if index == 4 {
            let edited = MANIFEST.replace("description: first", "description: second");
            std::fs::write(dir.join("images.yaml"), edited).unwrap();
        }
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_imsform"));
        for name in [
            "HW_ACCESS_KEY",
            "HW_SECRET_KEY",
            "HW_SECURITY_TOKEN",
            "HW_AUTH_TOKEN",
        ] {
            command.env_remove(name);
        }
        command
            .envs(env.iter().copied())
            .env("RUST_LOG", "trace")
            .env("NO_COLOR", "1");
        let output = command
            .arg("-vvv")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        let label = format!("imsform {}", args.join(" "));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{label}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut both = output.stdout;
        both.extend_from_slice(&output.stderr);
        outputs.push((label, both));
    }
    outputs
}

async fn canary(
    builder: imsform::emulator::EmulatorBuilder,
    env: &[(&str, &str)],
    secrets: &[&str],
) {
    let emulator = builder
        .job_duration(std::time::Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let (proxy, captured) = capturing_proxy(emulator.address()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[cloud]\nregion = \"{}\"\nproject_id = \"{}\"\nendpoint = \"http://{proxy}\"\n",
        emulator.region(),
        emulator.project_id()
    );
    std::fs::write(dir.path().join("imsform.toml"), config).unwrap();
    std::fs::write(dir.path().join("images.yaml"), MANIFEST).unwrap();
    let path = dir.path().to_owned();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        workflow(&path, &env)
    })
    .await
    .unwrap();

    let wire = captured.lock().unwrap().clone();
    let mut needles: Vec<String> = credential_headers(&wire);
    assert!(
        !needles.is_empty(),
        "the proxy saw no credentials: the capture is broken"
    );
    needles.extend(secrets.iter().map(|s| (*s).to_owned()));
    let left = files(dir.path());
    let names: Vec<&str> = left.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "imsform.state.json",
        "imsform.state.json.backup",
        "plan.json",
        "plan.md",
    ] {
        assert!(
            names
                .iter()
                .any(|name| name.ends_with(&format!("/{expected}"))),
            "{expected} was not written: {names:?}"
        );
    }
    let log_lines = outputs
        .iter()
        .flat_map(|(_, bytes)| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|line| {
            [" INFO ", " DEBUG ", " TRACE "]
                .iter()
                .any(|level| line.contains(level))
        })
        .count();
    assert!(
        log_lines >= 10,
        "-vvv logged {log_lines} lines: is logging on?"
    );
    for (label, haystack) in outputs.iter().chain(left.iter()) {
        let text = String::from_utf8_lossy(haystack);
        for needle in &needles {
            assert!(
                !text.contains(needle.as_str()),
                "{label} leaks a credential ({} characters)",
                needle.len()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_key_and_secret_key_never_leak() {
    canary(
        Emulator::builder().credentials(ACCESS_KEY, SECRET_KEY),
        &[("HW_ACCESS_KEY", ACCESS_KEY), ("HW_SECRET_KEY", SECRET_KEY)],
        &[SECRET_KEY],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_credentials_never_leak() {
    canary(
        Emulator::builder().temporary_credentials(ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN),
        &[
            ("HW_ACCESS_KEY", ACCESS_KEY),
            ("HW_SECRET_KEY", SECRET_KEY),
            ("HW_SECURITY_TOKEN", SECURITY_TOKEN),
        ],
        &[SECRET_KEY, SECURITY_TOKEN],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_token_never_leaks() {
    canary(
        Emulator::builder().auth_token(AUTH_TOKEN),
        &[("HW_AUTH_TOKEN", AUTH_TOKEN)],
        &[AUTH_TOKEN],
    )
    .await;
}

#[test]
fn the_header_scan_finds_signatures_and_tokens() {
    let wire = b"GET / HTTP/1.1\r\nAuthorization: SDK-HMAC-SHA256 Access=AK, \
        SignedHeaders=host, Signature=abc123\r\nX-Auth-Token: tok\r\nHost: x\r\n\r\n";
    assert_eq!(
        credential_headers(wire),
        [
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abc123",
            "abc123",
            "tok"
        ]
    );
}
