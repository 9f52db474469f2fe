//! scripts/install.sh against a release served over loopback HTTP, as a mirror or GitHub serves
//! one: `v<VERSION>/imsform-<VERSION>-<target>` and `v<VERSION>/SHA256SUMS` (README "Install").
//! The release binary is the `imsform` binary under test, so nothing new is built. Checked: the
//! binary installs, goes on PATH through $GITHUB_PATH and runs; a corrupted binary, a binary of
//! another version, a release without this machine's target and an unknown version are refused
//! with a clear message and nothing installed; curl and wget (whichever the machine has) both work.
//! The files that build and publish the release are checked in `release_files`.
#![cfg(unix)]

mod release_files;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The release target that install.sh picks on this machine.
fn this_target() -> String {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", arch @ ("x86_64" | "aarch64")) => format!("{arch}-unknown-linux-musl"),
        ("macos", arch @ ("x86_64" | "aarch64")) => format!("{arch}-apple-darwin"),
        (os, arch) => panic!("install.sh has no release target for {os} {arch}"),
    }
}

pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A release directory: `v<version>/` holding `files` (name, bytes) and a SHA256SUMS of `sums`
/// (name, hex SHA-256).
fn release(root: &Path, version: &str, files: &[(&str, &[u8])], sums: &[(&str, &str)]) {
    let dir = root.join(format!("v{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let lines: String = sums
        .iter()
        .map(|(name, sum)| format!("{sum}  {name}\n"))
        .collect();
    std::fs::write(dir.join("SHA256SUMS"), lines).unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The release stand-in and its SHA-256, made once for all the tests of this file: the binary
/// under test without its debug info, as a release ships it (some 35 MB instead of 220, which
/// each download, copy and hash of these tests would pay for), or the binary as it is where
/// `strip` is missing.
fn binary() -> &'static (Vec<u8>, String) {
    static BINARY: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    BINARY.get_or_init(|| {
        let scratch = tempfile::tempdir().unwrap();
        let stripped = scratch.path().join("imsform");
        let status = std::process::Command::new("strip")
            .arg("-o")
            .arg(&stripped)
            .arg(env!("CARGO_BIN_EXE_imsform"))
            .status();
        let bytes = match status {
            Ok(status) if status.success() => std::fs::read(&stripped).unwrap(),
            _ => std::fs::read(env!("CARGO_BIN_EXE_imsform")).unwrap(),
        };
        let sum = sha256(&bytes);
        (bytes, sum)
    })
}

fn asset(version: &str) -> String {
    format!("imsform-{version}-{}", this_target())
}

/// Serves the files under `root` on 127.0.0.1 (404 for anything else) until the test ends.
async fn serve(root: PathBuf) -> String {
    async fn file(State(root): State<Arc<PathBuf>>, uri: Uri) -> Response {
        let relative = uri.path().trim_start_matches('/');
        if relative
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return StatusCode::NOT_FOUND.into_response();
        }
        match tokio::fs::read(root.join(relative)).await {
            Ok(bytes) => bytes.into_response(),
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(file)
        .with_state(Arc::new(root));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

struct Run {
    code: Option<i32>,
    stderr: String,
}

/// Runs `sh scripts/install.sh ARGS` against `url`, with `path` as PATH and $GITHUB_PATH set
/// to `github_path`.
async fn install(url: &str, args: &[&str], path: &str, github_path: &Path) -> Run {
    let output = tokio::process::Command::new("sh")
        .arg(repo().join("scripts/install.sh"))
        .args(args)
        .env("IMSFORM_DOWNLOAD_URL", url)
        .env("PATH", path)
        .env("GITHUB_PATH", github_path)
        .output()
        .await
        .unwrap();
    Run {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The programs scripts/install.sh runs besides its downloader (its header names them).
const TOOLS: &[&str] = &[
    "sh",
    "uname",
    "id",
    "mktemp",
    "rm",
    "awk",
    "cut",
    "sha256sum",
    "shasum",
    "chmod",
    "mkdir",
    "cp",
    "mv",
    "tail",
    "cat",
];

/// A PATH on which `downloader` (curl or wget) is the only downloader: a directory of links to
/// it and to the [`TOOLS`] of the current PATH. None when the machine lacks `downloader`.
fn path_with_only(downloader: &str, scratch: &Path) -> Option<String> {
    let path = std::env::var("PATH").unwrap();
    let find = |name: &str| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    };
    let found = find(downloader)?;
    let bin = scratch.join(format!("path-{downloader}"));
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(found, bin.join(downloader)).unwrap();
    for tool in TOOLS {
        if let Some(found) = find(tool) {
            std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
        }
    }
    Some(bin.to_str().unwrap().to_owned())
}

/// Nothing at all was written into the install directory.
fn assert_nothing_installed(dir: &Path, run: &Run) {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        entries.is_empty(),
        "{entries:?} left in {}: {}",
        dir.display(),
        run.stderr
    );
}

#[tokio::test]
async fn the_binary_installs_on_path_and_runs_with_curl_and_with_wget() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("releases");
    let (bytes, sum) = binary();
    let asset = asset(VERSION);
    release(&root, VERSION, &[(&asset, bytes)], &[(&asset, sum)]);
    let url = serve(root).await;

    let mut tried = Vec::new();
    for downloader in ["curl", "wget"] {
        let Some(path) = path_with_only(downloader, scratch.path()) else {
            continue;
        };
        tried.push(downloader);
        let dir = scratch.path().join(format!("bin-{downloader}"));
        let github_path = scratch.path().join(format!("github-path-{downloader}"));
        // A leading "v" is accepted, as in a tag.
        let run = install(
            &url,
            &[&format!("v{VERSION}"), dir.to_str().unwrap()],
            &path,
            &github_path,
        )
        .await;
        assert_eq!(run.code, Some(0), "{downloader}: {}", run.stderr);

        let installed = dir.join("imsform");
        assert!(
            std::fs::read(&installed).unwrap() == *bytes,
            "{downloader}: other bytes"
        );
        let mode = std::fs::metadata(&installed).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{downloader}: not executable");
        let lines = std::fs::read_to_string(&github_path).unwrap();
        assert_eq!(
            lines,
            format!("{}\n", dir.display()),
            "{downloader}: GITHUB_PATH"
        );
        assert!(
            run.stderr
                .contains(&format!("installed imsform {VERSION} (commit ")),
            "{}",
            run.stderr
        );

        let output = std::process::Command::new(&installed)
            .arg("--version")
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let expected = format!(
            "imsform {VERSION} (commit {}, {})\n",
            imsform::version::COMMIT,
            imsform::version::TARGET
        );
        assert_eq!(stdout, expected);
        let entries = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(
            entries,
            1,
            "{downloader}: only the binary in {}",
            dir.display()
        );
    }
    assert!(
        !tried.is_empty(),
        "neither curl nor wget on PATH: install.sh cannot run here"
    );
}

#[tokio::test]
async fn a_corrupted_binary_is_refused_and_nothing_installed() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("releases");
    let (good, good_sum) = binary();
    let mut corrupted = good.clone();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x01;
    let asset = asset(VERSION);
    release(
        &root,
        VERSION,
        &[(&asset, &corrupted)],
        &[(&asset, good_sum)],
    );
    let url = serve(root).await;
    let dir = scratch.path().join("bin");
    let path = std::env::var("PATH").unwrap();
    let github_path = scratch.path().join("github-path");

    let run = install(&url, &[VERSION, dir.to_str().unwrap()], &path, &github_path).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    // The download's own checksum, as install.sh reports it, is the one of the corrupted bytes.
    let bad_sum = run
        .stderr
        .split("the download is ")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .unwrap_or_else(|| panic!("no checksum of the download: {}", run.stderr));
    assert!(bad_sum.chars().all(|c| c.is_ascii_hexdigit()) && bad_sum != good_sum);
    let expected = format!(
        "imsform install: error: checksum mismatch for {asset}: SHA256SUMS says {good_sum}, \
         the download is {bad_sum}.\nThe download is corrupt or was tampered with; nothing was \
         installed.\n"
    );
    assert!(run.stderr.ends_with(&expected), "{}", run.stderr);
    assert_nothing_installed(&dir, &run);
    assert!(!github_path.exists(), "PATH changed by a refused install");
}

#[tokio::test]
async fn an_unknown_version_fails_clearly() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("releases");
    let asset = asset(VERSION);
    let stand_in = b"#!/bin/sh\nexit 1\n";
    release(
        &root,
        VERSION,
        &[(&asset, stand_in)],
        &[(&asset, &sha256(stand_in))],
    );
    let url = serve(root).await;
    let dir = scratch.path().join("bin");
    let path = std::env::var("PATH").unwrap();
    let github_path = scratch.path().join("github-path");

    let run = install(&url, &["9.9.9", dir.to_str().unwrap()], &path, &github_path).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let expected = format!(
        "imsform install: error: imsform 9.9.9 is not released at {url}: {url}/v9.9.9/SHA256SUMS was not found (HTTP 404).\nCheck the version (the releases are named v<VERSION>) and IMSFORM_DOWNLOAD_URL.\n"
    );
    assert_eq!(run.stderr, expected);
    assert_nothing_installed(&dir, &run);

    for bad in ["latest", "1.2", "1..2.3", ""] {
        let run = install(&url, &[bad, dir.to_str().unwrap()], &path, &github_path).await;
        assert_eq!(run.code, Some(1), "{bad}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("'{bad}' is not a version such as 0.1.0")),
            "{bad}: {}",
            run.stderr
        );
    }
    let run = install(&url, &[], &path, &github_path).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("usage: install.sh VERSION [DIR]"),
        "{}",
        run.stderr
    );
    assert_nothing_installed(&dir, &run);
}

/// A release that lacks this machine's target names the binaries it has; a mirror that serves
/// a binary of another version under this version's name is refused after the checksum passes.
#[tokio::test]
async fn a_missing_target_or_a_binary_of_another_version_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("releases");
    let (bytes, sum) = binary();
    let other = "imsform-7.0.0-sparc64-unknown-linux-musl";
    let other_bytes = b"not this one";
    release(
        &root,
        "7.0.0",
        &[(other, other_bytes)],
        &[(other, &sha256(other_bytes))],
    );
    let asset8 = asset("8.0.0");
    release(&root, "8.0.0", &[(&asset8, bytes)], &[(&asset8, sum)]);
    let url = serve(root).await;
    let dir = scratch.path().join("bin");
    let path = std::env::var("PATH").unwrap();
    let github_path = scratch.path().join("github-path");

    let run = install(&url, &["7.0.0", dir.to_str().unwrap()], &path, &github_path).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let expected = format!(
        "imsform install: error: imsform 7.0.0 has no binary for {} (no {} in {url}/v7.0.0/SHA256SUMS).\nBinaries of this release: {other}\n",
        this_target(),
        asset("7.0.0"),
    );
    assert_eq!(run.stderr, expected);
    assert_nothing_installed(&dir, &run);

    let run = install(&url, &["8.0.0", dir.to_str().unwrap()], &path, &github_path).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let reported = format!(
        "imsform {VERSION} (commit {}, {})",
        imsform::version::COMMIT,
        imsform::version::TARGET
    );
    assert!(
        run.stderr.ends_with(&format!(
            "error: the binary of {} reports '{reported}', not imsform 8.0.0; nothing was installed\n",
            asset("8.0.0")
        )),
        "{}",
        run.stderr
    );
    assert_nothing_installed(&dir, &run);
}
