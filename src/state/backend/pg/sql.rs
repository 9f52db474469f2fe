//! The database layout and every statement the backend sends. Text only: no I/O here.
//!
//! Layout, in the configured schema (created when absent, under a transaction advisory lock so
//! that two first runs do not race on `CREATE TABLE`):
//!
//! - `workspaces(name PK, lineage, serial, lock_key UNIQUE, meta jsonb, …)`: one row per
//!   state; `meta` holds the state's top-level fields other than lineage, serial, images and
//!   pending (format, version, identity), so new fields need no new column. `lock_key` comes
//!   from a sequence and is the second half of the two-int advisory lock key.
//! - `resources(workspace, address, data jsonb)`: one row per managed image.
//! - `journal(workspace, key, seq, entry jsonb)`: one row per operation in flight; `key` is
//!   the create's or copy's token (or `delete:[<region>:]<image id>`), `seq` its place in the
//!   journal.
//! - `lock_holders(workspace PK, lock_id, operation, who, pid, version, created, backend_pid)`:
//!   who holds the lock; a row counts only while `backend_pid` really holds it (`pg_locks`).

/// A schema name quoted as an identifier (names are checked to `[a-z_][a-z0-9_]*` already).
pub fn ident(schema: &str) -> String {
    format!("\"{schema}\"")
}

/// The first half of the advisory lock key: FNV-1a of the schema name, positive, so that
/// imsform's keys stay apart from Terraform's (one bigint key) and from other schemas'.
pub fn namespace(schema: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in format!("imsform:{schema}").bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    // Masking to 31 bits makes the cast lossless.
    i32::try_from(hash & 0x7fff_ffff).unwrap_or_default()
}

/// `to_regclass` of the workspaces table: NULL while the layout does not exist.
pub fn exists(schema: &str) -> String {
    format!(
        "SELECT to_regclass('{}.workspaces') IS NOT NULL",
        ident(schema)
    )
}

/// The layout, idempotent. `$1`: the namespace (the creation lock is `(namespace, 0)`).
pub fn create(schema: &str) -> String {
    let s = ident(schema);
    format!(
        "CREATE SCHEMA IF NOT EXISTS {s};
         CREATE SEQUENCE IF NOT EXISTS {s}.lock_keys AS integer START 1;
         CREATE TABLE IF NOT EXISTS {s}.workspaces (
             name text PRIMARY KEY,
             lineage uuid NOT NULL,
             serial bigint NOT NULL,
             lock_key integer NOT NULL UNIQUE DEFAULT nextval('{s}.lock_keys'),
             meta jsonb NOT NULL DEFAULT '{{}}',
             created_at timestamptz NOT NULL DEFAULT now(),
             updated_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE IF NOT EXISTS {s}.resources (
             workspace text NOT NULL REFERENCES {s}.workspaces(name) ON DELETE CASCADE,
             address text NOT NULL,
             data jsonb NOT NULL,
             PRIMARY KEY (workspace, address));
         CREATE TABLE IF NOT EXISTS {s}.journal (
             workspace text NOT NULL REFERENCES {s}.workspaces(name) ON DELETE CASCADE,
             key text NOT NULL,
             seq integer NOT NULL,
             entry jsonb NOT NULL,
             PRIMARY KEY (workspace, key));
         CREATE TABLE IF NOT EXISTS {s}.lock_holders (
             workspace text PRIMARY KEY REFERENCES {s}.workspaces(name) ON DELETE CASCADE,
             lock_id uuid NOT NULL,
             operation text NOT NULL,
             who text NOT NULL,
             pid bigint NOT NULL,
             version text NOT NULL,
             created text NOT NULL,
             backend_pid integer NOT NULL);"
    )
}

/// `$1` name, `$2` a fresh lineage: creates the workspace at serial 0 unless it exists.
pub fn insert_workspace(schema: &str) -> String {
    format!(
        "INSERT INTO {}.workspaces (name, lineage, serial) VALUES ($1, $2::text::uuid, 0)
         ON CONFLICT (name) DO NOTHING",
        ident(schema)
    )
}

/// `$1` name → lock_key, lineage, serial, meta.
pub fn select_workspace(schema: &str) -> String {
    format!(
        "SELECT lock_key, lineage::text, serial, meta FROM {}.workspaces WHERE name = $1",
        ident(schema)
    )
}

/// `$1` workspace → address, data.
pub fn select_resources(schema: &str) -> String {
    format!(
        "SELECT address, data FROM {}.resources WHERE workspace = $1",
        ident(schema)
    )
}

/// `$1` workspace → entry, in journal order.
pub fn select_journal(schema: &str) -> String {
    format!(
        "SELECT entry FROM {}.journal WHERE workspace = $1 ORDER BY seq",
        ident(schema)
    )
}

/// Whether the session of backend `pid` holds the advisory lock `($1, $2)` (two-int form:
/// `objsubid` 2).
fn holds_lock(pid: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
             AND classid::bigint = $1::integer AND objid::bigint = $2::integer
             AND objsubid = 2 AND granted AND pid = {pid})"
    )
}

/// `$1` ns, `$2` key: whether this session holds the lock.
pub const I_HOLD_LOCK: &str = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
     AND classid::bigint = $1::integer AND objid::bigint = $2::integer AND objsubid = 2
     AND granted AND pid = pg_backend_pid())";

/// The compare-and-set of every commit: `$1` ns, `$2` key, `$3` name, `$4` the serial the run
/// last saw, `$5` the new serial, `$6` lineage, `$7` meta. One row when the serial was still
/// `$4` and this session still holds the lock.
pub fn advance(schema: &str) -> String {
    format!(
        "UPDATE {}.workspaces SET serial = $5, lineage = $6::text::uuid, meta = $7,
             updated_at = now()
         WHERE name = $3 AND serial = $4 AND {}
         RETURNING serial",
        ident(schema),
        holds_lock("pg_backend_pid()")
    )
}

/// `$1` workspace, `$2` jsonb object address → record.
pub fn upsert_resources(schema: &str) -> String {
    format!(
        "INSERT INTO {s}.resources (workspace, address, data)
         SELECT $1, key, value FROM jsonb_each($2::jsonb)
         ON CONFLICT (workspace, address) DO UPDATE SET data = EXCLUDED.data",
        s = ident(schema)
    )
}

/// `$1` workspace, `$2` text[] of addresses.
pub fn delete_resources(schema: &str) -> String {
    format!(
        "DELETE FROM {}.resources WHERE workspace = $1 AND address = ANY($2)",
        ident(schema)
    )
}

/// `$1` workspace, `$2` text[] of the keys that remain.
pub fn prune_journal(schema: &str) -> String {
    format!(
        "DELETE FROM {}.journal WHERE workspace = $1 AND NOT (key = ANY($2))",
        ident(schema)
    )
}

/// `$1` workspace, `$2` jsonb array of `{key, seq, entry}`; unchanged rows are not rewritten.
pub fn upsert_journal(schema: &str) -> String {
    format!(
        "INSERT INTO {s}.journal AS j (workspace, key, seq, entry)
         SELECT $1, e->>'key', (e->>'seq')::integer, e->'entry'
         FROM jsonb_array_elements($2::jsonb) AS e
         ON CONFLICT (workspace, key) DO UPDATE SET seq = EXCLUDED.seq, entry = EXCLUDED.entry
         WHERE (j.seq, j.entry) IS DISTINCT FROM (EXCLUDED.seq, EXCLUDED.entry)",
        s = ident(schema)
    )
}

/// `$1` workspace, `$2` lock id, `$3` operation, `$4` who, `$5` pid, `$6` version, `$7`
/// created: this session becomes the named holder.
pub fn upsert_holder(schema: &str) -> String {
    format!(
        "INSERT INTO {}.lock_holders
             (workspace, lock_id, operation, who, pid, version, created, backend_pid)
         VALUES ($1, $2::text::uuid, $3, $4, $5, $6, $7, pg_backend_pid())
         ON CONFLICT (workspace) DO UPDATE SET lock_id = EXCLUDED.lock_id,
             operation = EXCLUDED.operation, who = EXCLUDED.who, pid = EXCLUDED.pid,
             version = EXCLUDED.version, created = EXCLUDED.created,
             backend_pid = EXCLUDED.backend_pid",
        ident(schema)
    )
}

/// `$1` ns, `$2` key, `$3` workspace → the holder row and whether its session really holds
/// the lock now.
pub fn select_holder(schema: &str) -> String {
    format!(
        "SELECT lock_id::text, operation, who, pid, version, created, backend_pid, {}
         FROM {}.lock_holders h WHERE workspace = $3",
        holds_lock("h.backend_pid"),
        ident(schema)
    )
}

/// `$1` workspace, `$2` lock id: the holder row goes when its lock is released.
pub fn delete_holder(schema: &str) -> String {
    format!(
        "DELETE FROM {}.lock_holders WHERE workspace = $1 AND lock_id = $2::text::uuid",
        ident(schema)
    )
}
