//! The schema of `tether.db`, as numbered migrations recorded in
//! `PRAGMA user_version`.
//!
//! Migration N takes a store from version N-1 to N; a store is at the version of
//! the last migration it ran. Migration 1 is the schema of the releases before
//! versions were kept: every statement of it is `CREATE … IF NOT EXISTS`, exactly
//! what those releases ran at every open, so a store one of them made (at
//! version 0, with its tables) runs it as a no-op (or gains the tables an older
//! release lacked) and is stamped version 1 with its data untouched. Columns were
//! never altered before versions were kept, so that is all it needs.
//!
//! Migration 2 adds the full-text index of the logs (`search.rs`) and indexes the
//! events already stored, so an upgraded store's old events are searchable too.
//!
//! Migration 4 adds the "always allow" rules of issue 11.
//!
//! Migration 6 adds what a list shows of a session to its row (`summary.rs`)
//! and fills it from each session's log once, so start-up reads rows, not logs.
//!
//! Migration 7 adds schedules and file triggers (issue 15, `schedules.rs`).
//! Migration 8 adds a session's git worktree to its row (issue 15).
//!
//! A later change to the schema is a new entry at the end of [`MIGRATIONS`],
//! never an edit of an old one. A store whose version is newer than this build
//! knows is refused (it may hold what this build would misread or drop).

use rusqlite::{Connection, TransactionBehavior};
use tracing::info;

use super::error::SqlError;
use super::integrity::DAMAGE_SCHEMA;
use super::{search, summary};
use crate::store::error::StoreError;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    cwd TEXT NOT NULL,
    instructions TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_type ON events (session_id, type, seq);
CREATE TABLE IF NOT EXISTS inputs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    text TEXT NOT NULL,
    delivery TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inputs_by_session ON inputs (session_id, id);
CREATE TABLE IF NOT EXISTS processes (
    session_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL,
    boot_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS processes_by_session ON processes (session_id, call_id);
"#;

/// Request keys (see `store/types.rs`, "Request keys"): kept apart from the rest
/// of the schema.
const KEYS_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS request_keys (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS request_keys_by_age ON request_keys (created_at);
"#;

/// One step of a migration: statements, or code for what SQL cannot say (the
/// events' text is JSON that only the daemon's types read the same way).
pub(super) enum Step {
    /// Statements, run as a batch.
    Sql(&'static str),
    /// Code run in the migration's transaction.
    Code(fn(&Connection) -> Result<(), SqlError>),
}

/// One migration: the steps that take a store to the next version.
type Migration = &'static [Step];

/// Every migration, in order: entry `i` takes a store to version `i + 1`.
pub(super) const MIGRATIONS: &[Migration] = &[
    // 1: the schema of the releases before versions were kept.
    &[
        Step::Sql(SCHEMA),
        Step::Sql(DAMAGE_SCHEMA),
        Step::Sql(KEYS_SCHEMA),
    ],
    // 2: full-text search of the logs, the events already stored included.
    &[Step::Sql(search::SCHEMA), Step::Code(search::backfill)],
    // 3: every usage count, the cost and the budget of a session (issue 10).
    &[Step::Sql(USAGE_AND_BUDGET)],
    // 4: "always allow" rules (issue 11).
    &[Step::Sql(APPROVAL_RULES)],
    // 5: a session's own MCP servers (issue 12).
    &[Step::Sql(SESSION_SERVERS)],
    // 6: what a list shows of a session, in its row, filled from the logs
    // (issue 13: start-up reads an index, not every log).
    &[Step::Sql(summary::SCHEMA), Step::Code(summary::refresh_all)],
    // 7: schedules and file triggers, and which schedule sent an input (issue 15).
    &[Step::Sql(super::schedules::SCHEMA)],
    // 8: a session's git worktree (issue 15).
    &[Step::Sql(SESSION_WORKTREE)],
    // 9: the session list kept from a clean stop to the next start (issue 13).
    &[Step::Sql(super::kept::SCHEMA)],
];

/// Migration 8: the git worktree made for a session, as JSON (`WorktreeInfo`;
/// NULL: none). In the row, so a session asleep since start-up shows it too.
const SESSION_WORKTREE: &str = "ALTER TABLE sessions ADD COLUMN worktree TEXT;";

/// Migration 5: the MCP servers `session.create` gave a session, as a JSON array
/// (NULL: none). Not in the event log: their `env` and `headers` may hold secrets.
const SESSION_SERVERS: &str = "ALTER TABLE sessions ADD COLUMN mcp_servers TEXT;";

/// Migration 4: "always allow" rules. A `session` rule has `session_id`, a
/// `project` rule has `project` (a directory); `prefix` is NULL for a rule that
/// allows every call of its tool. AUTOINCREMENT: an id removed is never given
/// to another rule, so `--rm ID` can never remove a rule added since.
const APPROVAL_RULES: &str = r#"
CREATE TABLE approval_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    session_id TEXT,
    project TEXT,
    tool TEXT NOT NULL,
    prefix TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX approval_rules_by_session ON approval_rules (session_id);
CREATE INDEX approval_rules_by_project ON approval_rules (project);
"#;

/// Migration 3: the usage counts besides prompt and completion tokens, the cost,
/// and the budget (NULL: no limit).
const USAGE_AND_BUDGET: &str = r#"
ALTER TABLE sessions ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN max_tokens INTEGER;
ALTER TABLE sessions ADD COLUMN max_cost_usd REAL;
"#;

/// Brings the store to the version of the last of [`MIGRATIONS`] in one transaction: a migration that fails
/// leaves the store as it was. Returns the version it was at.
pub(super) fn migrate(conn: &mut Connection) -> Result<i64, SqlError> {
    run(conn, MIGRATIONS)
}

pub(super) fn run(conn: &mut Connection, migrations: &[Migration]) -> Result<i64, SqlError> {
    let known = migrations.len() as i64;
    // IMMEDIATE: the version read and the migrations run under one write lock.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known }.into());
    }
    if found < 0 {
        return Err(SqlError::Damaged(format!(
            "its schema version is {found}, which no tether writes"
        )));
    }
    if found == known {
        return Ok(found);
    }
    for migration in &migrations[found as usize..] {
        for step in *migration {
            match step {
                Step::Sql(sql) => tx.execute_batch(sql)?,
                Step::Code(f) => f(&tx)?,
            }
        }
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    info!(from = found, to = known, "store schema migrated");
    Ok(found)
}

#[cfg(test)]
mod tests;
