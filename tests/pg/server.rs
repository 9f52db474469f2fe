//! The PostgreSQL server the tests and the state bench use, one per process.
//!
//! In order: `IMSFORM_TEST_PG_URL` (a `postgres://` URL, password in `PGPASSWORD`); the libpq
//! variables of `pg_virtualenv` (`PGHOST` and `PGPORT` set); else a throwaway server of its own:
//! `initdb` (as the `postgres` user when run as root) in a temporary directory and `pg_ctl` on a
//! free loopback port with its socket in that directory, stopped and removed by a watchdog once
//! this process is gone. Under `CI=true` a missing server fails; elsewhere, without PostgreSQL
//! binaries, [`server`] prints a loud notice and returns `None`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct Server {
    /// `postgres://user@host:port/db?sslmode=disable`, no password.
    pub url: String,
    pub password: Option<String>,
    /// The port of a server of our own that speaks TLS with Debian's snakeoil certificate
    /// (`CN=localhost`) and admits the role `tlsonly` only over TLS.
    pub tls_port: Option<u16>,
}

/// The self-signed certificate the throwaway server presents.
pub const SNAKEOIL_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const SNAKEOIL_KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";

/// The server of this process, started at the first call.
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    SERVER.get_or_init(find_or_start).as_ref()
}

fn find_or_start() -> Option<Server> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(url) = var("IMSFORM_TEST_PG_URL") {
        return Some(Server {
            url,
            password: var("PGPASSWORD"),
            tls_port: None,
        });
    }
    if let (Some(host), Some(port)) = (var("PGHOST"), var("PGPORT")) {
        let user = var("PGUSER").unwrap_or_else(|| "postgres".to_owned());
        let db = var("PGDATABASE").unwrap_or_else(|| user.clone());
        let url = format!("postgres://{user}@{host}:{port}/{db}?sslmode=prefer");
        return Some(Server {
            url,
            password: var("PGPASSWORD"),
            tls_port: None,
        });
    }
    let Some(bin) = binaries() else {
        let message = "no PostgreSQL server: set IMSFORM_TEST_PG_URL, run under \
                       `pg_virtualenv -t`, or install Debian's `postgresql` package";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {message}"
        );
        eprintln!("\n!!!!! SKIPPING the PostgreSQL tests: {message} !!!!!\n");
        return None;
    };
    Some(start(&bin))
}

/// The newest `/usr/lib/postgresql/*/bin` holding `initdb`.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort_by_key(|bin| {
        let version = bin
            .parent()
            .and_then(Path::file_name)
            .map(|v| v.to_string_lossy().into_owned());
        version.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0)
    });
    found.pop()
}

fn start(bin: &Path) -> Server {
    let dir = tempfile::Builder::new()
        .prefix("imsform-pg-")
        .tempdir()
        .unwrap()
        .keep();
    let root = rustix::process::getuid().is_root();
    let as_postgres = |program: &str| {
        let mut command = if root {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(bin.join(program));
            command
        } else {
            Command::new(bin.join(program))
        };
        command.env("LC_ALL", "C.UTF-8");
        command
    };
    if root {
        let status = Command::new("chown")
            .arg("postgres:postgres")
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "chown of {} failed", dir.display());
    }
    let data = dir.join("data");
    let output = as_postgres("initdb")
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // TLS needs the snakeoil key, readable by `postgres` (group ssl-cert) on Debian.
    let tls = root && Path::new(SNAKEOIL_KEY).exists();
    if tls {
        enable_tls(&data);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=localhost -c fsync=off -c max_connections=300",
        dir.display()
    );
    let output = as_postgres("pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-w", "-l"])
        .arg(dir.join("log"))
        .args(["-o", &options, "start"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pg_ctl start failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    watchdog(bin, &dir, root);
    if tls {
        let output = as_postgres("psql")
            .arg("-h")
            .arg(&dir)
            .args([
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
            ])
            .arg("CREATE ROLE tlsonly LOGIN SUPERUSER")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Server {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"),
        password: None,
        tls_port: tls.then_some(port),
    }
}

/// `ssl = on` with the snakeoil pair, and `tlsonly` refused without TLS.
fn enable_tls(data: &Path) {
    use std::io::Write;
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .unwrap();
    writeln!(
        conf,
        "ssl = on\nssl_cert_file = '{SNAKEOIL_CERT}'\nssl_key_file = '{SNAKEOIL_KEY}'"
    )
    .unwrap();
    let hba = data.join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("hostnossl all tlsonly all reject\n{rules}")).unwrap();
}

/// Stops the server and removes its directory once this process has exited.
fn watchdog(bin: &Path, dir: &Path, root: bool) {
    let stop = format!(
        "{} {}/pg_ctl -D {}/data -m immediate stop",
        if root { "runuser -u postgres --" } else { "" },
        bin.display(),
        dir.display()
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    // `setsid -f`: in a session of its own (killing this process's group spares it), and
    // returning at once.
    let status = Command::new("setsid")
        .args(["-f", "sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the watchdog did not start");
}
