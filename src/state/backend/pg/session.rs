//! [`Session`]: the one dedicated database connection of a run, and the small runtime that
//! drives it.
//!
//! # Contract
//!
//! - **One connection, never reconnected.** The session advisory lock lives on it, and every
//!   write goes through it, so a commit that succeeds proves the lock was still held. When the
//!   connection ends (the server terminated it, the network failed, a bound below passed),
//!   [`Session::loss`] carries the reason and every later call fails with [`PgError::Lost`];
//!   nothing opens a new connection behind the caller's back.
//! - **Every wait is bounded.** A call ([`Session::call`]: a commit, a read, a lock attempt)
//!   gets `statement_timeout` (`[state]`, default 30 s) from the moment it asks for the
//!   connection, so waiting behind another statement counts. The connect (socket, TLS and
//!   start-up) gets the same bound. When a bound passes the session is lost ("no answer for
//!   30 s"): its connection task is aborted at once, so nothing queued is sent later, and every
//!   waiting call returns.
//! - **Heartbeat**: while the lock is held, every `heartbeat` (default 5 s) an idle connection
//!   is sent `SELECT 1`, which must be answered within `heartbeat`; any answer counts, even an
//!   error. A connection busy with a statement is not checked (that statement's own bound
//!   covers the link), so the heartbeat never waits for the connection and never queues behind
//!   a commit. A silent link is therefore noticed within `2 × heartbeat` when idle and within
//!   `statement_timeout` when busy.
//! - **Server side** ([`SERVER_BOUNDS`]): the session sets `statement_timeout` and
//!   `idle_in_transaction_session_timeout` to `statement_timeout`, and on PostgreSQL 14 and
//!   later `idle_session_timeout` to [`idle_session_timeout`] (the heartbeat keeps a live run
//!   busier than that), so the server also ends a session whose client stopped talking, and
//!   with it frees the lock.
//! - **Its own runtime.** The store's API is blocking (it runs under `spawn_blocking`, and a
//!   store is dropped anywhere), so the connection, the heartbeat and the loss watch run on a
//!   one-worker runtime owned by the session; [`Session::call`] hands it a future and waits.
//! - TLS is rustls ([`super::tls`]); the password is never logged.

use std::future::Future;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use tokio::task::AbortHandle;
use tokio_postgres::Client;

use super::settings::{Settings, password_from_file};
use super::{PgError, tls};

/// Sets the server's own bounds for this session: `$1` for `statement_timeout` and
/// `idle_in_transaction_session_timeout`, `$2` for `idle_session_timeout` (PostgreSQL 14+).
pub const SERVER_BOUNDS: &str = "SELECT set_config('statement_timeout', $1, false), \
     set_config('idle_in_transaction_session_timeout', $1, false), \
     CASE WHEN current_setting('server_version_num')::int >= 140000 \
          THEN set_config('idle_session_timeout', $2, false) END";

/// The server's `idle_session_timeout` for a session whose heartbeat is `heartbeat`: long
/// enough that a live run (which talks at least every heartbeat) is never ended, short enough
/// that the lock of a vanished client is freed within about a minute.
pub fn idle_session_timeout(heartbeat: Duration) -> Duration {
    (heartbeat * 4).max(Duration::from_secs(60))
}

/// One dedicated connection.
pub struct Session {
    runtime: Option<tokio::runtime::Runtime>,
    client: Arc<Mutex<Client>>,
    link: Link,
    target: String,
    heartbeat: Duration,
    statement_timeout: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Whether the connection is gone, and why; shared by the calls, the heartbeat and the
/// connection task.
#[derive(Clone)]
struct Link {
    lost: watch::Sender<Option<String>>,
    connection: Arc<SyncMutex<Option<AbortHandle>>>,
}

impl Link {
    fn new() -> Link {
        Link {
            lost: watch::channel(None).0,
            connection: Arc::new(SyncMutex::new(None)),
        }
    }

    /// Marks the session lost (the first reason wins) and aborts the connection task, so
    /// that nothing still queued is sent.
    fn lose(&self, reason: String) {
        self.lost.send_if_modified(|lost| {
            if lost.is_some() {
                return false;
            }
            tracing::info!("the state database connection is lost: {reason}");
            *lost = Some(reason);
            true
        });
        if let Ok(mut connection) = self.connection.lock()
            && let Some(task) = connection.take()
        {
            task.abort();
        }
    }

    fn reason(&self) -> Option<String> {
        self.lost.borrow().clone()
    }

    /// Resolves once the session is lost.
    async fn lost(&self) {
        let mut receiver = self.lost.subscribe();
        if receiver.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Session {
    /// Connects to the database of `settings` and sets the server's bounds.
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
        let link = Link::new();
        let (on_end, bound) = (link.clone(), settings.statement_timeout);
        let (result_tx, result_rx) = std::sync::mpsc::channel();
        // Spawned and waited for, not `block_on`: a store may be opened from any thread.
        runtime.spawn(async move {
            let connected = match tokio::time::timeout(bound, config.connect(connector)).await {
                Ok(Ok((client, connection))) => {
                    let task = tokio::spawn(async move {
                        let reason = match connection.await {
                            Ok(()) => "the server closed the connection".to_owned(),
                            Err(error) => {
                                format!("the connection ended: {}", super::describe(&error))
                            }
                        };
                        on_end.lose(reason);
                    });
                    Ok((client, task.abort_handle()))
                }
                Ok(Err(error)) => Err(super::describe(&error)),
                Err(_) => Err(format!("no answer for {}", seconds(bound))),
            };
            let _ = result_tx.send(connected);
        });
        let (client, task) = result_rx
            .recv()
            .unwrap_or_else(|_| Err("the connection's runtime stopped".to_owned()))
            .map_err(|message| PgError::Connect {
                target: target.clone(),
                message,
            })?;
        if let Ok(mut slot) = link.connection.lock() {
            *slot = Some(task);
        }
        let session = Session {
            runtime: Some(runtime),
            client: Arc::new(Mutex::new(client)),
            link,
            target,
            heartbeat: settings.heartbeat,
            statement_timeout: settings.statement_timeout,
        };
        session.set_server_bounds()?;
        Ok(session)
    }

    /// The server's own bounds for this session ([`SERVER_BOUNDS`]).
    fn set_server_bounds(&self) -> Result<(), PgError> {
        let statement = format!("{}ms", self.statement_timeout.as_millis().max(1));
        let idle = format!("{}ms", idle_session_timeout(self.heartbeat).as_millis());
        self.call(move |client| async move {
            client
                .lock()
                .await
                .query_one(SERVER_BOUNDS, &[&statement, &idle])
                .await
                .map_err(|error| super::query_error("set the session's time limits", &error))?;
            Ok(())
        })
    }

    /// Where the session is connected, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// `Some(reason)` once the connection is gone.
    pub fn loss(&self) -> watch::Receiver<Option<String>> {
        self.link.lost.subscribe()
    }

    fn lost_error(&self) -> PgError {
        PgError::Lost {
            target: self.target.clone(),
            reason: self
                .link
                .reason()
                .unwrap_or_else(|| "the connection's runtime stopped".to_owned()),
        }
    }

    /// Runs `work` with the client on the session's runtime and waits for its result, at most
    /// `statement_timeout` from now (waiting for the connection included): past it, the
    /// session is lost. A failure after the connection ended is reported as
    /// [`PgError::Lost`].
    pub fn call<T, F, Fut>(&self, work: F) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Mutex<Client>>) -> Fut,
        Fut: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        let Some(runtime) = &self.runtime else {
            return Err(self.lost_error());
        };
        if self.link.reason().is_some() {
            return Err(self.lost_error());
        }
        let future = work(self.client.clone());
        let (link, bound) = (self.link.clone(), self.statement_timeout);
        let (result_tx, result_rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let result = tokio::select! {
                result = tokio::time::timeout(bound, future) => match result {
                    Ok(result) => Some(result),
                    Err(_) => {
                        link.lose(format!("no answer for {} to a statement", seconds(bound)));
                        None
                    }
                },
                () = link.lost() => None,
            };
            let _ = result_tx.send(result);
        });
        let result = result_rx.recv();
        if let Ok(Some(Err(_))) = &result
            && self
                .client
                .try_lock()
                .is_ok_and(|client| client.is_closed())
        {
            self.link.lose("the connection closed".to_owned());
        }
        match result {
            Ok(Some(Ok(value))) => Ok(value),
            Ok(Some(Err(error))) if self.link.reason().is_none() => Err(error),
            _ => Err(self.lost_error()),
        }
    }

    /// Starts the heartbeat (see the module docs); it ends with the session or at the first
    /// check left unanswered.
    pub fn start_heartbeat(&self) {
        let Some(runtime) = &self.runtime else { return };
        let (client, link, every) = (self.client.clone(), self.link.clone(), self.heartbeat);
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = link.lost() => return,
                }
                // Busy: the statement holding the connection is bounded itself.
                let Ok(client) = client.try_lock() else {
                    continue;
                };
                let check = tokio::time::timeout(every, client.simple_query("SELECT 1")).await;
                let reason = match check {
                    Ok(Ok(_)) => continue,
                    // The server answered, with an error: the link is alive.
                    Ok(Err(error)) if error.as_db_error().is_some() && !client.is_closed() => {
                        continue;
                    }
                    Ok(Err(error)) => format!("the heartbeat failed: {}", super::describe(&error)),
                    Err(_) => format!("no answer for {} to the heartbeat", seconds(every)),
                };
                link.lose(reason);
                return;
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

/// `30 s`, `1.5 s`: a bound as messages show it.
pub fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
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
        .connect_timeout(Duration::from_secs(10).min(settings.statement_timeout))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_ends_idle_sessions_well_after_the_heartbeat() {
        assert_eq!(
            idle_session_timeout(Duration::from_secs(5)),
            Duration::from_secs(60)
        );
        assert_eq!(
            idle_session_timeout(Duration::from_secs(30)),
            Duration::from_secs(120)
        );
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }
}
