//! The PostgreSQL store's reads, each in a read-only transaction of its own
//! (see `handle.rs`), so what a read checks against (a session's recorded last
//! seq) and what it returns come from one snapshot.

use tether_shared::rules::{ApprovalRule, RuleScope};
use tether_shared::{Delivery, Event, EventKind, Usage};
use tokio_postgres::Row;

use super::conn::Tx;
use super::error::PgError;
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

/// A seq as PostgreSQL's BIGINT holds it.
pub(super) fn db_seq(seq: u64) -> i64 {
    seq.min(i64::MAX as u64) as i64
}

/// A session's name and recorded last seq (None when it has no row).
async fn session_end(tx: &Tx<'_>, id: &str) -> Result<Option<(String, u64)>, PgError> {
    let st = tx
        .prepare_cached("SELECT name, last_seq FROM sessions WHERE id = $1")
        .await?;
    Ok(tx
        .query_opt(&st, &[&id])
        .await?
        .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64)))
}

/// The columns [`row`] reads, in its order, for a query on `sessions`.
pub(super) const ROW_COLUMNS: &str = "id, name, model, cwd, instructions, created_at, updated_at, last_seq, \
     prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, \
     cost_usd, max_tokens, max_cost_usd, mcp_servers, worktree";

/// How many columns [`ROW_COLUMNS`] names: a query's own columns after them
/// start at this index.
pub(super) const ROW_LEN: usize = 18;

/// A session's row from a query that selected [`ROW_COLUMNS`] first.
pub(super) fn row(r: &Row) -> Result<SessionRow, PgError> {
    let n = |i: usize| -> Result<u64, PgError> { Ok(r.try_get::<_, i64>(i)?.max(0) as u64) };
    Ok(SessionRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        model: r.try_get(2)?,
        cwd: r.try_get(3)?,
        instructions: r.try_get(4)?,
        created_at: r.try_get(5)?,
        updated_at: r.try_get(6)?,
        last_seq: n(7)?,
        usage: Usage {
            prompt_tokens: n(8)?,
            completion_tokens: n(9)?,
            cached_tokens: n(10)?,
            cache_write_tokens: n(11)?,
            reasoning_tokens: n(12)?,
        },
        cost_usd: r.try_get(13)?,
        budget: tether_shared::event::Budget {
            max_tokens: r.try_get::<_, Option<i64>>(14)?.map(|n| n.max(0) as u64),
            max_cost_usd: r.try_get(15)?,
        },
        // Written by this daemon from checked values: text that does not read
        // back counts as no servers rather than a lost session.
        mcp_servers: r
            .try_get::<_, Option<String>>(16)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        // Likewise: unreadable text is a session without a worktree.
        worktree: r
            .try_get::<_, Option<String>>(17)?
            .and_then(|t| serde_json::from_str(&t).ok()),
    })
}

/// One session's row.
pub(super) async fn session(tx: &Tx<'_>, id: &str) -> Result<Option<SessionRow>, PgError> {
    let st = tx
        .prepare_cached(&format!("SELECT {ROW_COLUMNS} FROM sessions WHERE id = $1"))
        .await?;
    tx.query_opt(&st, &[&id])
        .await?
        .map(|r| row(&r))
        .transpose()
}

fn decode(rows: &[Row]) -> Result<Vec<Event>, PgError> {
    rows.iter()
        .map(|r| Ok(serde_json::from_str::<Event>(r.try_get::<_, &str>(0)?)?))
        .collect()
}

/// Events with `since < seq < before` (see [`crate::store::Store::events`]),
/// checked against the session's recorded last seq.
pub(super) async fn events(
    tx: &Tx<'_>,
    id: &str,
    since: u64,
    before: u64,
    limit: usize,
    newest: bool,
) -> Result<Vec<Event>, PgError> {
    let recorded = session_end(tx, id).await?;
    let order = if newest { "DESC" } else { "ASC" };
    let st = tx
        .prepare_cached(&format!(
            "SELECT body FROM events WHERE session_id = $1 AND seq > $2 AND seq < $3 \
             ORDER BY seq {order} LIMIT $4"
        ))
        .await?;
    let before = db_seq(before);
    let rows = tx
        .query(
            &st,
            &[
                &id,
                &db_seq(since),
                &before,
                &(limit.min(i64::MAX as usize) as i64),
            ],
        )
        .await?;
    let mut out = decode(&rows)?;
    if newest {
        out.reverse();
    }
    if let Some((name, last_seq)) = recorded {
        let hi = last_seq.min(before.saturating_sub(1) as u64);
        let full = out.len() >= limit;
        let seqs: Vec<u64> = out.iter().map(|e| e.seq).collect();
        let (first, last) = match (newest, full) {
            (_, false) => (Some(since + 1), Some(hi)),
            (false, true) => (Some(since + 1), None),
            (true, true) => (None, Some(hi)),
        };
        check_run(&name, &seqs, first, last, last_seq).map_err(PgError::Damaged)?;
    }
    Ok(out)
}

/// The seq of the session's last event of `type_name`, if any.
pub(super) async fn last_seq_of(
    tx: &Tx<'_>,
    id: &str,
    type_name: &str,
) -> Result<Option<u64>, PgError> {
    let st = tx
        .prepare_cached("SELECT max(seq) FROM events WHERE session_id = $1 AND type = $2")
        .await?;
    let seq: Option<i64> = tx.query_one(&st, &[&id, &type_name]).await?.try_get(0)?;
    Ok(seq.map(|s| s.max(0) as u64))
}

/// The events of the last turn started at or before `at`, up to `at` (see
/// [`crate::store::Store::turn_at`]), checked up to `at` or the recorded last seq.
pub(super) async fn turn_at(tx: &Tx<'_>, id: &str, at: u64) -> Result<Vec<Event>, PgError> {
    let at = db_seq(at);
    let recorded = session_end(tx, id).await?;
    let start: Option<i64> = tx
        .query_one(
            "SELECT max(seq) FROM events WHERE session_id = $1 AND type = 'turn_started' \
             AND seq <= $2",
            &[&id, &at],
        )
        .await?
        .try_get(0)?;
    let rows = tx
        .query(
            "SELECT body FROM events WHERE session_id = $1 AND seq >= $2 AND seq <= $3 \
             ORDER BY seq",
            &[&id, &start.unwrap_or(0), &at],
        )
        .await?;
    let mut out = Vec::new();
    let mut seqs = Vec::new();
    for ev in decode(&rows)? {
        seqs.push(ev.seq);
        // Without a turn, only state events matter.
        if start.is_some() || matches!(ev.kind, EventKind::State { .. }) {
            out.push(ev);
        }
    }
    if let Some((name, last_seq)) = recorded {
        let first = start.map_or(1, |s| s as u64);
        let last = last_seq.min(at as u64);
        check_run(&name, &seqs, Some(first), Some(last), last_seq).map_err(PgError::Damaged)?;
    }
    Ok(out)
}

/// The queued inputs of a session, oldest first.
pub(super) async fn inputs(tx: &Tx<'_>, id: &str) -> Result<Vec<QueuedInput>, PgError> {
    let st = tx
        .prepare_cached(
            "SELECT id, text, delivery, schedule_id FROM inputs WHERE session_id = $1 \
             ORDER BY id",
        )
        .await?;
    tx.query(&st, &[&id])
        .await?
        .iter()
        .map(|r| {
            Ok(QueuedInput {
                id: r.try_get(0)?,
                text: r.try_get(1)?,
                delivery: delivery_from(r.try_get(2)?),
                schedule: r.try_get::<_, Option<i64>>(3)?.map(|v| v.max(0) as u64),
            })
        })
        .collect()
}

/// The process groups recorded for a session's running calls.
pub(super) async fn processes(
    tx: &Tx<'_>,
    id: &str,
) -> Result<Vec<(String, ProcessIdentity)>, PgError> {
    tx.query(
        "SELECT call_id, pid, start_ticks, boot_id FROM processes WHERE session_id = $1",
        &[&id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            ProcessIdentity {
                pid: r.try_get::<_, i64>(1)? as u32,
                start_ticks: r.try_get::<_, i64>(2)? as u64,
                boot_id: r.try_get(3)?,
            },
        ))
    })
    .collect()
}

/// The stored request key, unless it was stored before `oldest` (unix seconds).
pub(super) async fn key(tx: &Tx<'_>, key: &str, oldest: i64) -> Result<Option<KeyRecord>, PgError> {
    let row = tx
        .query_opt(
            "SELECT method, params, result, created_at FROM request_keys \
             WHERE key = $1 AND created_at >= $2",
            &[&key, &oldest],
        )
        .await?;
    row.map(|r| {
        Ok(KeyRecord {
            key: key.to_string(),
            method: r.try_get(0)?,
            params: r.try_get(1)?,
            result: serde_json::from_str(r.try_get(2)?)?,
            created_at: r.try_get(3)?,
        })
    })
    .transpose()
}

/// The session's event `seq`, if its log holds one.
pub(super) async fn event(tx: &Tx<'_>, id: &str, seq: u64) -> Result<Option<Event>, PgError> {
    let st = tx
        .prepare_cached("SELECT body FROM events WHERE session_id = $1 AND seq = $2")
        .await?;
    let row = tx.query_opt(&st, &[&id, &db_seq(seq)]).await?;
    Ok(row
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)))
        .transpose()?)
}

/// The "always allow" rules of session `id` and of `project`, oldest first. A
/// scope this build does not know reads as [`RuleScope::Unknown`].
pub(super) async fn rules(
    tx: &Tx<'_>,
    id: &str,
    project: &str,
) -> Result<Vec<ApprovalRule>, PgError> {
    tx.query(
        "SELECT id, scope, session_id, project, tool, prefix, created_at FROM approval_rules \
         WHERE (scope = 'session' AND session_id = $1) OR (scope = 'project' AND project = $2) \
         ORDER BY id",
        &[&id, &project],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(ApprovalRule {
            id: r.try_get::<_, i64>(0)?.max(0) as u64,
            scope: match r.try_get::<_, &str>(1)? {
                "session" => RuleScope::Session,
                "project" => RuleScope::Project,
                _ => RuleScope::Unknown,
            },
            session: r.try_get(2)?,
            project: r.try_get(3)?,
            tool: r.try_get(4)?,
            prefix: r.try_get(5)?,
            created_at: r.try_get(6)?,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn row_len_counts_the_row_columns() {
        assert_eq!(super::ROW_COLUMNS.split(',').count(), super::ROW_LEN);
    }
}
