//! The workspace lock: `pg_try_advisory_lock(namespace, lock_key)` on the session's one
//! connection, the holder's details in `lock_holders`, the pooler check, and `force-unlock`.
//!
//! - **Waiting** (`--lock-timeout`) retries with backoff (100 ms doubling to 2 s, with jitter);
//!   without a timeout a busy lock fails at once, naming the holder.
//! - **Holder details** are shown only while the holder's session really holds the lock
//!   (`pg_locks`), so a row left by a killed run never names a ghost.
//! - **Poolers**: after locking, two separate statements must run on the same server process
//!   and that process must hold the lock; a transaction pooler fails this and is refused.
//! - **force-unlock ID**: when the named holder's session is alive it is ended with
//!   `pg_terminate_backend`, which frees its lock; a row whose session is gone is ignored.

use std::time::{Duration, Instant};

use super::session::Session;
use super::settings::Settings;
use super::{PgError, query_error, sql};
use crate::state::lock::{Holder, LockInfo, LockOptions, new_info};
use crate::state::{IMSFORM_VERSION, StateError};

/// Takes the lock, checks for a pooler and records this run as the holder.
pub fn acquire(
    session: &Session,
    settings: &Settings,
    ns: i32,
    key: i32,
    options: &LockOptions<'_>,
) -> Result<LockInfo, StateError> {
    let deadline = options.timeout.map(|timeout| Instant::now() + timeout);
    let mut delay = Duration::from_millis(100);
    loop {
        let taken = session.call(move |client| async move {
            let client = client.lock().await;
            let row = client
                .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&ns, &key])
                .await
                .map_err(|error| query_error("take the state lock", &error))?;
            Ok(row.get::<_, bool>(0))
        })?;
        if taken {
            break;
        }
        let now = Instant::now();
        match deadline {
            Some(deadline) if now < deadline => {
                let jitter = delay.mul_f64(rand::random::<f64>() * 0.25);
                std::thread::sleep((delay + jitter).min(deadline - now));
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            _ => {
                return Err(StateError::LockHeld {
                    holder: busy_holder(session, settings, ns, key)?,
                    waited: options.timeout,
                });
            }
        }
    }
    refuse_pooler(session, ns, key)?;
    let info = new_info(options.operation);
    let (schema, workspace, row) = (
        settings.schema.clone(),
        settings.workspace.clone(),
        info.clone(),
    );
    session.call(move |client| async move {
        let client = client.lock().await;
        let pid = i64::from(row.pid);
        client
            .execute(
                &sql::upsert_holder(&schema),
                &[
                    &workspace,
                    &row.id,
                    &row.operation,
                    &row.who,
                    &pid,
                    &IMSFORM_VERSION,
                    &row.created,
                ],
            )
            .await
            .map_err(|error| query_error("record the lock holder", &error))?;
        Ok(())
    })?;
    Ok(info)
}

/// The holder of a busy lock. A holder records itself right after taking the lock, so a
/// missing row is read again for up to a second before the holder is called unknown.
fn busy_holder(
    session: &Session,
    settings: &Settings,
    ns: i32,
    key: i32,
) -> Result<Holder, PgError> {
    for _ in 0..20 {
        if let Some((info, _)) = holder(session, settings, ns, key)? {
            return Ok(Holder::Known(Box::new(info)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Holder::Unknown)
}

/// Two separate statements on one server process that holds the lock, or a pooler.
fn refuse_pooler(session: &Session, ns: i32, key: i32) -> Result<(), PgError> {
    let target = session.target().to_owned();
    session.call(move |client| async move {
        let client = client.lock().await;
        let fail = |error: tokio_postgres::Error| query_error("check the connection", &error);
        let pid = |row: tokio_postgres::Row| row.get::<_, i32>(0);
        let first = pid(client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(fail)?);
        let holds = client
            .query_one(sql::I_HOLD_LOCK, &[&ns, &key])
            .await
            .map_err(fail)?
            .get::<_, bool>(0);
        let second = pid(client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(fail)?);
        if first != second || !holds {
            return Err(PgError::Pooler {
                target,
                first,
                second,
            });
        }
        Ok(())
    })
}

/// The holder row, with its server process, when that process really holds the lock.
fn holder(
    session: &Session,
    settings: &Settings,
    ns: i32,
    key: i32,
) -> Result<Option<(LockInfo, i32)>, PgError> {
    let (schema, workspace) = (settings.schema.clone(), settings.workspace.clone());
    session.call(move |client| async move {
        let client = client.lock().await;
        let row = client
            .query_opt(&sql::select_holder(&schema), &[&ns, &key, &workspace])
            .await
            .map_err(|error| query_error("read the lock holder", &error))?;
        Ok(row.filter(|row| row.get::<_, bool>(7)).map(|row| {
            let info = LockInfo {
                id: row.get(0),
                operation: format!(
                    "{}, imsform {}",
                    row.get::<_, String>(1),
                    row.get::<_, String>(4)
                ),
                who: row.get(2),
                pid: u32::try_from(row.get::<_, i64>(3)).unwrap_or_default(),
                created: row.get(5),
            };
            (info, row.get::<_, i32>(6))
        }))
    })
}

/// Releases the lock and removes the holder row; best effort (see the module docs).
pub fn release(session: &Session, settings: &Settings, ns: i32, key: i32, lock_id: &str) {
    let (schema, workspace, id) = (
        settings.schema.clone(),
        settings.workspace.clone(),
        lock_id.to_owned(),
    );
    let _ = session.call(move |client| async move {
        let client = client.lock().await;
        let _ = client
            .execute(&sql::delete_holder(&schema), &[&workspace, &id])
            .await;
        let _ = client
            .execute("SELECT pg_advisory_unlock($1, $2)", &[&ns, &key])
            .await;
        Ok(())
    });
}

/// `imsform force-unlock ID` for a workspace: ends the named holder's session when it is
/// alive (its lock goes with it), and returns it. A holder row whose session is gone names no
/// lock: the workspace is not locked.
pub fn force_unlock(settings: &Settings, lock_id: &str) -> Result<LockInfo, StateError> {
    let session = Session::connect(settings, &super::env)?;
    let (schema, workspace) = (settings.schema.clone(), settings.workspace.clone());
    let exists = session.call({
        let schema = schema.clone();
        move |client| async move {
            let client = client.lock().await;
            let row = client
                .query_one(&sql::exists(&schema), &[])
                .await
                .map_err(|error| query_error("read the lock holder", &error))?;
            Ok(row.get::<_, bool>(0))
        }
    })?;
    let not_locked = || StateError::NotLocked {
        path: settings.to_string().into(),
    };
    if !exists {
        return Err(not_locked());
    }
    let key = session.call(move |client| async move {
        let client = client.lock().await;
        let row = client
            .query_opt(&sql::select_workspace(&schema), &[&workspace])
            .await
            .map_err(|error| query_error("read the workspace", &error))?;
        Ok(row.map(|row| row.get::<_, i32>(0)))
    })?;
    let key = key.ok_or_else(not_locked)?;
    let ns = sql::namespace(&settings.schema);
    let (info, backend_pid) = holder(&session, settings, ns, key)?.ok_or_else(not_locked)?;
    if info.id != lock_id {
        return Err(StateError::LockIdMismatch {
            given: lock_id.to_owned(),
            actual: info.id.clone(),
            holder: Box::new(info),
        });
    }
    session.call(move |client| async move {
        let client = client.lock().await;
        client
            .execute("SELECT pg_terminate_backend($1)", &[&backend_pid])
            .await
            .map_err(|error| query_error("end the holder's session", &error))?;
        Ok(())
    })?;
    Ok(info)
}
