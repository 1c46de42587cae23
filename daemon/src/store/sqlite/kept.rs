//! The session list kept from a clean stop to the next start (issue 13): one
//! row of `list_snapshot`, written as the stop's last write and taken by the
//! writer thread when the store opens, then dropped. Triggers drop it at any
//! change to what a list is made of (the `sessions` rows, queued inputs, the
//! processes of calls), by this daemon or by anything else that writes the
//! file (`sqlite3`, a script), so a kept list is only ever found when nothing
//! it shows changed since it was made.

use rusqlite::{Connection, OptionalExtension, params};

use super::error::SqlError;
use crate::store::types::ListSnapshot;

/// Migration 9: at most one kept list, and the triggers that drop it.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE list_snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TRIGGER list_snapshot_sessions_insert AFTER INSERT ON sessions BEGIN DELETE FROM list_snapshot; END;
CREATE TRIGGER list_snapshot_sessions_update AFTER UPDATE ON sessions BEGIN DELETE FROM list_snapshot; END;
CREATE TRIGGER list_snapshot_sessions_delete AFTER DELETE ON sessions BEGIN DELETE FROM list_snapshot; END;
CREATE TRIGGER list_snapshot_inputs_insert AFTER INSERT ON inputs BEGIN DELETE FROM list_snapshot; END;
CREATE TRIGGER list_snapshot_inputs_update AFTER UPDATE ON inputs BEGIN DELETE FROM list_snapshot; END;
CREATE TRIGGER list_snapshot_inputs_delete AFTER DELETE ON inputs BEGIN DELETE FROM list_snapshot; END;
CREATE TRIGGER list_snapshot_processes_insert AFTER INSERT ON processes BEGIN DELETE FROM list_snapshot; END;
CREATE TRIGGER list_snapshot_processes_update AFTER UPDATE ON processes BEGIN DELETE FROM list_snapshot; END;
CREATE TRIGGER list_snapshot_processes_delete AFTER DELETE ON processes BEGIN DELETE FROM list_snapshot; END;
"#;

/// The kept list, if one is there and readable, and whether the table holds a
/// row at all (an unreadable one is dropped too).
pub(super) fn take(conn: &Connection) -> (Option<ListSnapshot>, bool) {
    let read = conn
        .query_row(
            "SELECT key, body FROM list_snapshot WHERE id = 1",
            [],
            |r| {
                Ok(ListSnapshot {
                    key: r.get(0)?,
                    body: r.get(1)?,
                })
            },
        )
        .optional();
    match read {
        Ok(found) => {
            let there = found.is_some();
            (found, there)
        }
        // Unreadable: none to serve, and it is dropped as if it were there.
        Err(e) => {
            tracing::warn!(error = %e, "could not read the session list kept at the last stop");
            (None, true)
        }
    }
}

/// Drops the kept list (nothing when there is none).
pub(super) fn drop(c: &Connection) -> Result<(), rusqlite::Error> {
    c.execute("DELETE FROM list_snapshot", []).map(|_| ())
}

/// Keeps `list`, replacing any kept before.
pub(super) fn put(c: &Connection, list: &ListSnapshot) -> Result<(), SqlError> {
    c.execute(
        "INSERT OR REPLACE INTO list_snapshot (id, key, body) VALUES (1, ?1, ?2)",
        params![list.key, list.body],
    )?;
    Ok(())
}
