//! The writes ([`Write`]) and what each does inside the writer's transaction
//! (see `writer.rs`): the
//! SQLite store's writes (`sqlite/writer.rs`), statement for statement, in
//! PostgreSQL. A session's list columns and search words change in the same
//! transaction as its events.

use tether_shared::event::Budget;
use tether_shared::rules::ApprovalRule;
use tether_shared::{Delivery, Event};

use super::conn::Tx;
use super::error::PgError;
use super::keys::put_key;
use super::listen::notify;
use super::reads::db_seq;
use super::{search, summary};
use crate::os::procs::ProcessIdentity;
use crate::store::error::StoreError;
use crate::store::types::{Batch, KeyRecord, NewRule, SessionRow};

/// One write.
pub(super) enum Write {
    /// A session with its first events, an optional first input (text,
    /// delivery, time) and a request key.
    Create {
        row: Box<SessionRow>,
        events: Vec<Event>,
        prompt: Option<(String, Delivery, String)>,
        key: Option<KeyRecord>,
    },
    Fork(Box<Fork>),
    Append(String, Batch),
    AddInput {
        session_id: String,
        text: String,
        delivery: Delivery,
        created_at: String,
        key: Option<KeyRecord>,
    },
    Delete(String, Option<KeyRecord>),
    PutKey(KeyRecord),
    /// Forget keys stored before this (unix seconds).
    PruneKeys(i64),
    AddProcess(String, String, ProcessIdentity),
    RemoveProcesses(String, Option<String>),
    SetBudget(String, Budget),
    AddRule(NewRule),
    /// Rule id, session id, project.
    RemoveRule(u64, String, String),
    /// A schedule write (issue 15, `schedules.rs`).
    Schedule(super::schedules::ScheduleOp),
    /// `write`, of a session whose lease this node acquired: refused, storing
    /// nothing, unless the lease is still the node's with this fence (issue 16).
    Fenced {
        session: String,
        node: String,
        fence: i64,
        write: Box<Write>,
    },
}

/// What a write gives back; `handle.rs` turns it into each call's type.
#[derive(Debug)]
pub(super) enum Done {
    Unit,
    Id(i64),
    MaybeId(Option<i64>),
    Rule(ApprovalRule),
    MaybeRule(Option<ApprovalRule>),
    Schedule(super::schedules::ScheduleDone),
}

/// A session to create as a copy of another's log up to a seq (see
/// [`crate::store::Store::fork_session_keyed`]).
pub(super) struct Fork {
    pub(super) from_id: String,
    pub(super) at: u64,
    pub(super) row: SessionRow,
    pub(super) head: Event,
    pub(super) tail: Vec<Event>,
    pub(super) key: Option<KeyRecord>,
}

/// Runs one write.
pub(super) async fn apply(tx: &Tx<'_>, w: &Write) -> Result<Done, PgError> {
    match w {
        Write::Fenced {
            session,
            node,
            fence,
            write,
        } => {
            super::fence::check(tx, session, node, *fence).await?;
            Box::pin(apply(tx, write)).await
        }
        Write::Create {
            row,
            events,
            prompt,
            key,
        } => {
            name_free(tx, &row.name).await?;
            insert_row(tx, row, true).await?;
            insert_events(tx, &row.id, events).await?;
            let mut input = None;
            if let Some((text, delivery, now)) = prompt {
                input = Some(insert_input(tx, &row.id, text, delivery.as_str(), now).await?);
            }
            if let Some(k) = key {
                put_key(tx, k).await?;
            }
            Ok(Done::MaybeId(input))
        }
        Write::Fork(f) => fork_session(tx, f).await.map(|_| Done::Unit),
        Write::Schedule(op) => super::schedules::apply(tx, op).await.map(Done::Schedule),
        Write::Append(id, batch) => {
            insert_events(tx, id, &batch.events).await?;
            for input in &batch.consume_inputs {
                tx.execute("DELETE FROM inputs WHERE id = $1", &[input])
                    .await?;
            }
            if let Some(last) = batch.events.last() {
                let st = tx
                    .prepare_cached(
                        "UPDATE sessions SET updated_at = $2, last_seq = $3 WHERE id = $1",
                    )
                    .await?;
                tx.execute(&st, &[id, &last.ts, &db_seq(last.seq)]).await?;
                notify(tx, &super::listen::events_payload(id, last.seq)).await?;
            }
            if let Some(u) = &batch.usage {
                let n = |v: u64| v.min(i64::MAX as u64) as i64;
                tx.execute(
                    "UPDATE sessions SET prompt_tokens = prompt_tokens + $2, \
                     completion_tokens = completion_tokens + $3, cached_tokens = cached_tokens + $4, \
                     cache_write_tokens = cache_write_tokens + $5, \
                     reasoning_tokens = reasoning_tokens + $6, cost_usd = cost_usd + $7 WHERE id = $1",
                    &[
                        id,
                        &n(u.prompt_tokens),
                        &n(u.completion_tokens),
                        &n(u.cached_tokens),
                        &n(u.cache_write_tokens),
                        &n(u.reasoning_tokens),
                        &batch.cost_usd,
                    ],
                )
                .await?;
            }
            Ok(Done::Unit)
        }
        Write::AddInput {
            session_id,
            text,
            delivery,
            created_at,
            key,
        } => {
            let input = insert_input(tx, session_id, text, delivery.as_str(), created_at).await?;
            if let Some(k) = key {
                let mut k = k.clone();
                if let Some(obj) = k.result.as_object_mut() {
                    obj.insert("input_id".into(), input.into());
                }
                put_key(tx, &k).await?;
            }
            Ok(Done::Id(input))
        }
        Write::AddProcess(id, call_id, p) => {
            tx.execute(
                "INSERT INTO processes (session_id, call_id, pid, start_ticks, boot_id) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    id,
                    call_id,
                    &i64::from(p.pid),
                    &(p.start_ticks.min(i64::MAX as u64) as i64),
                    &p.boot_id,
                ],
            )
            .await?;
            Ok(Done::Unit)
        }
        Write::RemoveProcesses(id, call_id) => {
            match call_id {
                Some(call) => {
                    tx.execute(
                        "DELETE FROM processes WHERE session_id = $1 AND call_id = $2",
                        &[id, call],
                    )
                    .await?
                }
                None => {
                    tx.execute("DELETE FROM processes WHERE session_id = $1", &[id])
                        .await?
                }
            };
            Ok(Done::Unit)
        }
        Write::SetBudget(id, budget) => {
            let max_tokens = budget.max_tokens.map(|n| n.min(i64::MAX as u64) as i64);
            let n = tx
                .execute(
                    "UPDATE sessions SET max_tokens = $2, max_cost_usd = $3 WHERE id = $1",
                    &[id, &max_tokens, &budget.max_cost_usd],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::SessionGone(id.clone()).into());
            }
            Ok(Done::Unit)
        }
        Write::AddRule(rule) => {
            // The same rule twice (a retry, a second "always") is one rule.
            let same = tx
                .query_opt(
                    "SELECT id, created_at FROM approval_rules WHERE scope = $1 \
                     AND session_id IS NOT DISTINCT FROM $2 AND project IS NOT DISTINCT FROM $3 \
                     AND tool = $4 AND prefix IS NOT DISTINCT FROM $5",
                    &[
                        &rule.scope.as_str(),
                        &rule.session_id,
                        &rule.project,
                        &rule.tool,
                        &rule.prefix,
                    ],
                )
                .await?;
            let (id, created_at) = match same {
                Some(r) => (r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?),
                None => {
                    let r = tx
                        .query_one(
                            "INSERT INTO approval_rules (scope, session_id, project, tool, prefix, \
                             created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                            &[
                                &rule.scope.as_str(),
                                &rule.session_id,
                                &rule.project,
                                &rule.tool,
                                &rule.prefix,
                                &rule.created_at,
                            ],
                        )
                        .await?;
                    (r.try_get(0)?, rule.created_at.clone())
                }
            };
            Ok(Done::Rule(ApprovalRule {
                id: id.max(0) as u64,
                scope: rule.scope,
                tool: rule.tool.clone(),
                prefix: rule.prefix.clone(),
                created_at,
                session: rule.session_id.clone(),
                project: rule.project.clone(),
            }))
        }
        Write::RemoveRule(rule_id, session_id, project) => {
            let rule = super::reads::rules(tx, session_id, project)
                .await?
                .into_iter()
                .find(|r| r.id == *rule_id);
            if rule.is_some() {
                tx.execute(
                    "DELETE FROM approval_rules WHERE id = $1",
                    &[&db_seq(*rule_id)],
                )
                .await?;
            }
            Ok(Done::MaybeRule(rule))
        }
        Write::Delete(id, key) => {
            tx.execute(
                "DELETE FROM approval_rules WHERE scope = 'session' AND session_id = $1",
                &[id],
            )
            .await?;
            for table in ["event_text", "events", "inputs", "schedules", "processes"] {
                tx.execute(&format!("DELETE FROM {table} WHERE session_id = $1"), &[id])
                    .await?;
            }
            tx.execute("DELETE FROM sessions WHERE id = $1", &[id])
                .await?;
            tx.execute(crate::store::lease_sql::DELETE, &[id]).await?;
            if let Some(k) = key {
                put_key(tx, k).await?;
            }
            Ok(Done::Unit)
        }
        Write::PutKey(key) => put_key(tx, key).await.map(|_| Done::Unit),
        Write::PruneKeys(before) => {
            let n = tx
                .execute("DELETE FROM request_keys WHERE created_at < $1", &[before])
                .await?;
            Ok(Done::Id(n.min(i64::MAX as u64) as i64))
        }
    }
}

/// Refuses a name another session has.
async fn name_free(tx: &Tx<'_>, name: &str) -> Result<(), PgError> {
    let taken = tx
        .query_opt("SELECT id FROM sessions WHERE name = $1", &[&name])
        .await?;
    if taken.is_some() {
        return Err(StoreError::NameTaken(name.to_string()).into());
    }
    Ok(())
}

/// Inserts a session's row (with its own servers and worktree when `own`: a
/// fork has neither, as in the SQLite store).
async fn insert_row(tx: &Tx<'_>, row: &SessionRow, own: bool) -> Result<(), PgError> {
    let servers = own.then(|| servers_json(&row.mcp_servers)).flatten();
    let worktree = own
        .then_some(row.worktree.as_ref())
        .flatten()
        .and_then(|w| serde_json::to_string(w).ok());
    tx.execute(
        "INSERT INTO sessions (id, name, model, cwd, instructions, created_at, updated_at, \
         last_seq, max_tokens, max_cost_usd, mcp_servers, worktree) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &row.id,
            &row.name,
            &row.model,
            &row.cwd,
            &row.instructions,
            &row.created_at,
            &row.updated_at,
            &db_seq(row.last_seq),
            &row.budget.max_tokens.map(|n| n.min(i64::MAX as u64) as i64),
            &row.budget.max_cost_usd,
            &servers,
            &worktree,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_input(
    tx: &Tx<'_>,
    id: &str,
    text: &str,
    delivery: &str,
    now: &str,
) -> Result<i64, PgError> {
    let st = tx
        .prepare_cached(
            "INSERT INTO inputs (session_id, text, delivery, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .await?;
    let input = tx
        .query_one(&st, &[&id, &text, &delivery, &now])
        .await?
        .try_get(0)?;
    notify(tx, &super::listen::input_payload(id)).await?;
    Ok(input)
}

/// Creates a fork's row and log: its seq 1, the source's events `2..=at` copied
/// row for row (their words too), then its tail.
async fn fork_session(tx: &Tx<'_>, f: &Fork) -> Result<(), PgError> {
    name_free(tx, &f.row.name).await?;
    let source = tx
        .query_opt("SELECT name FROM sessions WHERE id = $1", &[&f.from_id])
        .await?;
    let Some(source) = source else {
        return Err(StoreError::SessionGone(f.from_id.clone()).into());
    };
    let source: String = source.try_get(0)?;
    let r = &f.row;
    insert_row(tx, r, false).await?;
    insert_events(tx, &r.id, std::slice::from_ref(&f.head)).await?;
    let at = db_seq(f.at);
    let copied = tx
        .execute(
            "INSERT INTO events (session_id, seq, type, body) \
             SELECT $1, seq, type, body FROM events WHERE session_id = $2 AND seq >= 2 \
             AND seq <= $3",
            &[&r.id, &f.from_id, &at],
        )
        .await?;
    let want = f.at.saturating_sub(1);
    if copied != want {
        return Err(PgError::Damaged(format!(
            "session {source:?} has {copied} of the {want} events 2..={} a fork copies",
            f.at
        )));
    }
    tx.execute(
        "INSERT INTO event_text (session_id, seq, words) \
         SELECT $1, seq, words FROM event_text WHERE session_id = $2 AND seq >= 2 AND seq <= $3",
        &[&r.id, &f.from_id, &at],
    )
    .await?;
    insert_events(tx, &r.id, &f.tail).await?;
    // Its list columns come from the whole log, the copied rows included.
    summary::refresh(tx, &r.id).await?;
    if let Some(k) = &f.key {
        put_key(tx, k).await?;
    }
    Ok(())
}

async fn insert_events(tx: &Tx<'_>, id: &str, events: &[Event]) -> Result<(), PgError> {
    if events.is_empty() {
        return Ok(());
    }
    let st = tx
        .prepare_cached("INSERT INTO events (session_id, seq, type, body) VALUES ($1, $2, $3, $4)")
        .await?;
    for ev in events {
        let body = serde_json::to_string(ev)?;
        tx.execute(&st, &[&id, &db_seq(ev.seq), &ev.kind.type_name(), &body])
            .await?;
    }
    summary::note(tx, id, events).await?;
    search::index(tx, id, events).await
}

/// A session's own servers as stored: a JSON array, NULL when it has none.
fn servers_json(servers: &[tether_shared::protocol::SessionServer]) -> Option<String> {
    if servers.is_empty() {
        return None;
    }
    serde_json::to_string(servers).ok()
}
