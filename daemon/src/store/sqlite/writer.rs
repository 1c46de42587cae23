//! The writer thread: one thread owns the write connection and commits whatever
//! arrived while the previous commit ran in one transaction (group commit), so
//! many sessions appending at once cost one fsync, not one each. Each op runs in
//! a savepoint of its own, so one that fails (a duplicate name, say) rolls back
//! alone and does not spoil its neighbours. A failed transaction never stops the
//! writer, so writes work again as soon as the disk does.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, params};
use tether_shared::event::Budget;
use tether_shared::rules::ApprovalRule;
use tether_shared::{Delivery, Event};
use tokio::sync::{mpsc, oneshot};

use super::error::{SqlError, classify};
use super::health::HealthCell;
use super::keys::put_key;
use crate::os::procs::ProcessIdentity;
use crate::store::error::StoreError;
use crate::store::types::{Batch, KeyRecord, ListSnapshot, NewRule, SessionRow};

/// One write, with the oneshot that answers its caller after the commit.
pub(super) enum Op {
    // Boxed: a row is large (its usage), and every op pays the largest variant's size.
    Create(
        Box<SessionRow>,
        Vec<Event>,
        Option<(String, Delivery, String)>,
        Option<KeyRecord>,
        oneshot::Sender<Result<Option<i64>, StoreError>>,
    ),
    Fork(Box<Fork>, oneshot::Sender<Result<(), StoreError>>),
    Append(String, Batch, oneshot::Sender<Result<(), StoreError>>),
    AddInput(
        String,
        String,
        Delivery,
        String,
        Option<KeyRecord>,
        oneshot::Sender<Result<i64, StoreError>>,
    ),
    Delete(
        String,
        Option<KeyRecord>,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    PutKey(KeyRecord, oneshot::Sender<Result<(), StoreError>>),
    PruneKeys(i64, oneshot::Sender<Result<i64, StoreError>>),
    AddProcess(
        String,
        String,
        ProcessIdentity,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    RemoveProcesses(
        String,
        Option<String>,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    SetBudget(String, Budget, oneshot::Sender<Result<(), StoreError>>),
    AddRule(NewRule, oneshot::Sender<Result<ApprovalRule, StoreError>>),
    /// Rule id, session id, project.
    RemoveRule(
        u64,
        String,
        String,
        oneshot::Sender<Result<Option<ApprovalRule>, StoreError>>,
    ),
    /// The session list to keep until the next start (issue 13, `kept.rs`).
    KeepList(ListSnapshot, oneshot::Sender<Result<(), StoreError>>),
    /// A schedule write (issue 15, `schedules.rs`).
    Schedule(
        super::schedules::ScheduleOp,
        oneshot::Sender<Result<super::schedules::ScheduleDone, StoreError>>,
    ),
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

/// Answers one op's caller once its transaction commits (or fails to).
type Settle = Box<dyn FnOnce(Option<&StoreError>)>;

/// The writer thread's own state.
pub(super) struct Writer {
    /// The store file.
    pub(super) path: PathBuf,
    /// Told the outcome of every commit.
    pub(super) health: HealthCell,
}

impl Writer {
    /// Commits ops in groups until every sender is gone.
    pub(super) fn run(
        self,
        mut conn: Connection,
        mut rx: mpsc::UnboundedReceiver<Op>,
        taken: oneshot::Sender<Option<ListSnapshot>>,
    ) {
        // The list kept at the last clean stop, handed over, then dropped
        // from the store (`kept.rs`).
        let (list, there) = super::kept::take(&conn, &self.path);
        let _ = taken.send(list);
        if there && let Err(e) = super::kept::drop(&conn) {
            tracing::warn!(error = %e, "could not drop the session list kept at the last stop");
        }
        while let Some(first) = rx.blocking_recv() {
            let mut ops = vec![first];
            while ops.len() < 512 {
                match rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            let mut replies: Vec<Settle> = Vec::with_capacity(ops.len());
            let aborted = std::cell::RefCell::new(None);
            let result = (|| -> Result<(), SqlError> {
                let tx = conn.transaction()?;
                for op in ops {
                    self.apply(&tx, op, &mut replies, &aborted);
                }
                // SQLite rolled the whole transaction back (SQLITE_FULL, an I/O
                // error): nothing of it is stored, so every op fails.
                if let Some(e) = aborted.borrow_mut().take() {
                    return Err(e.into());
                }
                tx.commit()?;
                Ok(())
            })();
            // Each op's own outcome was settled inside apply; a failed commit fails
            // all. The connection is usable again: the next batch is tried afresh.
            let failure = result.err().map(|e| self.classify(e));
            self.health.wrote(failure.as_ref());
            for reply in replies {
                reply(failure.as_ref());
            }
        }
    }
}

fn finish<T: 'static>(
    tx: oneshot::Sender<Result<T, StoreError>>,
    outcome: Result<T, StoreError>,
) -> Settle {
    Box::new(move |commit_err: Option<&StoreError>| {
        let out = match (outcome, commit_err) {
            (Ok(_), Some(e)) => Err(e.clone()),
            (o, _) => o,
        };
        let _ = tx.send(out);
    })
}

impl Writer {
    fn classify(&self, e: SqlError) -> StoreError {
        classify(&self.path, &self.health, e)
    }

    fn settled<T>(&self, out: Result<T, SqlError>) -> Result<T, StoreError> {
        out.map_err(|e| self.classify(e))
    }

    /// Runs one op inside a savepoint, so a failing op rolls back alone. An error
    /// that made SQLite roll back the whole transaction is kept in `aborted`, and the
    /// ops after it are not run (outside the transaction they would commit alone).
    fn apply(
        &self,
        tx: &rusqlite::Transaction<'_>,
        op: Op,
        replies: &mut Vec<Settle>,
        aborted: &std::cell::RefCell<Option<StoreError>>,
    ) {
        let with_sp = |f: &dyn Fn(&Connection) -> Result<i64, SqlError>| -> Result<i64, SqlError> {
            if let Some(e) = aborted.borrow().as_ref() {
                return Err(e.clone().into());
            }
            tx.execute_batch("SAVEPOINT op")?;
            match f(tx) {
                Ok(v) => {
                    tx.execute_batch("RELEASE op")?;
                    Ok(v)
                }
                Err(e) if tx.is_autocommit() => {
                    let e = self.classify(e);
                    *aborted.borrow_mut() = Some(e.clone());
                    Err(e.into())
                }
                Err(e) => {
                    tx.execute_batch("ROLLBACK TO op; RELEASE op")?;
                    Err(e)
                }
            }
        };
        match op {
            Op::Create(row, events, prompt, key, reply) => {
                let out = with_sp(&|c| {
                    let taken: Option<String> = c
                        .query_row(
                            "SELECT id FROM sessions WHERE name = ?1",
                            params![row.name],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if taken.is_some() {
                        return Err(StoreError::NameTaken(row.name.clone()).into());
                    }
                    c.execute(
                        "INSERT INTO sessions (id, name, model, cwd, instructions, created_at, updated_at, last_seq, max_tokens, max_cost_usd, mcp_servers, worktree) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                        params![row.id, row.name, row.model, row.cwd, row.instructions, row.created_at, row.updated_at, row.last_seq as i64,
                            row.budget.max_tokens.map(|n| n.min(i64::MAX as u64) as i64), row.budget.max_cost_usd, servers_json(&row.mcp_servers),
                            worktree_json(row.worktree.as_ref())],
                    )?;
                    insert_events(c, &row.id, &events)?;
                    let mut input = 0;
                    if let Some((text, delivery, now)) = &prompt {
                        c.execute(
                            "INSERT INTO inputs (session_id, text, delivery, created_at) VALUES (?1, ?2, ?3, ?4)",
                            params![row.id, text, delivery.as_str(), now],
                        )?;
                        input = c.last_insert_rowid();
                    }
                    if let Some(k) = &key {
                        put_key(c, k)?;
                    }
                    Ok(input)
                });
                let out = out.map(|id| prompt.is_some().then_some(id));
                replies.push(finish(reply, self.settled(out)));
            }
            Op::Fork(fork, reply) => {
                let out = with_sp(&|c| fork_session(c, &fork).map(|_| 0));
                replies.push(finish(reply, self.settled(out.map(|_| ()))));
            }
            Op::Append(id, batch, reply) => {
                let out = with_sp(&|c| {
                    insert_events(c, &id, &batch.events)?;
                    for input in &batch.consume_inputs {
                        c.execute("DELETE FROM inputs WHERE id = ?1", params![input])?;
                    }
                    if let Some(last) = batch.events.last() {
                        c.execute(
                            "UPDATE sessions SET updated_at = ?2, last_seq = ?3 WHERE id = ?1",
                            params![id, last.ts, last.seq as i64],
                        )?;
                    }
                    if let Some(u) = batch.usage {
                        c.execute(
                            "UPDATE sessions SET prompt_tokens = prompt_tokens + ?2, \
                             completion_tokens = completion_tokens + ?3, cached_tokens = cached_tokens + ?4, \
                             cache_write_tokens = cache_write_tokens + ?5, reasoning_tokens = reasoning_tokens + ?6, \
                             cost_usd = cost_usd + ?7 WHERE id = ?1",
                            params![
                                id,
                                u.prompt_tokens as i64,
                                u.completion_tokens as i64,
                                u.cached_tokens as i64,
                                u.cache_write_tokens as i64,
                                u.reasoning_tokens as i64,
                                batch.cost_usd
                            ],
                        )?;
                    }
                    Ok(0)
                });
                replies.push(finish(reply, self.settled(out.map(|_| ()))));
            }
            Op::AddInput(id, text, delivery, now, key, reply) => {
                let out = with_sp(&|c| {
                    c.execute(
                        "INSERT INTO inputs (session_id, text, delivery, created_at) VALUES (?1, ?2, ?3, ?4)",
                        params![id, text, delivery.as_str(), now],
                    )?;
                    let input = c.last_insert_rowid();
                    if let Some(k) = &key {
                        let mut k = k.clone();
                        if let Some(obj) = k.result.as_object_mut() {
                            obj.insert("input_id".into(), input.into());
                        }
                        put_key(c, &k)?;
                    }
                    Ok(input)
                });
                replies.push(finish(reply, self.settled(out)));
            }
            Op::AddProcess(id, call_id, p, reply) => {
                let out = with_sp(&|c| {
                    c.execute(
                        "INSERT INTO processes (session_id, call_id, pid, start_ticks, boot_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![id, call_id, p.pid as i64, p.start_ticks as i64, p.boot_id],
                    )?;
                    Ok(0)
                });
                replies.push(finish(reply, self.settled(out.map(|_| ()))));
            }
            Op::RemoveProcesses(id, call_id, reply) => {
                let out = with_sp(&|c| {
                    match &call_id {
                        Some(call) => c.execute(
                            "DELETE FROM processes WHERE session_id = ?1 AND call_id = ?2",
                            params![id, call],
                        )?,
                        None => {
                            c.execute("DELETE FROM processes WHERE session_id = ?1", params![id])?
                        }
                    };
                    Ok(0)
                });
                replies.push(finish(reply, self.settled(out.map(|_| ()))));
            }
            Op::SetBudget(id, budget, reply) => {
                let out = with_sp(&|c| {
                    let n = c.execute(
                        "UPDATE sessions SET max_tokens = ?2, max_cost_usd = ?3 WHERE id = ?1",
                        params![
                            id,
                            budget.max_tokens.map(|n| n.min(i64::MAX as u64) as i64),
                            budget.max_cost_usd
                        ],
                    )?;
                    if n == 0 {
                        return Err(StoreError::SessionGone(id.clone()).into());
                    }
                    Ok(0)
                });
                replies.push(finish(reply, self.settled(out.map(|_| ()))));
            }
            Op::AddRule(rule, reply) => {
                let stored_at = std::cell::RefCell::new(rule.created_at.clone());
                let out = with_sp(&|c| {
                    // The same rule twice (a retry, a second "always") is one rule.
                    let same: Option<(i64, String)> = c
                        .query_row(
                            "SELECT id, created_at FROM approval_rules WHERE scope = ?1 AND session_id IS ?2 \
                             AND project IS ?3 AND tool = ?4 AND prefix IS ?5",
                            params![
                                rule.scope.as_str(),
                                rule.session_id,
                                rule.project,
                                rule.tool,
                                rule.prefix
                            ],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?;
                    if let Some((id, created_at)) = same {
                        *stored_at.borrow_mut() = created_at;
                        return Ok(id);
                    }
                    c.execute(
                        "INSERT INTO approval_rules (scope, session_id, project, tool, prefix, created_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            rule.scope.as_str(),
                            rule.session_id,
                            rule.project,
                            rule.tool,
                            rule.prefix,
                            rule.created_at
                        ],
                    )?;
                    Ok(c.last_insert_rowid())
                });
                let out = out.map(|id| ApprovalRule {
                    id: id.max(0) as u64,
                    scope: rule.scope,
                    tool: rule.tool.clone(),
                    prefix: rule.prefix.clone(),
                    created_at: stored_at.borrow().clone(),
                    session: rule.session_id.clone(),
                    project: rule.project.clone(),
                });
                replies.push(finish(reply, self.settled(out)));
            }
            Op::RemoveRule(rule_id, session_id, project, reply) => {
                let found = std::cell::RefCell::new(None);
                let out = with_sp(&|c| {
                    let rule = super::reads::rules(c, &session_id, &project)?
                        .into_iter()
                        .find(|r| r.id == rule_id);
                    if rule.is_some() {
                        c.execute(
                            "DELETE FROM approval_rules WHERE id = ?1",
                            params![rule_id.min(i64::MAX as u64) as i64],
                        )?;
                    }
                    *found.borrow_mut() = rule;
                    Ok(0)
                });
                let out = out.map(|_| found.into_inner());
                replies.push(finish(reply, self.settled(out)));
            }
            Op::Delete(id, key, reply) => {
                let out = with_sp(&|c| {
                    c.execute(
                        "DELETE FROM approval_rules WHERE scope = 'session' AND session_id = ?1",
                        params![id],
                    )?;
                    super::search::forget(c, &id)?;
                    c.execute("DELETE FROM events WHERE session_id = ?1", params![id])?;
                    c.execute("DELETE FROM inputs WHERE session_id = ?1", params![id])?;
                    c.execute("DELETE FROM schedules WHERE session_id = ?1", params![id])?;
                    c.execute("DELETE FROM processes WHERE session_id = ?1", params![id])?;
                    c.execute("DELETE FROM sessions WHERE id = ?1", params![id])?;
                    if let Some(k) = &key {
                        put_key(c, k)?;
                    }
                    Ok(0)
                });
                replies.push(finish(reply, self.settled(out.map(|_| ()))));
            }
            Op::Schedule(op, reply) => {
                let done = std::cell::RefCell::new(None);
                let out = with_sp(&|c| {
                    *done.borrow_mut() = Some(super::schedules::apply(c, &op)?);
                    Ok(0)
                });
                let out = out.and_then(|_| {
                    done.into_inner()
                        .ok_or_else(|| SqlError::Damaged("a schedule write had no result".into()))
                });
                replies.push(finish(reply, self.settled(out)));
            }
            Op::KeepList(list, reply) => {
                let out = with_sp(&|c| super::kept::put(c, &self.path, &list).map(|()| 0));
                replies.push(finish(reply, self.settled(out.map(|_| ()))));
            }
            Op::PutKey(key, reply) => {
                let out = with_sp(&|c| put_key(c, &key).map(|_| 0));
                replies.push(finish(reply, self.settled(out.map(|_| ()))));
            }
            Op::PruneKeys(before, reply) => {
                let out = with_sp(&|c| {
                    Ok(c.execute(
                        "DELETE FROM request_keys WHERE created_at < ?1",
                        params![before],
                    )? as i64)
                });
                replies.push(finish(reply, self.settled(out)));
            }
        }
    }
}

/// Creates a fork's row and log: its seq 1, the source's events `2..=at` copied
/// row for row (the bodies hold their seqs, which stay the same), then its tail.
fn fork_session(c: &Connection, f: &Fork) -> Result<(), SqlError> {
    let taken: Option<String> = c
        .query_row(
            "SELECT id FROM sessions WHERE name = ?1",
            params![f.row.name],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() {
        return Err(StoreError::NameTaken(f.row.name.clone()).into());
    }
    let source: Option<String> = c
        .query_row(
            "SELECT name FROM sessions WHERE id = ?1",
            params![f.from_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(source) = source else {
        return Err(StoreError::SessionGone(f.from_id.clone()).into());
    };
    let r = &f.row;
    c.execute(
        "INSERT INTO sessions (id, name, model, cwd, instructions, created_at, updated_at, last_seq, max_tokens, max_cost_usd) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![r.id, r.name, r.model, r.cwd, r.instructions, r.created_at, r.updated_at, r.last_seq as i64,
            r.budget.max_tokens.map(|n| n.min(i64::MAX as u64) as i64), r.budget.max_cost_usd],
    )?;
    insert_events(c, &r.id, std::slice::from_ref(&f.head))?;
    let at = f.at.min(i64::MAX as u64) as i64;
    let copied = c.execute(
        "INSERT INTO events (session_id, seq, type, body) \
         SELECT ?1, seq, type, body FROM events WHERE session_id = ?2 AND seq >= 2 AND seq <= ?3",
        params![r.id, f.from_id, at],
    )?;
    let want = f.at.saturating_sub(1) as usize;
    if copied != want {
        return Err(SqlError::Damaged(format!(
            "session {source:?} has {copied} of the {want} events 2..={} a fork copies",
            f.at
        )));
    }
    // Copied as rows, so indexed from their bodies: a fork's log is searchable too.
    super::search::index_stored(c, &r.id, 2, f.at)?;
    insert_events(c, &r.id, &f.tail)?;
    // Its list columns come from the whole log, the copied rows included.
    super::summary::refresh(c, &r.id)?;
    if let Some(k) = &f.key {
        put_key(c, k)?;
    }
    Ok(())
}

fn insert_events(c: &Connection, id: &str, events: &[Event]) -> Result<(), SqlError> {
    let mut st = c.prepare_cached(
        "INSERT INTO events (session_id, seq, type, body) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for ev in events {
        st.execute(params![
            id,
            ev.seq as i64,
            ev.kind.type_name(),
            serde_json::to_string(ev)?
        ])?;
    }
    // In the same savepoint: the row's list columns and the search index
    // change exactly when the events are stored.
    super::summary::note(c, id, events)?;
    super::search::index(c, id, events)
}

/// A session's own servers as stored: a JSON array, NULL when it has none.
fn servers_json(servers: &[tether_shared::protocol::SessionServer]) -> Option<String> {
    if servers.is_empty() {
        return None;
    }
    serde_json::to_string(servers).ok()
}

/// A session's worktree as the `worktree` column holds it (NULL: none).
fn worktree_json(w: Option<&tether_shared::protocol::WorktreeInfo>) -> Option<String> {
    w.and_then(|w| serde_json::to_string(w).ok())
}
