//! The store's reads, each on a connection from the read pool (see `handle.rs`).

use rusqlite::{Connection, OptionalExtension, params};
use tether_shared::rules::{ApprovalRule, RuleScope};
use tether_shared::{Delivery, Event, EventKind, Usage};

use super::error::SqlError;
use crate::os::procs::ProcessIdentity;
use crate::store::seqs::check_run;
use crate::store::types::{KeyRecord, QueuedInput, SessionRow};

pub(super) fn delivery_from(s: &str) -> Delivery {
    match s {
        "steer" => Delivery::Steer,
        "interrupt" => Delivery::Interrupt,
        _ => Delivery::Queue,
    }
}

/// A session's name and recorded last seq (None when it has no row).
fn session_end(c: &Connection, id: &str) -> Result<Option<(String, u64)>, SqlError> {
    Ok(c.query_row(
        "SELECT name, last_seq FROM sessions WHERE id = ?1",
        params![id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)),
    )
    .optional()?)
}

/// How many columns [`ROW_COLUMNS`] has: a query's own columns come after.
pub(super) const ROW_LEN: usize = 18;

/// The columns [`row`] reads, in its order, for a query on `sessions`.
pub(super) const ROW_COLUMNS: &str = "id, name, model, cwd, instructions, created_at, updated_at, last_seq, \
     prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, \
     cost_usd, max_tokens, max_cost_usd, mcp_servers, worktree";

/// A session's row from a query that selected [`ROW_COLUMNS`] first.
pub(super) fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        name: r.get(1)?,
        model: r.get(2)?,
        cwd: r.get(3)?,
        instructions: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
        last_seq: r.get::<_, i64>(7)? as u64,
        usage: Usage {
            prompt_tokens: r.get::<_, i64>(8)? as u64,
            completion_tokens: r.get::<_, i64>(9)? as u64,
            cached_tokens: r.get::<_, i64>(10)? as u64,
            cache_write_tokens: r.get::<_, i64>(11)? as u64,
            reasoning_tokens: r.get::<_, i64>(12)? as u64,
        },
        cost_usd: r.get(13)?,
        budget: tether_shared::event::Budget {
            max_tokens: r.get::<_, Option<i64>>(14)?.map(|n| n.max(0) as u64),
            max_cost_usd: r.get(15)?,
        },
        // Written by this daemon from checked values: text that does not
        // read back counts as no servers rather than a lost session.
        mcp_servers: r
            .get::<_, Option<String>>(16)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        // Likewise: unreadable text is a session without a worktree.
        worktree: r
            .get::<_, Option<String>>(17)?
            .and_then(|t| serde_json::from_str(&t).ok()),
    })
}

/// One session's row.
pub(super) fn session(c: &Connection, id: &str) -> Result<Option<SessionRow>, SqlError> {
    Ok(c.query_row(
        &format!("SELECT {ROW_COLUMNS} FROM sessions WHERE id = ?1"),
        params![id],
        row,
    )
    .optional()?)
}

/// Events with `since < seq < before` (see [`crate::store::Store::events`]),
/// checked against the session's recorded last seq.
pub(super) fn events(
    c: &Connection,
    id: &str,
    since: u64,
    before: u64,
    limit: usize,
    newest: bool,
) -> Result<Vec<Event>, SqlError> {
    // One snapshot: the recorded last seq and the events agree.
    let snapshot = c.unchecked_transaction()?;
    let recorded = session_end(c, id)?;
    let order = if newest { "DESC" } else { "ASC" };
    let mut st = c.prepare_cached(&format!(
        "SELECT body FROM events WHERE session_id = ?1 AND seq > ?2 AND seq < ?3 \
         ORDER BY seq {order} LIMIT ?4"
    ))?;
    let before = before.min(i64::MAX as u64) as i64;
    let rows = st.query_map(params![id, since as i64, before, limit as i64], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for body in rows {
        out.push(serde_json::from_str::<Event>(&body?)?);
    }
    if newest {
        out.reverse();
    }
    drop(snapshot);
    if let Some((name, last_seq)) = recorded {
        let hi = last_seq.min(before.saturating_sub(1) as u64);
        let full = out.len() >= limit;
        let seqs: Vec<u64> = out.iter().map(|e| e.seq).collect();
        let (first, last) = match (newest, full) {
            (_, false) => (Some(since + 1), Some(hi)),
            (false, true) => (Some(since + 1), None),
            (true, true) => (None, Some(hi)),
        };
        check_run(&name, &seqs, first, last, last_seq).map_err(SqlError::Damaged)?;
    }
    Ok(out)
}

/// The events of the session's last turn (see [`crate::store::Store::last_turn`]),
/// checked up to its recorded last seq.
pub(super) fn last_seq_of(
    c: &Connection,
    id: &str,
    type_name: &str,
) -> Result<Option<u64>, SqlError> {
    let seq: Option<i64> = c
        .query_row(
            "SELECT max(seq) FROM events WHERE session_id = ?1 AND type = ?2",
            params![id, type_name],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(seq.map(|s| s as u64))
}

pub(super) fn last_turn(c: &Connection, id: &str) -> Result<Vec<Event>, SqlError> {
    turn_at(c, id, u64::MAX)
}

/// The events of the last turn started at or before `at`, up to `at` (see
/// [`crate::store::Store::turn_at`]), checked up to `at` or the recorded last seq.
pub(super) fn turn_at(c: &Connection, id: &str, at: u64) -> Result<Vec<Event>, SqlError> {
    let at = at.min(i64::MAX as u64) as i64;
    let snapshot = c.unchecked_transaction()?;
    let recorded = session_end(c, id)?;
    let start: Option<i64> = c
        .query_row(
            "SELECT max(seq) FROM events WHERE session_id = ?1 AND type = 'turn_started' AND seq <= ?2",
            params![id, at],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let mut st = c.prepare_cached(
        "SELECT body FROM events WHERE session_id = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
    )?;
    let rows = st.query_map(params![id, start.unwrap_or(0), at], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    let mut seqs = Vec::new();
    for body in rows {
        let ev = serde_json::from_str::<Event>(&body?)?;
        seqs.push(ev.seq);
        // Without a turn, only state events matter; skip the rest cheaply.
        if start.is_some() || matches!(ev.kind, EventKind::State { .. }) {
            out.push(ev);
        }
    }
    drop(st);
    drop(snapshot);
    if let Some((name, last_seq)) = recorded {
        let first = start.map_or(1, |s| s as u64);
        let last = last_seq.min(at as u64);
        check_run(&name, &seqs, Some(first), Some(last), last_seq).map_err(SqlError::Damaged)?;
    }
    Ok(out)
}

/// The queued inputs of a session, oldest first.
pub(super) fn inputs(c: &Connection, id: &str) -> Result<Vec<QueuedInput>, SqlError> {
    let mut st = c.prepare_cached(
        "SELECT id, text, delivery, schedule_id FROM inputs WHERE session_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map(params![id], |r| {
        Ok(QueuedInput {
            id: r.get(0)?,
            text: r.get(1)?,
            delivery: delivery_from(&r.get::<_, String>(2)?),
            schedule: r.get::<_, Option<i64>>(3)?.map(|v| v.max(0) as u64),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The process groups recorded for a session's running calls.
pub(super) fn processes(
    c: &Connection,
    id: &str,
) -> Result<Vec<(String, ProcessIdentity)>, SqlError> {
    let mut st = c.prepare_cached(
        "SELECT call_id, pid, start_ticks, boot_id FROM processes WHERE session_id = ?1",
    )?;
    let rows = st.query_map(params![id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            ProcessIdentity {
                pid: r.get::<_, i64>(1)? as u32,
                start_ticks: r.get::<_, i64>(2)? as u64,
                boot_id: r.get(3)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The stored request key, unless it was stored before `oldest` (unix seconds).
pub(super) fn key(c: &Connection, key: &str, oldest: i64) -> Result<Option<KeyRecord>, SqlError> {
    let row = c
        .query_row(
            "SELECT method, params, result, created_at FROM request_keys \
             WHERE key = ?1 AND created_at >= ?2",
            params![key, oldest],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    row.map(|(method, params, result, created_at)| {
        Ok(KeyRecord {
            key: key.to_string(),
            method,
            params,
            result: serde_json::from_str(&result)?,
            created_at,
        })
    })
    .transpose()
}

/// The session's event `seq`, if its log holds one.
pub(super) fn event(c: &Connection, id: &str, seq: u64) -> Result<Option<Event>, SqlError> {
    let body: Option<String> = c
        .query_row(
            "SELECT body FROM events WHERE session_id = ?1 AND seq = ?2",
            params![id, seq.min(i64::MAX as u64) as i64],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// The "always allow" rules of session `id` and of `project`, oldest first. A
/// scope this build does not know reads as [`RuleScope::Unknown`], which allows
/// nothing.
pub(super) fn rules(
    c: &Connection,
    id: &str,
    project: &str,
) -> Result<Vec<ApprovalRule>, SqlError> {
    let mut st = c.prepare_cached(
        "SELECT id, scope, session_id, project, tool, prefix, created_at FROM approval_rules \
         WHERE (scope = 'session' AND session_id = ?1) OR (scope = 'project' AND project = ?2) \
         ORDER BY id",
    )?;
    let rows = st.query_map(params![id, project], |r| {
        let scope: String = r.get(1)?;
        Ok(ApprovalRule {
            id: r.get::<_, i64>(0)?.max(0) as u64,
            scope: match scope.as_str() {
                "session" => RuleScope::Session,
                "project" => RuleScope::Project,
                _ => RuleScope::Unknown,
            },
            session: r.get(2)?,
            project: r.get(3)?,
            tool: r.get(4)?,
            prefix: r.get(5)?,
            created_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
