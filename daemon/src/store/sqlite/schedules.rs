//! Schedules and file triggers (issue 15) in `tether.db`: the table, its reads,
//! and the writes the writer thread runs for them (`writer.rs`), each in the
//! op's savepoint. A firing stores its input and the schedule's new next run
//! in one transaction, so a `kill -9` during a firing neither loses it (the
//! next run is still due, and runs at start) nor doubles it (the input is
//! stored and the next run has moved on).

use rusqlite::{Connection, OptionalExtension, Row, params};
use tether_shared::protocol::ScheduleRule;

use super::error::SqlError;
use super::reads::delivery_from;
use crate::store::error::StoreError;
use crate::store::types::{Fired, Firing, KeyRecord, ScheduleRow, ScheduleUpdate};
use crate::util::now_rfc3339;

/// Migration 7. `rule_kind` is `every`, `cron` or `on_change` and `rule_spec`
/// its seconds, expression or glob. AUTOINCREMENT: a removed id is never given
/// to another schedule, so `schedule rm ID` never removes a newer one. An
/// input a schedule sent names it (`inputs.schedule_id`): at most one of its
/// inputs waits at a time.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    rule_kind TEXT NOT NULL,
    rule_spec TEXT NOT NULL,
    tz TEXT,
    text TEXT NOT NULL,
    delivery TEXT NOT NULL,
    skip_missed INTEGER NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    next_run INTEGER,
    last_run INTEGER,
    last_outcome TEXT,
    fired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX schedules_by_session ON schedules (session_id);
ALTER TABLE inputs ADD COLUMN schedule_id INTEGER;
CREATE INDEX inputs_by_schedule ON inputs (schedule_id);
"#;

/// A schedule write, run by the writer thread.
pub(super) enum ScheduleOp {
    Add(Box<ScheduleRow>, Option<KeyRecord>),
    Update(u64, ScheduleUpdate),
    Remove(u64),
    Fire(String, Firing),
}

/// What a [`ScheduleOp`] returns.
pub(super) enum ScheduleDone {
    /// `Add`: the row stored; `Update`, `Remove`: the row after (or before) it,
    /// `None` when there is no such schedule.
    Row(Option<ScheduleRow>),
    /// `Fire`.
    Fired(Fired),
}

const COLUMNS: &str = "id, session_id, rule_kind, rule_spec, tz, text, delivery, skip_missed, \
                       paused, created_at, next_run, last_run, last_outcome, fired";

fn rule_columns(rule: &ScheduleRule) -> (&'static str, String) {
    match rule {
        ScheduleRule::Every(s) => ("every", s.to_string()),
        ScheduleRule::Cron(e) => ("cron", e.clone()),
        ScheduleRule::OnChange(g) => ("on_change", g.clone()),
    }
}

fn row(r: &Row<'_>) -> rusqlite::Result<ScheduleRow> {
    let kind: String = r.get(2)?;
    let spec: String = r.get(3)?;
    let rule = match kind.as_str() {
        "every" => ScheduleRule::Every(spec.parse().unwrap_or(0)),
        "cron" => ScheduleRule::Cron(spec),
        _ => ScheduleRule::OnChange(spec),
    };
    Ok(ScheduleRow {
        id: r.get::<_, i64>(0)?.max(0) as u64,
        session_id: r.get(1)?,
        rule,
        tz: r.get(4)?,
        text: r.get(5)?,
        delivery: delivery_from(&r.get::<_, String>(6)?),
        skip_missed: r.get(7)?,
        paused: r.get(8)?,
        created_at: r.get(9)?,
        next_run: r.get(10)?,
        last_run: r.get(11)?,
        last_outcome: r.get(12)?,
        fired: r.get::<_, i64>(13)?.max(0) as u64,
    })
}

/// Every schedule, oldest first.
pub(super) fn all(c: &Connection) -> Result<Vec<ScheduleRow>, SqlError> {
    let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM schedules ORDER BY id"))?;
    let rows = st.query_map([], row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn get(c: &Connection, id: u64) -> Result<Option<ScheduleRow>, SqlError> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM schedules WHERE id = ?1"),
        params![id.min(i64::MAX as u64) as i64],
        row,
    )
    .optional()?)
}

/// Runs one schedule write on the writer's connection.
pub(super) fn apply(c: &Connection, op: &ScheduleOp) -> Result<ScheduleDone, SqlError> {
    match op {
        ScheduleOp::Add(s, key) => {
            let exists: bool = c
                .query_row(
                    "SELECT 1 FROM sessions WHERE id = ?1",
                    params![s.session_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !exists {
                return Err(StoreError::SessionGone(s.session_id.clone()).into());
            }
            let (kind, spec) = rule_columns(&s.rule);
            c.execute(
                "INSERT INTO schedules (session_id, rule_kind, rule_spec, tz, text, delivery, \
                 skip_missed, paused, created_at, next_run) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    s.session_id,
                    kind,
                    spec,
                    s.tz,
                    s.text,
                    s.delivery.as_str(),
                    s.skip_missed,
                    s.paused,
                    s.created_at,
                    s.next_run
                ],
            )?;
            let id = c.last_insert_rowid().max(0) as u64;
            if let Some(k) = key {
                let mut k = k.clone();
                if let Some(obj) = k.result.as_object_mut() {
                    obj.insert("id".into(), id.into());
                }
                super::keys::put_key(c, &k)?;
            }
            Ok(ScheduleDone::Row(get(c, id)?))
        }
        ScheduleOp::Update(id, u) => {
            let n = match &u.last {
                Some((at, outcome)) => c.execute(
                    "UPDATE schedules SET paused = ?2, next_run = ?3, last_run = ?4, \
                     last_outcome = ?5 WHERE id = ?1",
                    params![*id as i64, u.paused, u.next_run, at, outcome],
                )?,
                None => c.execute(
                    "UPDATE schedules SET paused = ?2, next_run = ?3 WHERE id = ?1",
                    params![*id as i64, u.paused, u.next_run],
                )?,
            };
            Ok(ScheduleDone::Row(if n == 0 { None } else { get(c, *id)? }))
        }
        ScheduleOp::Remove(id) => {
            let before = get(c, *id)?;
            if before.is_some() {
                c.execute("DELETE FROM schedules WHERE id = ?1", params![*id as i64])?;
            }
            Ok(ScheduleDone::Row(before))
        }
        ScheduleOp::Fire(session_id, f) => fire(c, session_id, f).map(ScheduleDone::Fired),
    }
}

/// Stores a firing: its input and the schedule's new state, or nothing when it
/// is stale (see [`Fired`]).
fn fire(c: &Connection, session_id: &str, f: &Firing) -> Result<Fired, SqlError> {
    let id = f.schedule_id.min(i64::MAX as u64) as i64;
    let Some(s) = get(c, f.schedule_id)? else {
        return Ok(Fired::Stale);
    };
    if s.session_id != session_id || s.paused || (f.due.is_some() && s.next_run != f.due) {
        return Ok(Fired::Stale);
    }
    let pending: bool = c
        .query_row(
            "SELECT 1 FROM inputs WHERE schedule_id = ?1 LIMIT 1",
            params![id],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if pending {
        c.execute(
            "UPDATE schedules SET next_run = ?2, last_run = ?3, last_outcome = 'pending' WHERE id = ?1",
            params![id, f.next_run, f.at],
        )?;
        return Ok(Fired::Pending);
    }
    c.execute(
        "INSERT INTO inputs (session_id, text, delivery, created_at, schedule_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![session_id, f.text, f.delivery.as_str(), now_rfc3339(), id],
    )?;
    let input = c.last_insert_rowid();
    c.execute(
        "UPDATE schedules SET next_run = ?2, last_run = ?3, last_outcome = 'delivered', \
         fired = fired + 1 WHERE id = ?1",
        params![id, f.next_run, f.at],
    )?;
    Ok(Fired::Delivered(input))
}
