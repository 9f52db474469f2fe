//! Uploading an image file to OBS: imsform's client against Huawei's official OBS SDK for
//! Python (`uploadFile`, the same part size and parallelism) in the same run, to the same
//! emulator (`imsform emulator`, a separate process, so neither side shares its CPU time with
//! the server); the SHA-256 rate against `sha256sum` on the same file; and the peak RSS of
//! hashing and uploading a 1 GiB and a 4 GiB file (a child process of this bench reads its own
//! `VmHWM`). Big files live in a temporary directory removed at the end.
//!
//! `cargo bench --bench upload`; `IMSFORM_BENCH_UPLOAD_MIB` (default 1024) sizes the compared
//! file, `IMSFORM_BENCH_RSS_MIB` (`1024,4096`; empty skips) the memory runs,
//! `IMSFORM_BENCH_PART_MIB` (16) and `IMSFORM_BENCH_PARALLELISM` (4) the upload. The SDK is
//! taken from `target/sdk-python` (what `tests/sdk/run.sh` installs), installed there if
//! missing; without it the peer figure is skipped. Prints figures; asserts only that every
//! upload stored the file's bytes.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use imsform::cloud::config::CloudConfig;
use imsform::cloud::obs::{LocalFile, ObsClient, Target, UploadOptions, Uploaded};
use imsform::cloud::{ClientFactory, ClientOptions, Credentials, RetryPolicy};
use imsform::upload::digest::sha256_file;
use imsform::upload::{Fingerprint, Progress};

const MIB: u64 = 1024 * 1024;
const BUCKET: &str = "bench";
/// Set in the child that measures its own peak RSS: `endpoint ak sk file`.
const CHILD: &str = "IMSFORM_UPLOAD_BENCH_CHILD";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A file of `mib` MiB of incompressible-looking bytes (xorshift), written in 1 MiB blocks.
fn make_file(path: &Path, mib: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..mib {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

/// The running emulator and what its start-up line says.
struct Server {
    child: Child,
    endpoint: String,
    access_key: String,
    secret_key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imsform"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--bucket", BUCKET])
        .arg("--data")
        .arg(dir.join("world.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let text = |key: &str| info[key].as_str().unwrap().to_owned();
    Server {
        endpoint: text("obs_endpoint"),
        access_key: text("access_key"),
        secret_key: text("secret_key"),
        child,
    }
}

fn client(endpoint: &str, access_key: &str, secret_key: &str) -> ObsClient {
    let config = CloudConfig::at_endpoint("http://127.0.0.1:1", "cn-north-4", Some("p"));
    let options = ClientOptions {
        retry: RetryPolicy::default(),
        clock: Arc::new(Utc::now),
        ..ClientOptions::default()
    };
    ClientFactory::new(&config, Credentials::ak_sk(access_key, secret_key), options)
        .obs_endpoint("cn-north-4", endpoint)
        .obs("cn-north-4")
        .unwrap()
}

/// Hashes `path` and uploads it to `key`; returns the hash time and the upload time.
async fn hash_and_upload(client: &ObsClient, path: &Path, key: &str) -> (Duration, Duration) {
    let started = Instant::now();
    let (sha256, _) = sha256_file(path).unwrap();
    let hashed = started.elapsed();
    let file = LocalFile {
        path: path.to_path_buf(),
        fingerprint: Fingerprint::of(path).unwrap(),
        sha256,
    };
    let options = UploadOptions {
        part_size: Some(env_u64("IMSFORM_BENCH_PART_MIB", 16) * MIB),
        parallelism: env_u64("IMSFORM_BENCH_PARALLELISM", 4) as usize,
        progress: Some(Arc::new(Progress::new(file.fingerprint.size))),
        ..UploadOptions::default()
    };
    let target = Target {
        bucket: BUCKET.into(),
        key: key.into(),
    };
    let started = Instant::now();
    let uploaded = client
        .upload_file(&target, &file, None, &options, &|_| {})
        .await
        .unwrap();
    assert!(
        matches!(uploaded, Uploaded::Multipart { .. } | Uploaded::Put { .. }),
        "{uploaded:?}"
    );
    let info = client.head(&target).await.unwrap().unwrap();
    assert_eq!(info.size, file.fingerprint.size);
    (hashed, started.elapsed())
}

fn rate(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / MIB as f64 / took.as_secs_f64()
}

/// The official SDK's `uploadFile` of `path` with the same part size and parallelism; its time.
fn sdk_upload(server: &Server, path: &Path, root: &Path) -> Option<Duration> {
    let lib = root.join("target/sdk-python");
    let importable = |lib: &Path| {
        Command::new("python3")
            .args(["-c", "import obs"])
            .env("PYTHONPATH", lib)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !importable(&lib) {
        let requirements = root.join("tests/sdk/requirements.txt");
        let _ = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&lib)
            .arg("-r")
            .arg(requirements)
            .status();
        if !importable(&lib) {
            return None;
        }
    }
    let script = format!(
        "import sys, time\nfrom obs import ObsClient\n\
         c = ObsClient(access_key_id='{}', secret_access_key='{}', server='{}', path_style=True, \
         signature='obs', is_signature_negotiation=False)\n\
         t = time.monotonic()\n\
         r = c.uploadFile('{BUCKET}', 'sdk.raw', sys.argv[1], partSize={}, taskNum={}, enableCheckpoint=False)\n\
         took = time.monotonic() - t\n\
         assert r.status == 200, r.errorMessage\nprint(took)\n",
        server.access_key,
        server.secret_key,
        server.endpoint,
        env_u64("IMSFORM_BENCH_PART_MIB", 16) * MIB,
        env_u64("IMSFORM_BENCH_PARALLELISM", 4),
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .arg(path)
        .env("PYTHONPATH", &lib)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse::<f64>().ok().map(Duration::from_secs_f64)
}

/// `sha256sum FILE`'s wall time.
fn sha256sum(path: &Path) -> Option<Duration> {
    let started = Instant::now();
    let status = Command::new("sha256sum")
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| started.elapsed())
}

/// Peak RSS (kB) of this process so far.
fn vm_hwm() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The child: hash and upload one file, then print the peak RSS in kB.
fn child(spec: &str) {
    let parts: Vec<&str> = spec.split(' ').collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = client(parts[0], parts[1], parts[2]);
    runtime.block_on(hash_and_upload(&client, Path::new(parts[3]), "rss.raw"));
    println!("{}", vm_hwm());
}

fn peak_rss(server: &Server, path: &Path) -> u64 {
    let spec = format!(
        "{} {} {} {}",
        server.endpoint,
        server.access_key,
        server.secret_key,
        path.display()
    );
    let output = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, spec)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::Builder::new()
        .prefix("imsform-upload-bench-")
        .tempdir()
        .unwrap();
    let server = start_emulator(dir.path());
    let mib = env_u64("IMSFORM_BENCH_UPLOAD_MIB", 1024);
    let path = dir.path().join("image.raw");
    make_file(&path, mib);
    let bytes = mib * MIB;
    let (part, parallelism) = (
        env_u64("IMSFORM_BENCH_PART_MIB", 16),
        env_u64("IMSFORM_BENCH_PARALLELISM", 4),
    );
    println!("upload of {mib} MiB to the emulator's OBS, {part} MiB parts, {parallelism} at once");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let obs = client(&server.endpoint, &server.access_key, &server.secret_key);
    let (hashed, uploaded) = runtime.block_on(hash_and_upload(&obs, &path, "imsform.raw"));
    let ours = rate(bytes, uploaded);
    println!(
        "  imsform client:        {:>6.2} s  {ours:>7.1} MiB/s (upload alone)",
        uploaded.as_secs_f64()
    );
    let whole = hashed + uploaded;
    println!(
        "  imsform hash + upload: {:>6.2} s  {:>7.1} MiB/s",
        whole.as_secs_f64(),
        rate(bytes, whole)
    );
    match sdk_upload(&server, &path, &root) {
        Some(sdk) => {
            let theirs = rate(bytes, sdk);
            println!(
                "  OBS SDK uploadFile:    {:>6.2} s  {theirs:>7.1} MiB/s",
                sdk.as_secs_f64()
            );
            println!(
                "  imsform / SDK: {:.2}x upload alone (goal >= 1.5x); hash + upload vs SDK upload: {:.2}x",
                ours / theirs,
                rate(bytes, whole) / theirs
            );
        }
        None => println!("  OBS SDK uploadFile: skipped (esdk-obs-python could not be installed)"),
    }
    println!("SHA-256 of {mib} MiB (page cache warm)");
    println!(
        "  imsform:   {:>6.2} s  {:>7.1} MiB/s",
        hashed.as_secs_f64(),
        rate(bytes, hashed)
    );
    if let Some(took) = sha256sum(&path) {
        println!(
            "  sha256sum: {:>6.2} s  {:>7.1} MiB/s",
            took.as_secs_f64(),
            rate(bytes, took)
        );
    }
    std::fs::remove_file(&path).unwrap();
    let sizes = std::env::var("IMSFORM_BENCH_RSS_MIB").unwrap_or_else(|_| "1024,4096".into());
    for size in sizes
        .split(',')
        .filter_map(|s| s.trim().parse::<u64>().ok())
    {
        let file = dir.path().join(format!("rss-{size}.raw"));
        make_file(&file, size);
        let kb = peak_rss(&server, &file);
        println!(
            "peak RSS of hashing and uploading {size} MiB: {:.1} MB (goal <= 100 MB, flat)",
            kb as f64 / 1000.0
        );
        std::fs::remove_file(&file).unwrap();
    }
    drop(server);
    dir.close().unwrap();
}
