//! What a list shows of a session, kept in its `sessions` row (issue 13), as the
//! SQLite store keeps it (`sqlite/summary.rs`, whose rules these are): the state
//! its log last recorded and when, the error of its last turn if that failed,
//! and whether a turn is open. [`note`] keeps the columns in the transaction of
//! the events that change them; [`refresh`] computes them for a fork from its
//! copied log; [`index`] reads every session with them at start-up.

use tether_shared::{Event, EventKind, SessionState};

use super::conn::Tx;
use super::error::PgError;
use super::reads::{ROW_COLUMNS, ROW_LEN, row};
use crate::store::types::IndexEntry;

/// What `events` change in the list columns.
#[derive(Default)]
struct Change<'a> {
    state: Option<(SessionState, &'a str)>,
    turn_open: Option<bool>,
    /// Some(None): cleared; Some(Some(e)): set.
    error: Option<Option<&'a str>>,
    /// What happened to the calls waiting for a person, in order (issue 16).
    pending: Vec<Pending<'a>>,
}

/// A change to the calls waiting for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending<'a> {
    /// A turn started or ended: none wait.
    Clear,
    /// This call waits.
    Add(&'a str),
    /// This call was decided (or has its result).
    Remove(&'a str),
}

fn change(events: &[Event]) -> Change<'_> {
    let mut c = Change::default();
    for ev in events {
        match &ev.kind {
            EventKind::State { state: s } => c.state = Some((*s, &ev.ts)),
            EventKind::TurnStarted => {
                c.turn_open = Some(true);
                c.error = Some(None);
                c.pending.push(Pending::Clear);
            }
            EventKind::TurnCompleted | EventKind::TurnInterrupted { .. } => {
                c.turn_open = Some(false);
                c.pending.push(Pending::Clear);
            }
            EventKind::TurnFailed { error: e } => {
                c.turn_open = Some(false);
                c.error = Some(Some(e));
                c.pending.push(Pending::Clear);
            }
            EventKind::ApprovalRequested { call_id, .. } => c.pending.push(Pending::Add(call_id)),
            EventKind::ApprovalDecided { call_id, .. } | EventKind::ToolResult { call_id, .. } => {
                c.pending.push(Pending::Remove(call_id))
            }
            _ => {}
        }
    }
    c
}

/// Updates the columns for `events`, just stored for session `id`.
pub(super) async fn note(tx: &Tx<'_>, id: &str, events: &[Event]) -> Result<(), PgError> {
    let c = change(events);
    if !c.pending.is_empty() {
        note_pending(tx, id, &c.pending).await?;
    }
    if c.state.is_none() && c.turn_open.is_none() && c.error.is_none() {
        return Ok(());
    }
    let st = tx
        .prepare_cached(
            "UPDATE sessions SET \
             state = coalesce($2, state), \
             state_at = CASE WHEN $2::text IS NULL THEN state_at ELSE $3 END, \
             turn_open = coalesce($4, turn_open), \
             last_error = CASE WHEN $5 THEN $6 ELSE last_error END \
             WHERE id = $1",
        )
        .await?;
    let state = c.state.map(|(s, _)| s.as_str());
    let state_at = c.state.map(|(_, ts)| ts);
    tx.execute(
        &st,
        &[
            &id,
            &state,
            &state_at,
            &c.turn_open,
            &c.error.is_some(),
            &c.error.flatten(),
        ],
    )
    .await?;
    Ok(())
}

/// Applies `ops` to the session's `pending_approvals` column (a JSON array;
/// NULL: none), reading it first only when the ops do not start afresh.
async fn note_pending(tx: &Tx<'_>, id: &str, ops: &[Pending<'_>]) -> Result<(), PgError> {
    let mut pending: Vec<String> = if ops.first() == Some(&Pending::Clear) {
        Vec::new()
    } else {
        let st = tx
            .prepare_cached("SELECT pending_approvals FROM sessions WHERE id = $1")
            .await?;
        tx.query_opt(&st, &[&id])
            .await?
            .and_then(|r| r.get::<_, Option<String>>(0))
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    };
    apply_pending(&mut pending, ops);
    let text = (!pending.is_empty()).then(|| serde_json::to_string(&pending).unwrap_or_default());
    let st = tx
        .prepare_cached("UPDATE sessions SET pending_approvals = $2 WHERE id = $1")
        .await?;
    tx.execute(&st, &[&id, &text]).await?;
    Ok(())
}

fn apply_pending(pending: &mut Vec<String>, ops: &[Pending<'_>]) {
    for op in ops {
        match op {
            Pending::Clear => pending.clear(),
            Pending::Add(c) => {
                if !pending.iter().any(|p| p == c) {
                    pending.push(c.to_string());
                }
            }
            Pending::Remove(c) => pending.retain(|p| p != c),
        }
    }
}

/// 11: the calls waiting for a person, kept for the nodes that do not run
/// the session (issue 16); PostgreSQL only.
pub(super) const PENDING_SCHEMA: &str = "ALTER TABLE sessions ADD COLUMN pending_approvals TEXT;";

/// Session `id`'s columns from its whole log (a fork, whose copied events are
/// rows the writer never held as events): its bookkeeping events, in order.
pub(super) async fn refresh(tx: &Tx<'_>, id: &str) -> Result<(), PgError> {
    let rows = tx
        .query(
            "SELECT body FROM events WHERE session_id = $1 AND type IN \
             ('state', 'turn_started', 'turn_completed', 'turn_interrupted', 'turn_failed', \
              'approval_requested', 'approval_decided', 'tool_result') \
             ORDER BY seq",
            &[&id],
        )
        .await?;
    let events: Vec<Event> = rows
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)))
        .collect::<Result<_, _>>()?;
    tx.execute(
        "UPDATE sessions SET state = 'idle', state_at = NULL, turn_open = FALSE, \
         last_error = NULL, pending_approvals = NULL WHERE id = $1",
        &[&id],
    )
    .await?;
    note(tx, id, &events).await
}

/// A state as stored: the word `SessionState::as_str` wrote.
fn state_from(s: &str) -> SessionState {
    use serde::Deserialize;
    use serde::de::value::{Error, StrDeserializer};
    SessionState::deserialize(StrDeserializer::<Error>::new(s)).unwrap_or(SessionState::Unknown)
}

/// Session `id`'s entry of the index, if it is there.
pub(super) async fn index_one(tx: &Tx<'_>, id: &str) -> Result<Option<IndexEntry>, PgError> {
    Ok(index(tx, Some(id)).await?.pop())
}

/// Every session (or only session `only`) with its list columns, queued
/// inputs and leftover processes, oldest first.
pub(super) async fn index(tx: &Tx<'_>, only: Option<&str>) -> Result<Vec<IndexEntry>, PgError> {
    let rows = tx
        .query(
            &format!(
                "SELECT {ROW_COLUMNS}, state, state_at, last_error, turn_open, \
                 (SELECT count(*) FROM inputs i WHERE i.session_id = sessions.id), \
                 EXISTS (SELECT 1 FROM processes p WHERE p.session_id = sessions.id), \
                 pending_approvals \
                 FROM sessions WHERE ($1::text IS NULL OR id = $1) ORDER BY created_at, id"
            ),
            &[&only],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(IndexEntry {
                row: row(r)?,
                state: state_from(r.try_get(ROW_LEN)?),
                state_at: r.try_get(ROW_LEN + 1)?,
                last_error: r.try_get(ROW_LEN + 2)?,
                turn_open: r.try_get(ROW_LEN + 3)?,
                queued_inputs: r.try_get::<_, i64>(ROW_LEN + 4)?.max(0) as usize,
                processes: r.try_get(ROW_LEN + 5)?,
                pending_approvals: r
                    .try_get::<_, Option<String>>(ROW_LEN + 6)?
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Pending, apply_pending};

    #[test]
    fn pending_calls_follow_requests_decisions_and_turns() {
        let mut p = vec!["old".to_string()];
        apply_pending(
            &mut p,
            &[Pending::Add("a"), Pending::Add("b"), Pending::Add("a")],
        );
        assert_eq!(p, ["old", "a", "b"]);
        apply_pending(&mut p, &[Pending::Remove("a"), Pending::Remove("zz")]);
        assert_eq!(p, ["old", "b"]);
        apply_pending(&mut p, &[Pending::Clear, Pending::Add("c")]);
        assert_eq!(p, ["c"]);
    }
}
