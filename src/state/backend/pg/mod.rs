//! The PostgreSQL backend (design.md section 9): a workspace of rows, locked by a session
//! advisory lock held on one dedicated connection for the whole run.
//!
//! # Contract
//!
//! - **Open**: connect ([`session`]); create the layout when absent ([`sql`]); create the
//!   workspace at serial 0 with a fresh lineage unless it exists (the lineage is fixed then);
//!   take `pg_try_advisory_lock(namespace, lock_key)` ([`lock`]), waiting up to the lock
//!   timeout; refuse a transaction pooler; record the holder; start the heartbeat; read.
//! - **Commit**: one transaction, pipelined: the serial compare-and-set (`serial = previous`
//!   and this session holds the lock, else nothing is written), then only the changed image
//!   rows, the removed ones and the journal rows when the journal changed. Its cost depends on
//!   the change, not on the number of images.
//! - **Loss**: when the connection ends, or a statement or the heartbeat goes unanswered past
//!   its bound ([`session`]), [`Backend::loss`] fires with the reason and every later commit
//!   fails with [`PgError::Lost`]; the apply stops starting cloud calls. The server frees the
//!   lock with the session (at once, or by its own timeouts when the link went silent); the
//!   next run resumes from the committed journal.
//! - **Drop** unlocks and deletes the holder row (best effort: the lock dies with the session
//!   anyway, and a holder row whose session does not hold the lock is ignored).

mod conninfo;
mod lock;
mod rows;
mod session;
pub mod settings;
mod sql;
mod tls;
mod write;

use serde_json::{Map, Value};
use thiserror::Error;

pub use lock::force_unlock;
pub use settings::{FileSettings, Settings, SslMode};

use super::{Backend, Commit, Opened};
use crate::state::lock::{LockInfo, LockOptions};
use crate::state::{State, StateError};
use rows::Rows;
use session::Session;
use write::Write;

/// Why the database could not be used. Messages name the workspace, never the password.
#[derive(Debug, Error)]
pub enum PgError {
    #[error("cannot connect to the state database ({target}): {message}")]
    Connect { target: String, message: String },
    #[error("TLS setup for the state database failed: {message}")]
    Tls { message: String },
    #[error("the state database failed to {what}: {message}")]
    Query { what: &'static str, message: String },
    #[error(
        "the connection to the state database ({target}) was lost ({reason}), and with it the \
         state lock: this run starts no new cloud call and stops; operations already started \
         are in the journal, and the next run resumes them"
    )]
    Lost { target: String, reason: String },
    #[error(
        "this session no longer holds the state lock of {target} (was the connection reset \
         or the lock removed with force-unlock?); nothing was saved"
    )]
    LockLost { target: String },
    #[error(
        "the state in {target} moved to serial {found} while this run expected {expected}: \
         another writer bypassed the lock; nothing was saved"
    )]
    SerialMoved {
        target: String,
        expected: i64,
        found: i64,
    },
    #[error(
        "{target} is reached through a transaction pooler (the server process changed between \
         two statements: {first} then {second}); a session advisory lock cannot be held \
         through one, so two runs could write at once. Connect directly to PostgreSQL or \
         through a session-mode pool"
    )]
    Pooler {
        target: String,
        first: i32,
        second: i32,
    },
}

/// An open, locked workspace.
#[derive(Debug)]
pub struct PgBackend {
    session: Session,
    settings: Settings,
    info: LockInfo,
    ns: i32,
    key: i32,
}

impl PgBackend {
    /// Connects, locks and reads the workspace of `settings`. Blocking.
    pub fn open(
        settings: &Settings,
        lock: &LockOptions<'_>,
    ) -> Result<(PgBackend, Opened), StateError> {
        let session = Session::connect(settings, &env)?;
        let ns = sql::namespace(&settings.schema);
        ensure_layout(&session, settings, ns)?;
        let (key, lineage) = ensure_workspace(&session, settings)?;
        let info = lock::acquire(&session, settings, ns, key, lock)?;
        session.start_heartbeat();
        let backend = PgBackend {
            session,
            settings: settings.clone(),
            info,
            ns,
            key,
        };
        let rows = backend.rows(false)?;
        let state = rows::assemble(rows, &settings.to_string())?;
        Ok((
            backend,
            Opened {
                state,
                lineage: Some(lineage),
            },
        ))
    }

    fn rows(&self, snapshot: bool) -> Result<Rows, PgError> {
        read_rows(&self.session, &self.settings, snapshot)?.ok_or_else(|| PgError::Query {
            what: "find the workspace",
            message: "it was deleted while this run held its lock".to_owned(),
        })
    }
}

impl Backend for PgBackend {
    fn location(&self) -> String {
        self.settings.to_string()
    }

    fn lock_info(&self) -> &LockInfo {
        &self.info
    }

    fn commit(&mut self, commit: &Commit<'_>) -> Result<(), StateError> {
        let mut upserts = Map::new();
        for address in commit.changed {
            if let Some(record) = commit.state.images.get(*address) {
                upserts.insert(address.to_string(), rows::to_value(record)?);
            }
        }
        let removed: Vec<String> = commit.removed.iter().map(ToString::to_string).collect();
        let journal = if commit.journal_changed {
            Some(rows::journal(&commit.state.pending)?)
        } else {
            None
        };
        let write = Write {
            ns: self.ns,
            key: self.key,
            workspace: self.settings.workspace.clone(),
            schema: self.settings.schema.clone(),
            target: self.settings.to_string(),
            previous: serial(commit.previous_serial.unwrap_or(0)),
            next: serial(commit.serial()),
            lineage: commit.shell.lineage.clone(),
            meta: rows::meta(commit.shell)?,
            upserts: Value::Object(upserts),
            removed,
            journal,
        };
        self.session
            .call(move |client| async move { write.run(&*client.lock().await).await })?;
        Ok(())
    }

    fn loss(&self) -> Option<tokio::sync::watch::Receiver<Option<String>>> {
        Some(self.session.loss())
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        lock::release(
            &self.session,
            &self.settings,
            self.ns,
            self.key,
            &self.info.id,
        );
    }
}

/// Serials are bigint in the database; a state never reaches 2^63 saves.
fn serial(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Reads the workspace of `settings` without locking, for read-only commands; `None` when it
/// holds no state (no layout, no workspace, or never saved).
pub fn read(settings: &Settings) -> Result<Option<State>, StateError> {
    let session = Session::connect(settings, &env)?;
    match read_rows(&session, settings, true)? {
        Some(rows) => rows::assemble(rows, &settings.to_string()),
        None => Ok(None),
    }
}

/// The rows of the workspace, in one snapshot when `snapshot` (a reader without the lock).
fn read_rows(
    session: &Session,
    settings: &Settings,
    snapshot: bool,
) -> Result<Option<Rows>, PgError> {
    let (schema, workspace) = (settings.schema.clone(), settings.workspace.clone());
    session.call(move |client| async move {
        let fail = |error: tokio_postgres::Error| query_error("read the state", &error);
        let mut client = client.lock().await;
        let exists = client
            .query_one(&sql::exists(&schema), &[])
            .await
            .map_err(fail)?;
        if !exists.get::<_, bool>(0) {
            return Ok(None);
        }
        let transaction = client
            .build_transaction()
            .isolation_level(if snapshot {
                tokio_postgres::IsolationLevel::RepeatableRead
            } else {
                tokio_postgres::IsolationLevel::ReadCommitted
            })
            .read_only(true)
            .start()
            .await
            .map_err(fail)?;
        let Some(row) = transaction
            .query_opt(&sql::select_workspace(&schema), &[&workspace])
            .await
            .map_err(fail)?
        else {
            return Ok(None);
        };
        let resources = transaction
            .query(&sql::select_resources(&schema), &[&workspace])
            .await
            .map_err(fail)?;
        let journal = transaction
            .query(&sql::select_journal(&schema), &[&workspace])
            .await
            .map_err(fail)?;
        transaction.commit().await.map_err(fail)?;
        Ok(Some(Rows {
            lineage: row.get(1),
            serial: row.get(2),
            meta: row.get(3),
            resources: resources.iter().map(|r| (r.get(0), r.get(1))).collect(),
            journal: journal.iter().map(|r| r.get(0)).collect(),
        }))
    })
}

/// Creates the layout when absent, under the creation lock `(namespace, 0)`.
fn ensure_layout(session: &Session, settings: &Settings, ns: i32) -> Result<(), PgError> {
    let schema = settings.schema.clone();
    session.call(move |client| async move {
        let fail = |error: tokio_postgres::Error| query_error("create its tables", &error);
        let client = client.lock().await;
        let exists = client
            .query_one(&sql::exists(&schema), &[])
            .await
            .map_err(fail)?;
        if exists.get::<_, bool>(0) {
            return Ok(());
        }
        client.batch_execute("BEGIN").await.map_err(fail)?;
        let created = async {
            client
                .execute("SELECT pg_advisory_xact_lock($1, 0)", &[&ns])
                .await?;
            client.batch_execute(&sql::create(&schema)).await?;
            client.batch_execute("COMMIT").await
        };
        if let Err(error) = created.await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(fail(error));
        }
        Ok(())
    })
}

/// Creates the workspace unless it exists; its lock key and (fixed) lineage.
fn ensure_workspace(session: &Session, settings: &Settings) -> Result<(i32, String), PgError> {
    let (schema, workspace) = (settings.schema.clone(), settings.workspace.clone());
    session.call(move |client| async move {
        let fail = |error: tokio_postgres::Error| query_error("create the workspace", &error);
        let client = client.lock().await;
        let lineage = uuid::Uuid::new_v4().to_string();
        client
            .execute(&sql::insert_workspace(&schema), &[&workspace, &lineage])
            .await
            .map_err(fail)?;
        let row = client
            .query_one(&sql::select_workspace(&schema), &[&workspace])
            .await
            .map_err(fail)?;
        Ok((row.get(0), row.get(1)))
    })
}

fn query_error(what: &'static str, error: &tokio_postgres::Error) -> PgError {
    PgError::Query {
        what,
        message: describe(error),
    }
}

/// The server's message when there is one (tokio-postgres's Display says only "db error").
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let source = std::error::Error::source(error).map(|s| format!(": {s}"));
            format!("{error}{}", source.unwrap_or_default())
        }
    }
}

/// The process environment: the password file's location.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
