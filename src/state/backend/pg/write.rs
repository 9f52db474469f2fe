//! One commit as one pipelined transaction: `BEGIN`, the serial compare-and-set, the changed
//! image rows, the removed ones and the journal rows are sent together (one round trip), then
//! `COMMIT`, or `ROLLBACK` when the compare-and-set matched no row or a statement failed.

use serde_json::Value;

use super::{PgError, query_error, sql};

/// One commit's statements and values, sent as one pipelined transaction.
pub(super) struct Write {
    pub(super) ns: i32,
    pub(super) key: i32,
    pub(super) workspace: String,
    pub(super) schema: String,
    pub(super) target: String,
    pub(super) previous: i64,
    pub(super) next: i64,
    pub(super) lineage: String,
    pub(super) meta: Value,
    pub(super) upserts: Value,
    pub(super) removed: Vec<String>,
    pub(super) journal: Option<(Value, Vec<String>)>,
}

impl Write {
    pub(super) async fn run(self, client: &tokio_postgres::Client) -> Result<(), PgError> {
        let fail = |error: tokio_postgres::Error| query_error("save the state", &error);
        let schema = &self.schema;
        let (advance, upsert, delete) = (
            sql::advance(schema),
            sql::upsert_resources(schema),
            sql::delete_resources(schema),
        );
        let (prune, append) = (sql::prune_journal(schema), sql::upsert_journal(schema));
        let ws = &self.workspace;
        let begin = client.batch_execute("BEGIN");
        let cas_params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
            &self.ns,
            &self.key,
            ws,
            &self.previous,
            &self.next,
            &self.lineage,
            &self.meta,
        ];
        let cas = client.query(&advance, &cas_params);
        let upserts = async {
            match self.upserts.as_object().is_some_and(|o| !o.is_empty()) {
                true => client
                    .execute(&upsert, &[ws, &self.upserts])
                    .await
                    .map(drop),
                false => Ok(()),
            }
        };
        let removals = async {
            match self.removed.is_empty() {
                false => client
                    .execute(&delete, &[ws, &self.removed])
                    .await
                    .map(drop),
                true => Ok(()),
            }
        };
        let pruned = async {
            match &self.journal {
                Some((_, keys)) => client.execute(&prune, &[ws, keys]).await.map(drop),
                None => Ok(()),
            }
        };
        let appended = async {
            match &self.journal {
                Some((rows, _)) => client.execute(&append, &[ws, rows]).await.map(drop),
                None => Ok(()),
            }
        };
        let written = tokio::try_join!(begin, cas, upserts, removals, pruned, appended);
        let advanced = match written {
            Ok((_, rows, ..)) => rows.len() == 1,
            Err(error) => {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(fail(error));
            }
        };
        if !advanced {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(self.diagnose(client).await);
        }
        client.batch_execute("COMMIT").await.map_err(fail)
    }

    /// Why the compare-and-set matched no row: the lock is gone, or the serial moved.
    async fn diagnose(&self, client: &tokio_postgres::Client) -> PgError {
        let holds = client
            .query_one(sql::I_HOLD_LOCK, &[&self.ns, &self.key])
            .await
            .map(|row| row.get::<_, bool>(0));
        if !matches!(holds, Ok(true)) {
            return PgError::LockLost {
                target: self.target.clone(),
            };
        }
        let found = client
            .query_one(&sql::select_workspace(&self.schema), &[&self.workspace])
            .await
            .map_or(-1, |row| row.get::<_, i64>(2));
        PgError::SerialMoved {
            target: self.target.clone(),
            expected: self.previous,
            found,
        }
    }
}
