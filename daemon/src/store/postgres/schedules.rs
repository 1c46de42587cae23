//! Schedules and file triggers (issue 15) in the PostgreSQL store: the SQLite
//! store's `sqlite/schedules.rs`, statement for statement. Each write runs in
//! the writer's transaction (a savepoint of it), so a firing stores its input
//! and the schedule's new next run together, or neither. The schedule's row is
//! locked (`FOR UPDATE`) before a firing reads it: two nodes firing the same
//! due run one after the other, and the second finds it stale.

use tether_shared::protocol::ScheduleRule;
use tokio_postgres::Row;

use super::conn::Tx;
use super::error::PgError;
use super::reads::{db_seq, delivery_from};
use crate::store::error::StoreError;
use crate::store::types::{Fired, Firing, KeyRecord, ScheduleRow, ScheduleUpdate};
use crate::util::now_rfc3339;

/// Migration 7: the schedules, and which schedule sent an input. A sequence
/// never gives an id twice, so `schedule rm ID` never removes a newer one.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE schedules (
    id BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL,
    rule_kind TEXT NOT NULL,
    rule_spec TEXT NOT NULL,
    tz TEXT,
    text TEXT NOT NULL,
    delivery TEXT NOT NULL,
    skip_missed BOOLEAN NOT NULL,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    next_run BIGINT,
    last_run BIGINT,
    last_outcome TEXT,
    fired BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX schedules_by_session ON schedules (session_id);
ALTER TABLE inputs ADD COLUMN schedule_id BIGINT;
CREATE INDEX inputs_by_schedule ON inputs (schedule_id);
"#;

/// A schedule write.
pub(super) enum ScheduleOp {
    Add(Box<ScheduleRow>, Option<KeyRecord>),
    Update(u64, ScheduleUpdate),
    Remove(u64),
    /// Session id, the firing.
    Fire(String, Firing),
}

/// What a [`ScheduleOp`] returns.
#[derive(Debug)]
pub(super) enum ScheduleDone {
    /// `Add`: the row stored; `Update`, `Remove`: the row after (or before) it,
    /// `None` when there is no such schedule.
    Row(Option<Box<ScheduleRow>>),
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

fn row(r: &Row) -> Result<ScheduleRow, PgError> {
    let kind: String = r.try_get(2)?;
    let spec: String = r.try_get(3)?;
    let rule = match kind.as_str() {
        "every" => ScheduleRule::Every(spec.parse().unwrap_or(0)),
        "cron" => ScheduleRule::Cron(spec),
        _ => ScheduleRule::OnChange(spec),
    };
    Ok(ScheduleRow {
        id: r.try_get::<_, i64>(0)?.max(0) as u64,
        session_id: r.try_get(1)?,
        rule,
        tz: r.try_get(4)?,
        text: r.try_get(5)?,
        delivery: delivery_from(r.try_get(6)?),
        skip_missed: r.try_get(7)?,
        paused: r.try_get(8)?,
        created_at: r.try_get(9)?,
        next_run: r.try_get(10)?,
        last_run: r.try_get(11)?,
        last_outcome: r.try_get(12)?,
        fired: r.try_get::<_, i64>(13)?.max(0) as u64,
    })
}

/// Every schedule, oldest first.
pub(super) async fn all(tx: &Tx<'_>) -> Result<Vec<ScheduleRow>, PgError> {
    let st = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM schedules ORDER BY id"))
        .await?;
    tx.query(&st, &[]).await?.iter().map(row).collect()
}

/// Schedule `id`, its row locked for the rest of the transaction when `lock`.
async fn get(tx: &Tx<'_>, id: u64, lock: bool) -> Result<Option<ScheduleRow>, PgError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM schedules WHERE id = $1{lock}"),
        &[&db_seq(id)],
    )
    .await?
    .map(|r| row(&r))
    .transpose()
}

/// Runs one schedule write in the writer's transaction.
pub(super) async fn apply(tx: &Tx<'_>, op: &ScheduleOp) -> Result<ScheduleDone, PgError> {
    let boxed = |r: Option<ScheduleRow>| ScheduleDone::Row(r.map(Box::new));
    match op {
        ScheduleOp::Add(s, key) => {
            let exists = tx
                .query_opt("SELECT 1 FROM sessions WHERE id = $1", &[&s.session_id])
                .await?
                .is_some();
            if !exists {
                return Err(StoreError::SessionGone(s.session_id.clone()).into());
            }
            let (kind, spec) = rule_columns(&s.rule);
            let id: i64 = tx
                .query_one(
                    "INSERT INTO schedules (session_id, rule_kind, rule_spec, tz, text, delivery, \
                     skip_missed, paused, created_at, next_run) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    &[
                        &s.session_id,
                        &kind,
                        &spec,
                        &s.tz,
                        &s.text,
                        &s.delivery.as_str(),
                        &s.skip_missed,
                        &s.paused,
                        &s.created_at,
                        &s.next_run,
                    ],
                )
                .await?
                .try_get(0)?;
            let id = id.max(0) as u64;
            if let Some(k) = key {
                let mut k = k.clone();
                if let Some(obj) = k.result.as_object_mut() {
                    obj.insert("id".into(), id.into());
                }
                super::keys::put_key(tx, &k).await?;
            }
            Ok(boxed(get(tx, id, false).await?))
        }
        ScheduleOp::Update(id, u) => {
            let n = match &u.last {
                Some((at, outcome)) => {
                    tx.execute(
                        "UPDATE schedules SET paused = $2, next_run = $3, last_run = $4, \
                         last_outcome = $5 WHERE id = $1",
                        &[&db_seq(*id), &u.paused, &u.next_run, at, outcome],
                    )
                    .await?
                }
                None => {
                    tx.execute(
                        "UPDATE schedules SET paused = $2, next_run = $3 WHERE id = $1",
                        &[&db_seq(*id), &u.paused, &u.next_run],
                    )
                    .await?
                }
            };
            Ok(boxed(if n == 0 {
                None
            } else {
                get(tx, *id, false).await?
            }))
        }
        ScheduleOp::Remove(id) => {
            let before = get(tx, *id, true).await?;
            if before.is_some() {
                tx.execute("DELETE FROM schedules WHERE id = $1", &[&db_seq(*id)])
                    .await?;
            }
            Ok(boxed(before))
        }
        ScheduleOp::Fire(session_id, f) => fire(tx, session_id, f).await.map(ScheduleDone::Fired),
    }
}

/// Stores a firing: its input and the schedule's new state, or nothing when it
/// is stale (see [`Fired`]).
async fn fire(tx: &Tx<'_>, session_id: &str, f: &Firing) -> Result<Fired, PgError> {
    let id = db_seq(f.schedule_id);
    let Some(s) = get(tx, f.schedule_id, true).await? else {
        return Ok(Fired::Stale);
    };
    if s.session_id != session_id || s.paused || (f.due.is_some() && s.next_run != f.due) {
        return Ok(Fired::Stale);
    }
    let pending = tx
        .query_opt(
            "SELECT 1 FROM inputs WHERE schedule_id = $1 LIMIT 1",
            &[&id],
        )
        .await?
        .is_some();
    if pending {
        tx.execute(
            "UPDATE schedules SET next_run = $2, last_run = $3, last_outcome = 'pending' \
             WHERE id = $1",
            &[&id, &f.next_run, &f.at],
        )
        .await?;
        return Ok(Fired::Pending);
    }
    let input: i64 = tx
        .query_one(
            "INSERT INTO inputs (session_id, text, delivery, created_at, schedule_id) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &session_id,
                &f.text,
                &f.delivery.as_str(),
                &now_rfc3339(),
                &id,
            ],
        )
        .await?
        .try_get(0)?;
    tx.execute(
        "UPDATE schedules SET next_run = $2, last_run = $3, last_outcome = 'delivered', \
         fired = fired + 1 WHERE id = $1",
        &[&id, &f.next_run, &f.at],
    )
    .await?;
    super::listen::notify(tx, &super::listen::input_payload(session_id)).await?;
    Ok(Fired::Delivered(input))
}
