//! The PostgreSQL store's schema: the SQLite store's numbered migrations
//! (`sqlite/migrations.rs`), as PostgreSQL DDL, recorded in `tether_schema`.
//!
//! `tether_schema` holds one row per migration a store ran. Migration N here
//! is migration N there, so a version names the same schema in either store;
//! the SQLite-only parts (the damage table of a file, the FTS5 virtual table)
//! have PostgreSQL counterparts or none. A migration number this build does not
//! know, found in the table, refuses the store: a later tether made it.
//!
//! Several daemons may open one database at once (a fleet): the migrations run
//! in one transaction under an advisory lock, so one daemon migrates and the
//! others then find it done. A later change is a new entry at the end of
//! [`MIGRATIONS`], with the number the SQLite store gives it; numbers may be
//! missing (reserved by work not merged yet), and are run in order.

use tracing::info;

use super::error::PgError;
use crate::store::error::StoreError;

/// The advisory lock migrations run under: "tether" in ASCII.
const MIGRATION_LOCK: i64 = 0x7465_7468_6572;

/// Every migration, by number, in order.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, BASE),
    (2, SEARCH),
    (3, USAGE_AND_BUDGET),
    (4, APPROVAL_RULES),
    (5, SESSION_SERVERS),
    (6, SUMMARY),
    // 7: schedules and file triggers, and which schedule sent an input (issue 15).
    (7, super::schedules::SCHEMA),
    // 8: a session's git worktree (issue 15), as JSON (NULL: none).
    (8, SESSION_WORKTREE),
    // 9: fleet leases (issue 16), on PostgreSQL only: a store of one machine
    // has one node, which owns every session.
    (9, crate::store::lease_sql::SCHEMA),
    // 10: requests relayed to a session's owner (issue 16), PostgreSQL only too.
    (10, crate::store::relay::SCHEMA),
    // 11: the calls waiting for a person, in the row, for the nodes that do
    // not run the session (issue 16), PostgreSQL only.
    (11, super::summary::PENDING_SCHEMA),
];

/// 1: sessions, their logs, queued inputs, process groups, request keys.
const BASE: &str = r#"
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    cwd TEXT NOT NULL,
    instructions TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE events (
    session_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX events_by_type ON events (session_id, type, seq);
CREATE TABLE inputs (
    id BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL,
    text TEXT NOT NULL,
    delivery TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX inputs_by_session ON inputs (session_id, id);
CREATE TABLE processes (
    session_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    pid BIGINT NOT NULL,
    start_ticks BIGINT NOT NULL,
    boot_id TEXT NOT NULL
);
CREATE INDEX processes_by_session ON processes (session_id, call_id);
CREATE TABLE request_keys (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX request_keys_by_age ON request_keys (created_at);
"#;

/// 2: the words of every searchable event (see `search.rs`), one row per event.
const SEARCH: &str = r#"
CREATE TABLE event_text (
    session_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    words TSVECTOR NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX event_text_words ON event_text USING GIN (words);
"#;

/// 3: every usage count, the cost and the budget of a session (issue 10).
const USAGE_AND_BUDGET: &str = r#"
ALTER TABLE sessions ADD COLUMN cached_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN max_tokens BIGINT;
ALTER TABLE sessions ADD COLUMN max_cost_usd DOUBLE PRECISION;
"#;

/// 4: "always allow" rules (issue 11). A sequence never gives an id twice.
const APPROVAL_RULES: &str = r#"
CREATE TABLE approval_rules (
    id BIGSERIAL PRIMARY KEY,
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

/// 5: a session's own MCP servers (issue 12), a JSON array (NULL: none).
const SESSION_SERVERS: &str = "ALTER TABLE sessions ADD COLUMN mcp_servers TEXT;";

/// 6: what a list shows of a session, in its row (issue 13; see `summary.rs`).
const SUMMARY: &str = r#"
ALTER TABLE sessions ADD COLUMN state TEXT NOT NULL DEFAULT 'idle';
ALTER TABLE sessions ADD COLUMN state_at TEXT;
ALTER TABLE sessions ADD COLUMN last_error TEXT;
ALTER TABLE sessions ADD COLUMN turn_open BOOLEAN NOT NULL DEFAULT FALSE;
"#;

/// 8: the git worktree made for a session (issue 15).
const SESSION_WORKTREE: &str = "ALTER TABLE sessions ADD COLUMN worktree TEXT;";

/// Runs the migrations `client`'s database lacks, in one transaction; returns
/// the newest version it was at (0 for a new store).
pub(super) async fn migrate(client: &mut deadpool_postgres::Client) -> Result<i64, PgError> {
    run(client, MIGRATIONS).await
}

pub(super) async fn run(
    client: &mut deadpool_postgres::Client,
    migrations: &[(i64, &str)],
) -> Result<i64, PgError> {
    let known = migrations.iter().map(|m| m.0).max().unwrap_or(0);
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS tether_schema (
             version BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let done: Vec<i64> = tx
        .query("SELECT version FROM tether_schema ORDER BY version", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let found = done.last().copied().unwrap_or(0);
    if let Some(&newer) = done.iter().find(|v| !migrations.iter().any(|m| m.0 == **v)) {
        return Err(StoreError::TooNew {
            found: newer.max(found),
            known,
        }
        .into());
    }
    let mut ran = Vec::new();
    for (n, sql) in migrations {
        if done.contains(n) {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO tether_schema (version) VALUES ($1)", &[n])
            .await?;
        ran.push(*n);
    }
    tx.commit().await?;
    if !ran.is_empty() {
        info!(from = found, to = known, ?ran, "store schema migrated");
    }
    Ok(found)
}
