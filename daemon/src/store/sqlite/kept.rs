//! The session list kept from a clean stop to the next start (issue 13): one
//! row of `list_snapshot`, written as the stop's last write and taken by the
//! writer thread when the store opens, then dropped. Triggers drop it at any
//! change to what a list is made of (the `sessions` rows, queued inputs, the
//! processes of calls), by this daemon or by anything else that writes the
//! file (`sqlite3`, a script), so a kept list is only ever found when nothing
//! it shows changed since it was made.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::error::SqlError;
use crate::store::types::ListSnapshot;

/// Migration 9: at most one kept list (its body in a file of its own beside
/// `tether.db`, read at start without walking 3,000 overflow pages), and the
/// triggers that drop it.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE list_snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key TEXT NOT NULL,
    token TEXT NOT NULL,
    len INTEGER NOT NULL
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

/// The file that holds a kept list's body: `tether.db.list` beside `tether.db`.
/// Its first line is the token of the row that vouches for it.
pub(super) fn file_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".list");
    PathBuf::from(name)
}

/// The kept list, if its row is there and its file is the one the row names
/// (token and length), and whether the row was there (it is dropped either
/// way). The file is removed once read, or when no row vouches for it.
pub(super) fn take(conn: &Connection, db: &Path) -> (Option<ListSnapshot>, bool) {
    let file = file_of(db);
    let row = conn
        .query_row(
            "SELECT key, token, len FROM list_snapshot WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional();
    let (key, token, len) = match row {
        Ok(Some(r)) => r,
        Ok(None) => {
            let _ = std::fs::remove_file(&file);
            return (None, false);
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the session list kept at the last stop");
            return (None, true);
        }
    };
    let read = std::fs::read(&file);
    let _ = std::fs::remove_file(&file);
    let Ok(mut bytes) = read else {
        return (None, true);
    };
    let head = token.len() + 1;
    let vouched = bytes.len() as i64 == head as i64 + len
        && bytes.get(..token.len()) == Some(token.as_bytes())
        && bytes.get(token.len()) == Some(&b'\n');
    if !vouched {
        tracing::warn!(file = %file.display(), "the session list kept at the last stop is not the one its store names");
        return (None, true);
    }
    bytes.drain(..head);
    (Some(ListSnapshot { key, body: bytes }), true)
}

/// Drops the kept list's row (nothing when there is none); its file goes at
/// the next take or keep.
pub(super) fn drop(c: &Connection) -> Result<(), rusqlite::Error> {
    c.execute("DELETE FROM list_snapshot", []).map(|_| ())
}

/// Keeps `list`, replacing any kept before: its file written and synced
/// first, then the row that vouches for it (a crash in between leaves a file
/// no row names, never a row without its file).
pub(super) fn put(c: &Connection, db: &Path, list: &ListSnapshot) -> Result<(), SqlError> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| SqlError::Damaged(format!("no randomness: {e}")))?;
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let file = file_of(db);
    let mut tmp = file.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let io = |e: std::io::Error| {
        SqlError::Store(crate::store::StoreError::Database(format!(
            "could not write {}: {e}",
            file.display()
        )))
    };
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(token.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.write_all(&list.body).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, &file).map_err(io)?;
    c.execute(
        "INSERT OR REPLACE INTO list_snapshot (id, key, token, len) VALUES (1, ?1, ?2, ?3)",
        params![list.key, token, list.body.len() as i64],
    )?;
    Ok(())
}
