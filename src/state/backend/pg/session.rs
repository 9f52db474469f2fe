//! [`Session`]: the one dedicated database connection of a run, and the small runtime that
//! drives it.
//!
//! # Contract
//!
//! - **One connection, never reconnected.** The session advisory lock lives on it, and every
//!   write goes through it, so a commit that succeeds proves the lock was still held. When the
//!   connection ends (the server terminated it, the network failed, the heartbeat got no
//!   answer), [`Session::loss`] turns `true` and every later call fails with
//!   [`PgError::Lost`]; nothing opens a new connection behind the caller's back.
//! - **Its own runtime.** The store's API is blocking (it runs under `spawn_blocking`, and a
//!   store is dropped anywhere), so the connection, the heartbeat and the loss watch run on a
//!   one-worker runtime owned by the session; [`Session::call`] hands it a future and waits.
//! - **Heartbeat**: `SELECT 1` every [`HEARTBEAT`] while the lock is held, so a dead link is
//!   noticed within seconds even while the run only waits on the cloud, and idle timers on the
//!   way do not close the session. TCP keepalives and `tcp_user_timeout` bound the rest.
//! - TLS is rustls ([`super::tls`]); the password is never logged.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use tokio_postgres::Client;

use super::settings::{Settings, password_from_file};
use super::{PgError, tls};

/// How often the heartbeat checks the connection.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// One dedicated connection.
pub struct Session {
    runtime: Option<tokio::runtime::Runtime>,
    client: Arc<Mutex<Client>>,
    lost: watch::Sender<bool>,
    target: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects to the database of `settings`.
    pub fn connect(
        settings: &Settings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Session, PgError> {
        let target = settings.to_string();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("imsform-pg")
            .enable_all()
            .build()
            .map_err(|error| PgError::Connect {
                target: target.clone(),
                message: format!("cannot start the connection's runtime: {error}"),
            })?;
        let config = client_config(settings, env);
        let connector = tls::connector(settings)?;
        let (lost, _) = watch::channel(false);
        let on_loss = lost.clone();
        let connect_target = target.clone();
        let (result_tx, result_rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let connected = config.connect(connector).await;
            let client = match connected {
                Ok((client, connection)) => {
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::warn!(%error, "the state database connection ended");
                        }
                        on_loss.send_replace(true);
                    });
                    Ok(client)
                }
                Err(error) => Err(PgError::Connect {
                    target: connect_target,
                    message: super::describe(&error),
                }),
            };
            let _ = result_tx.send(client);
        });
        let client = result_rx.recv().map_err(|_| PgError::Lost {
            target: target.clone(),
        })??;
        Ok(Session {
            runtime: Some(runtime),
            client: Arc::new(Mutex::new(client)),
            lost,
            target,
        })
    }

    /// Where the session is connected, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// `true` once the connection is gone.
    pub fn loss(&self) -> watch::Receiver<bool> {
        self.lost.subscribe()
    }

    fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Runs `work` with the client on the session's runtime and waits for its result. A failure
    /// after the connection ended is reported as [`PgError::Lost`].
    pub fn call<T, F, Fut>(&self, work: F) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Mutex<Client>>) -> Fut,
        Fut: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        let lost = || PgError::Lost {
            target: self.target.clone(),
        };
        let Some(runtime) = &self.runtime else {
            return Err(lost());
        };
        if self.is_lost() {
            return Err(lost());
        }
        let future = work(self.client.clone());
        let (result_tx, result_rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let _ = result_tx.send(future.await);
        });
        let result = result_rx.recv().map_err(|_| lost())?;
        let closed = self
            .client
            .try_lock()
            .is_ok_and(|client| client.is_closed());
        match result {
            Err(_) if closed || self.is_lost() => {
                self.lost.send_replace(true);
                Err(lost())
            }
            other => other,
        }
    }

    /// Starts the heartbeat; it ends with the session or at the first failed check.
    pub fn start_heartbeat(&self) {
        let Some(runtime) = &self.runtime else { return };
        let client = self.client.clone();
        let lost = self.lost.clone();
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(HEARTBEAT);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let check = {
                    let client = client.lock().await;
                    tokio::time::timeout(HEARTBEAT, client.simple_query("SELECT 1")).await
                };
                if !matches!(check, Ok(Ok(_))) {
                    tracing::warn!("the state database did not answer the heartbeat");
                    lost.send_replace(true);
                    return;
                }
            }
        });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed on an async thread; the connection
        // closes with it either way, and with it the session's advisory lock.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The client configuration: address, user, database, password, keepalives and timeouts.
fn client_config(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    if settings.host.starts_with('/') {
        config.host_path(&settings.host);
    } else {
        config.host(&settings.host);
    }
    config
        .port(settings.port)
        .user(&settings.user)
        .dbname(&settings.dbname)
        .application_name(concat!("imsform ", env!("CARGO_PKG_VERSION")))
        .ssl_mode(tls::ssl_mode(settings.sslmode))
        .connect_timeout(Duration::from_secs(10))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .keepalives_interval(Duration::from_secs(5))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(30));
    let password = settings
        .password
        .clone()
        .or_else(|| password_from_file(settings, env));
    if let Some(password) = password {
        config.password(password.0);
    }
    config
}
