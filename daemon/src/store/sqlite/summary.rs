//! What a list shows of a session, kept in its `sessions` row (issue 13): the
//! state its log last recorded and when, the error of its last turn if that
//! failed, and whether a turn is open. The writer keeps these columns in the
//! transaction of the events that change them ([`note`]); migration 6 fills
//! them from the logs once ([`refresh_all`]). [`index`] reads every session
//! with them, plus its queued inputs and leftover processes, in one query: the
//! daemon's start-up reads that, not the logs.
//!
//! The rules are those of `session::machine::analyze` over a session's last
//! turn: `turn_started` opens a turn (and clears the last error),
//! `turn_completed`, `turn_interrupted` and `turn_failed` close it, and a
//! `turn_failed` after the last `turn_started` is the last error.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};
use tether_shared::{Event, EventKind, SessionState};

use super::error::SqlError;
use super::reads::{ROW_COLUMNS, ROW_LEN, row};
use crate::store::types::IndexEntry;

/// Migration 6: the columns.
pub(super) const SCHEMA: &str = r#"
ALTER TABLE sessions ADD COLUMN state TEXT NOT NULL DEFAULT 'idle';
ALTER TABLE sessions ADD COLUMN state_at TEXT;
ALTER TABLE sessions ADD COLUMN last_error TEXT;
ALTER TABLE sessions ADD COLUMN turn_open INTEGER NOT NULL DEFAULT 0;
"#;

/// The columns of the sessions matching `{WHERE}`, computed from their logs
/// through the `events_by_type` index.
const REFRESH: &str = r#"
UPDATE sessions SET
    state = coalesce((SELECT json_extract(body, '$.state') FROM events e
        WHERE e.session_id = sessions.id AND e.type = 'state' ORDER BY e.seq DESC LIMIT 1), 'idle'),
    state_at = (SELECT json_extract(body, '$.ts') FROM events e
        WHERE e.session_id = sessions.id AND e.type = 'state' ORDER BY e.seq DESC LIMIT 1),
    turn_open = coalesce((SELECT max(seq) FROM events e
            WHERE e.session_id = sessions.id AND e.type = 'turn_started'), 0)
        > coalesce((SELECT max(seq) FROM events e WHERE e.session_id = sessions.id
            AND e.type IN ('turn_completed', 'turn_interrupted', 'turn_failed')), 0),
    last_error = (SELECT json_extract(body, '$.error') FROM events e
        WHERE e.session_id = sessions.id AND e.type = 'turn_failed'
        AND e.seq > coalesce((SELECT max(seq) FROM events t
            WHERE t.session_id = sessions.id AND t.type = 'turn_started'), 0)
        ORDER BY e.seq DESC LIMIT 1)
"#;

/// Migration 6's code: every session's columns from its log.
pub(super) fn refresh_all(c: &Connection) -> Result<(), SqlError> {
    c.execute(REFRESH, [])?;
    Ok(())
}

/// One session's columns from its log (a fork, whose copied events the writer
/// never holds as events).
pub(super) fn refresh(c: &Connection, id: &str) -> Result<(), SqlError> {
    c.execute(&format!("{REFRESH} WHERE id = ?1"), params![id])?;
    Ok(())
}

/// Updates the columns for `events`, just stored for session `id`.
pub(super) fn note(c: &Connection, id: &str, events: &[Event]) -> Result<(), SqlError> {
    let mut state: Option<(SessionState, &str)> = None;
    let mut turn_open: Option<bool> = None;
    // Some(None): cleared; Some(Some(e)): set.
    let mut error: Option<Option<&str>> = None;
    for ev in events {
        match &ev.kind {
            EventKind::State { state: s } => state = Some((*s, &ev.ts)),
            EventKind::TurnStarted => {
                turn_open = Some(true);
                error = Some(None);
            }
            EventKind::TurnCompleted | EventKind::TurnInterrupted { .. } => turn_open = Some(false),
            EventKind::TurnFailed { error: e } => {
                turn_open = Some(false);
                error = Some(Some(e));
            }
            _ => {}
        }
    }
    if state.is_none() && turn_open.is_none() && error.is_none() {
        return Ok(());
    }
    let mut st = c.prepare_cached(
        "UPDATE sessions SET \
         state = CASE WHEN ?2 IS NULL THEN state ELSE ?2 END, \
         state_at = CASE WHEN ?2 IS NULL THEN state_at ELSE ?3 END, \
         turn_open = coalesce(?4, turn_open), \
         last_error = CASE WHEN ?5 THEN ?6 ELSE last_error END \
         WHERE id = ?1",
    )?;
    st.execute(params![
        id,
        state.map(|(s, _)| s.as_str()),
        state.map(|(_, ts)| ts),
        turn_open,
        error.is_some(),
        error.flatten(),
    ])?;
    Ok(())
}

/// A state as stored: the word `SessionState::as_str` wrote.
fn state_from(s: &str) -> SessionState {
    use serde::Deserialize;
    use serde::de::value::{Error, StrDeserializer};
    // Read from the column's text in place (no string or JSON value made per row).
    SessionState::deserialize(StrDeserializer::<Error>::new(s)).unwrap_or(SessionState::Unknown)
}

/// What [`index_part`] needs of the whole store: every session's queued
/// input count and whether it has leftover processes (few, usually none:
/// counted apart, not per row), and an upper bound of the sessions' rowids.
pub(super) struct IndexBasis {
    queued: HashMap<String, usize>,
    processes: HashSet<String>,
    /// The largest rowid of `sessions` (0 when empty), read from the b-tree's end.
    pub(super) last_rowid: i64,
}

/// Reads the [`IndexBasis`].
pub(super) fn index_basis(c: &Connection) -> Result<IndexBasis, SqlError> {
    let mut queued: HashMap<String, usize> = HashMap::new();
    let mut st = c.prepare_cached("SELECT session_id, count(*) FROM inputs GROUP BY session_id")?;
    for r in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (id, n) = r?;
        queued.insert(id, n.max(0) as usize);
    }
    let mut st = c.prepare_cached("SELECT DISTINCT session_id FROM processes")?;
    let processes: HashSet<String> = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    let last_rowid: i64 = c.query_row("SELECT coalesce(max(rowid), 0) FROM sessions", [], |r| {
        r.get(0)
    })?;
    Ok(IndexBasis {
        queued,
        processes,
        last_rowid,
    })
}

/// Every session whose rowid is in `after < rowid <= upto`, with its list
/// columns, queued inputs and leftover processes, in no particular order. One
/// pass over `sessions` in rowid order: no sort and no lookup per row (issue
/// 13: at 100,000 sessions the `ORDER BY` and the two correlated subqueries
/// were a third of the query). The store reads the index in two such parts at
/// once, each on its own read connection (on two cores, half the start-up's
/// wait for it).
pub(super) fn index_part(
    c: &Connection,
    basis: &IndexBasis,
    (after, upto): (i64, i64),
) -> Result<Vec<IndexEntry>, SqlError> {
    let span = upto
        .min(basis.last_rowid)
        .saturating_sub(after.max(0))
        .max(0);
    let mut out = Vec::with_capacity((span as usize).min(1 << 20));
    let mut st = c.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS}, state, state_at, last_error, turn_open FROM sessions \
         WHERE rowid > ?1 AND rowid <= ?2"
    ))?;
    let mut q = st.query(params![after, upto])?;
    while let Some(r) = q.next()? {
        let row = row(r)?;
        out.push(IndexEntry {
            state: state_from(
                r.get_ref(ROW_LEN)?
                    .as_str()
                    .map_err(rusqlite::Error::from)?,
            ),
            state_at: r.get(ROW_LEN + 1)?,
            last_error: r.get(ROW_LEN + 2)?,
            turn_open: r.get(ROW_LEN + 3)?,
            queued_inputs: basis.queued.get(&row.id).copied().unwrap_or(0),
            processes: basis.processes.contains(&row.id),
            pending_approvals: Vec::new(),
            row,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
