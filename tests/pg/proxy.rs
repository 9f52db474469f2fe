//! A TCP forwarder on loopback in front of the test server that can go silent the way a stuck
//! pooler, a frozen server or a black-holing load balancer does: once [`Proxy::go_silent`] is
//! called it keeps every connection open and keeps reading (so the client's kernel sees its
//! bytes acknowledged), but forwards nothing and answers nothing, in either direction. TCP
//! keepalives and `tcp_user_timeout` cannot see this; only the client's own bounds can.
//! Dropping the proxy closes every connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The forwarder; serves until dropped.
pub struct Proxy {
    pub port: u16,
    silent: Arc<AtomicBool>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Forwards `127.0.0.1:<port>` to `target` (`host:port`).
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = Arc::new(AtomicBool::new(false));
        let flag = silent.clone();
        let tasks = tokio::spawn(async move {
            // Dropped with the accept task: every pump ends, every socket closes.
            let mut pumps = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                pumps.spawn(pump(client_read, server_write, flag.clone()));
                pumps.spawn(pump(server_read, client_write, flag.clone()));
            }
        });
        Proxy {
            port,
            silent,
            accept: tasks,
        }
    }

    /// From now on nothing is forwarded; connections stay open.
    pub fn go_silent(&self) {
        self.silent.store(true, Ordering::SeqCst);
    }
}

/// `(host:port, key=value connection string through 127.0.0.1:proxy_port)` for the test
/// server, or `None` when it is not reached over TCP.
pub fn through(url: &str, proxy_port: u16) -> Option<(String, String)> {
    use tokio_postgres::config::{Host, SslMode};
    let config: tokio_postgres::Config = url.parse().ok()?;
    let Some(Host::Tcp(host)) = config.get_hosts().first() else {
        return None;
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let sslmode = match config.get_ssl_mode() {
        SslMode::Disable => "disable",
        SslMode::Require => "require",
        _ => "prefer",
    };
    let conn_str = format!(
        "host=127.0.0.1 port={proxy_port} user='{}' dbname='{}' sslmode={sslmode}",
        config.get_user()?,
        config.get_dbname()?,
    );
    Some((format!("{host}:{port}"), conn_str))
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies `from` to `to` until either closes, dropping what it reads once `silent` is set.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    silent: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                if silent.load(Ordering::SeqCst) {
                    // A silent link never reports the other side's close either.
                    std::future::pending::<()>().await;
                }
                return;
            }
            Ok(read) => read,
        };
        if silent.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
