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
}

fn change(events: &[Event]) -> Change<'_> {
    let mut c = Change::default();
    for ev in events {
        match &ev.kind {
            EventKind::State { state: s } => c.state = Some((*s, &ev.ts)),
            EventKind::TurnStarted => {
                c.turn_open = Some(true);
                c.error = Some(None);
            }
            EventKind::TurnCompleted | EventKind::TurnInterrupted { .. } => {
                c.turn_open = Some(false)
            }
            EventKind::TurnFailed { error: e } => {
                c.turn_open = Some(false);
                c.error = Some(Some(e));
            }
            _ => {}
        }
    }
    c
}

/// Updates the columns for `events`, just stored for session `id`.
pub(super) async fn note(tx: &Tx<'_>, id: &str, events: &[Event]) -> Result<(), PgError> {
    let c = change(events);
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

/// Session `id`'s columns from its whole log (a fork, whose copied events are
/// rows the writer never held as events): its bookkeeping events, in order.
pub(super) async fn refresh(tx: &Tx<'_>, id: &str) -> Result<(), PgError> {
    let rows = tx
        .query(
            "SELECT body FROM events WHERE session_id = $1 AND type IN \
             ('state', 'turn_started', 'turn_completed', 'turn_interrupted', 'turn_failed') \
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
         last_error = NULL WHERE id = $1",
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

/// Every session with its list columns, queued inputs and leftover processes,
/// oldest first.
pub(super) async fn index(tx: &Tx<'_>) -> Result<Vec<IndexEntry>, PgError> {
    let rows = tx
        .query(
            &format!(
                "SELECT {ROW_COLUMNS}, state, state_at, last_error, turn_open, \
                 (SELECT count(*) FROM inputs i WHERE i.session_id = sessions.id), \
                 EXISTS (SELECT 1 FROM processes p WHERE p.session_id = sessions.id) \
                 FROM sessions ORDER BY created_at, id"
            ),
            &[],
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
            })
        })
        .collect()
}
