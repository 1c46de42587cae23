//! The SQLite store: sessions, their event logs and their queued inputs.
//!
//! One writer thread owns the write connection and commits whatever arrived while
//! the previous commit ran in one transaction (group commit), so many sessions
//! appending at once cost one fsync, not one each. Reads run on a small pool of
//! read connections through `spawn_blocking`; WAL lets them run beside the writer.
//!
//! Storage failures (a full disk, I/O errors, a damaged file) come back as errors
//! that say so, and [`integrity`] keeps track of them for `daemon status`;
//! a failed transaction never stops the writer, so writes work again as soon as
//! the disk does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use tether_shared::{Delivery, Event, EventKind, Usage};
use tokio::sync::{mpsc, oneshot};

pub mod integrity;

use crate::procs::ProcessIdentity;
use integrity::{Health, HealthCell};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored event did not decode.
    #[error("corrupt event: {0}")]
    Decode(#[from] serde_json::Error),
    /// The name is already used.
    #[error("a session named {0:?} already exists")]
    NameTaken(String),
    /// The transaction holding this op failed to commit.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The store thread is gone (daemon shutting down).
    #[error("the store is closed")]
    Closed,
    /// The disk holding the store has no space left.
    #[error(
        "the disk holding {path} is full, so nothing was stored: free some space there, then retry"
    )]
    Full {
        /// The store file.
        path: String,
    },
    /// Reading or writing the store file failed.
    #[error("cannot read or write {path} ({detail}): check that disk, then retry")]
    Io {
        /// The store file.
        path: String,
        /// What SQLite said.
        detail: String,
    },
    /// The store file is damaged: what it holds cannot be trusted to be complete.
    #[error(
        "{path} is damaged: {detail}; {}",
        integrity::what_to_do(std::path::Path::new(path))
    )]
    Damaged {
        /// The store file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

impl StoreError {
    /// The same error again, for every op of a transaction that failed as a whole.
    fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Full { path } => StoreError::Full { path: path.clone() },
            StoreError::Io { path, detail } => StoreError::Io {
                path: path.clone(),
                detail: detail.clone(),
            },
            StoreError::Damaged { path, detail } => StoreError::Damaged {
                path: path.clone(),
                detail: detail.clone(),
            },
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, msg)) => {
                StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, msg.clone()))
            }
            e => StoreError::Commit(e.to_string()),
        }
    }
}

/// A session's durable metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// `provider/model`.
    pub model: String,
    /// Working directory.
    pub cwd: String,
    /// System prompt.
    pub instructions: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 of the last event.
    pub updated_at: String,
    /// Last stored seq.
    pub last_seq: u64,
    /// Tokens used.
    pub usage: Usage,
}

/// An input that `send` acknowledged and the agent has not taken yet.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedInput {
    /// Row id (increasing).
    pub id: i64,
    /// The text.
    pub text: String,
    /// How it was sent.
    pub delivery: Delivery,
}

/// Events to append atomically, with what they imply.
#[derive(Debug, Default)]
pub struct Batch {
    /// Events, numbered by the caller (the session actor owns its seq).
    pub events: Vec<Event>,
    /// An input these events take from the queue.
    pub consume_inputs: Vec<i64>,
    /// Tokens to add to the session's total.
    pub usage: Option<Usage>,
}

enum Op {
    Create(
        SessionRow,
        Vec<Event>,
        Option<(String, Delivery, String)>,
        Option<KeyRecord>,
        oneshot::Sender<Result<Option<i64>, StoreError>>,
    ),
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
}

/// A cloneable handle on the store.
#[derive(Clone)]
pub struct Store {
    ops: mpsc::UnboundedSender<Op>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: PathBuf,
    health: HealthCell,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    cwd TEXT NOT NULL,
    instructions TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_type ON events (session_id, type, seq);
CREATE TABLE IF NOT EXISTS inputs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    text TEXT NOT NULL,
    delivery TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inputs_by_session ON inputs (session_id, id);
CREATE TABLE IF NOT EXISTS processes (
    session_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL,
    boot_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS processes_by_session ON processes (session_id, call_id);
"#;

/// Request keys (see "Request keys" below): kept apart from the rest of the schema.
const KEYS_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS request_keys (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS request_keys_by_age ON request_keys (created_at);
"#;

/// A connection configured like the store's own (for the background check).
pub(crate) fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    open(path)
}

fn open(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk before `send` or a client sees it, so a power loss
    // does not lose what was acknowledged (DESIGN.md guarantee 2).
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

fn delivery_from(s: &str) -> Delivery {
    match s {
        "steer" => Delivery::Steer,
        "interrupt" => Delivery::Interrupt,
        _ => Delivery::Queue,
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and starts its writer thread.
    ///
    /// Damage it can see at once is noted in its health (see [`Store::health`]);
    /// the slow checks run in the background.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let health = HealthCell::default();
        // Before SQLite reads the WAL: its recovery drops what this looks for.
        let wal_damage = integrity::scan_wal(path);
        let conn = open(path).map_err(|e| integrity::classify(path, &health, e.into()))?;
        conn.execute_batch(SCHEMA)
            .and_then(|_| conn.execute_batch(integrity::DAMAGE_SCHEMA))
            .and_then(|_| conn.execute_batch(KEYS_SCHEMA))
            .map_err(|e| integrity::classify(path, &health, e.into()))?;
        integrity::load_recorded(&conn, path, &health);
        if let Some(found) = wal_damage {
            integrity::record(&conn, path, &health, &found);
        }
        integrity::check_in_background(path, &health);
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = Writer {
            path: path.to_path_buf(),
            health: health.clone(),
        };
        std::thread::Builder::new()
            .name("tether-store".into())
            .spawn(move || writer.run(conn, rx))
            .map_err(|_| StoreError::Closed)?;
        Ok(Store {
            ops: tx,
            readers: Arc::new(Mutex::new(Vec::new())),
            path: path.to_path_buf(),
            health,
        })
    }

    /// Folds the WAL into `tether.db` and empties it, so that after a clean stop
    /// the file holds everything by itself (a copy of it is a whole backup).
    /// Best effort: a reader still busy (the start-up check) leaves it to SQLite.
    pub async fn checkpoint(&self) {
        let path = self.path.clone();
        let done = tokio::task::spawn_blocking(move || -> Result<(), rusqlite::Error> {
            let conn = open(&path)?;
            conn.busy_timeout(std::time::Duration::from_secs(1))?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        })
        .await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not checkpoint the store"),
            Err(e) => tracing::warn!(error = %e, "could not checkpoint the store"),
        }
    }

    /// What is known to be wrong with the store (damage, a failing disk).
    pub fn health(&self) -> Health {
        self.health.get()
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Op,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.ops.send(make(tx)).map_err(|_| StoreError::Closed)?;
        rx.await
            .map_err(|_| StoreError::Closed)?
            .map_err(|e| integrity::classify(&self.path, &self.health, e))
    }

    /// Creates a session with its first events.
    pub async fn create_session(
        &self,
        row: SessionRow,
        events: Vec<Event>,
    ) -> Result<(), StoreError> {
        self.create_session_keyed(row, events, None, None)
            .await
            .map(|_| ())
    }

    /// Appends a batch atomically.
    pub async fn append(&self, session_id: &str, batch: Batch) -> Result<(), StoreError> {
        self.call(|tx| Op::Append(session_id.to_string(), batch, tx))
            .await
    }

    /// Stores a queued input; durable when this returns.
    pub async fn add_input(
        &self,
        session_id: &str,
        text: &str,
        delivery: Delivery,
    ) -> Result<i64, StoreError> {
        self.add_input_keyed(session_id, text, delivery, None).await
    }

    /// Records a process group a tool call started (see [`crate::procs`]).
    pub async fn add_process(
        &self,
        session_id: &str,
        call_id: &str,
        id: ProcessIdentity,
    ) -> Result<(), StoreError> {
        self.call(|tx| Op::AddProcess(session_id.to_string(), call_id.to_string(), id, tx))
            .await
    }

    /// Forgets the process groups of one call, or of every call of the session.
    pub async fn remove_processes(
        &self,
        session_id: &str,
        call_id: Option<&str>,
    ) -> Result<(), StoreError> {
        self.call(|tx| Op::RemoveProcesses(session_id.to_string(), call_id.map(str::to_string), tx))
            .await
    }

    /// The process groups recorded for a session's running calls.
    pub async fn processes(
        &self,
        session_id: &str,
    ) -> Result<Vec<(String, ProcessIdentity)>, StoreError> {
        let id = session_id.to_string();
        self.read(move |c| {
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
        })
        .await
    }

    /// Deletes a session with its events and inputs.
    pub async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        self.delete_session_keyed(session_id, None).await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        let health = self.health.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().ok().and_then(|mut v| v.pop());
            let conn = match pooled {
                Some(c) => c,
                None => match open(&path) {
                    Ok(c) => c,
                    Err(e) => return Err(integrity::classify(&path, &health, e.into())),
                },
            };
            let out = f(&conn);
            if let Ok(mut v) = readers.lock()
                && v.len() < 4
            {
                v.push(conn);
            }
            out.map_err(|e| integrity::classify(&path, &health, e))
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// Every session.
    pub async fn sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, name, model, cwd, instructions, created_at, updated_at, last_seq, \
                 prompt_tokens, completion_tokens FROM sessions ORDER BY created_at, id",
            )?;
            let rows = st.query_map([], |r| {
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
                    },
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Events with `since < seq < before`, at most `limit`: the oldest ones when
    /// `newest` is false, the newest ones when it is true. Always in seq order.
    /// A page that is not the contiguous run the session's `last_seq` promises is
    /// an error ([`StoreError::Damaged`]), never served as if complete.
    pub async fn events(
        &self,
        session_id: &str,
        since: u64,
        before: u64,
        limit: usize,
        newest: bool,
    ) -> Result<Vec<Event>, StoreError> {
        integrity::refuse_if_lost(&self.path, &self.health)?;
        let id = session_id.to_string();
        let path = self.path.clone();
        self.read(move |c| {
            // One snapshot: the recorded last seq and the events agree.
            let snapshot = c.unchecked_transaction()?;
            let recorded = session_end(c, &id)?;
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
                integrity::check_run(&name, &seqs, first, last, last_seq).map_err(|detail| {
                    StoreError::Damaged {
                        path: path.display().to_string(),
                        detail,
                    }
                })?;
            }
            Ok(out)
        })
        .await
    }

    /// The events of the session's last turn (from its last `turn_started`), or the
    /// last state event when no turn was ever started: what recovery needs.
    pub async fn last_turn(&self, session_id: &str) -> Result<Vec<Event>, StoreError> {
        let id = session_id.to_string();
        let path = self.path.clone();
        self.read(move |c| {
            let snapshot = c.unchecked_transaction()?;
            let recorded = session_end(c, &id)?;
            let start: Option<i64> = c
                .query_row(
                    "SELECT max(seq) FROM events WHERE session_id = ?1 AND type = 'turn_started'",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            let mut st = c.prepare_cached(
                "SELECT body FROM events WHERE session_id = ?1 AND seq >= ?2 ORDER BY seq",
            )?;
            let rows = st.query_map(params![id, start.unwrap_or(0)], |r| r.get::<_, String>(0))?;
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
                integrity::check_run(&name, &seqs, Some(first), Some(last_seq), last_seq).map_err(
                    |detail| StoreError::Damaged {
                        path: path.display().to_string(),
                        detail,
                    },
                )?;
            }
            Ok(out)
        })
        .await
    }

    /// The queued inputs of a session, oldest first.
    pub async fn inputs(&self, session_id: &str) -> Result<Vec<QueuedInput>, StoreError> {
        let id = session_id.to_string();
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, text, delivery FROM inputs WHERE session_id = ?1 ORDER BY id",
            )?;
            let rows = st.query_map(params![id], |r| {
                Ok(QueuedInput {
                    id: r.get(0)?,
                    text: r.get(1)?,
                    delivery: delivery_from(&r.get::<_, String>(2)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

// ---- Request keys --------------------------------------------------------------
//
// A mutating request may carry a client-chosen key (see `tether_shared::protocol::
// KEY_PARAM`). The key, the request it named and its first result are stored in
// the same transaction as the request's durable effect where there is one (a
// session's row, an input's row, a deletion), so a retry after a crash finds the
// key exactly when the effect happened.

/// A request key with what it named and the result it got.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// The client's key.
    pub key: String,
    /// The request's method.
    pub method: String,
    /// The request's params without the key, as JSON text.
    pub params: String,
    /// The result to answer a retry with.
    pub result: serde_json::Value,
    /// Unix seconds when the key was first stored.
    pub created_at: i64,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl KeyRecord {
    /// A record stamped now.
    pub fn new(key: &str, method: &str, params: &str, result: serde_json::Value) -> Self {
        KeyRecord {
            key: key.to_string(),
            method: method.to_string(),
            params: params.to_string(),
            result,
            created_at: unix_now(),
        }
    }
}

/// Stores a key, or replaces the result of one already stored (its age stays).
fn put_key(c: &Connection, k: &KeyRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO request_keys (key, method, params, result, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (key) DO UPDATE SET result = excluded.result",
        params![
            k.key,
            k.method,
            k.params,
            serde_json::to_string(&k.result)?,
            k.created_at
        ],
    )?;
    Ok(())
}

impl Store {
    /// Creates a session with its first events and, in the same transaction, an
    /// optional first input (text, delivery, created_at) and a request key.
    /// Returns the input's id when there was one.
    pub async fn create_session_keyed(
        &self,
        row: SessionRow,
        events: Vec<Event>,
        prompt: Option<(String, Delivery)>,
        key: Option<KeyRecord>,
    ) -> Result<Option<i64>, StoreError> {
        let now = crate::util::now_rfc3339();
        let prompt = prompt.map(|(t, d)| (t, d, now));
        self.call(|tx| Op::Create(row, events, prompt, key, tx))
            .await
    }

    /// Stores a queued input and, in the same transaction, a request key whose
    /// result gets the new input's id as `input_id`; durable when this returns.
    pub async fn add_input_keyed(
        &self,
        session_id: &str,
        text: &str,
        delivery: Delivery,
        key: Option<KeyRecord>,
    ) -> Result<i64, StoreError> {
        let now = crate::util::now_rfc3339();
        self.call(|tx| {
            Op::AddInput(
                session_id.to_string(),
                text.to_string(),
                delivery,
                now,
                key,
                tx,
            )
        })
        .await
    }

    /// Deletes a session and, in the same transaction, stores a request key.
    pub async fn delete_session_keyed(
        &self,
        session_id: &str,
        key: Option<KeyRecord>,
    ) -> Result<(), StoreError> {
        self.call(|tx| Op::Delete(session_id.to_string(), key, tx))
            .await
    }

    /// Stores a request key, or replaces the result of a stored one.
    pub async fn put_key(&self, key: KeyRecord) -> Result<(), StoreError> {
        self.call(|tx| Op::PutKey(key, tx)).await
    }

    /// The stored request key, unless it is older than `ttl_s` seconds.
    pub async fn key(&self, key: &str, ttl_s: u64) -> Result<Option<KeyRecord>, StoreError> {
        let key = key.to_string();
        let oldest = unix_now().saturating_sub(ttl_s as i64);
        self.read(move |c| {
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
                    key: key.clone(),
                    method,
                    params,
                    result: serde_json::from_str(&result)?,
                    created_at,
                })
            })
            .transpose()
        })
        .await
    }

    /// Forgets request keys older than `ttl_s` seconds; returns how many.
    pub async fn prune_keys(&self, ttl_s: u64) -> Result<i64, StoreError> {
        let before = unix_now().saturating_sub(ttl_s as i64);
        self.call(|tx| Op::PruneKeys(before, tx)).await
    }
}

/// A session's name and recorded last seq (None when it has no row).
fn session_end(c: &Connection, id: &str) -> Result<Option<(String, u64)>, StoreError> {
    Ok(c.query_row(
        "SELECT name, last_seq FROM sessions WHERE id = ?1",
        params![id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)),
    )
    .optional()?)
}

/// Answers one op's caller once its transaction commits (or fails to).
type Settle = Box<dyn FnOnce(Option<&StoreError>)>;

/// The writer thread's own state.
struct Writer {
    path: PathBuf,
    health: HealthCell,
}

impl Writer {
    fn run(self, mut conn: Connection, mut rx: mpsc::UnboundedReceiver<Op>) {
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
            let result = (|| -> Result<(), StoreError> {
                let tx = conn.transaction()?;
                for op in ops {
                    apply(&tx, op, &mut replies, &aborted);
                }
                // SQLite rolled the whole transaction back (SQLITE_FULL, an I/O
                // error): nothing of it is stored, so every op fails.
                if let Some(e) = aborted.borrow_mut().take() {
                    return Err(e);
                }
                tx.commit()?;
                Ok(())
            })();
            // Each op's own outcome was settled inside apply; a failed commit fails
            // all. The connection is usable again: the next batch is tried afresh.
            let failure = result
                .err()
                .map(|e| integrity::classify(&self.path, &self.health, e));
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
            (Ok(_), Some(e)) => Err(e.duplicate()),
            (o, _) => o,
        };
        let _ = tx.send(out);
    })
}

/// Runs one op inside a savepoint, so a failing op rolls back alone. An error
/// that made SQLite roll back the whole transaction is kept in `aborted`, and the
/// ops after it are not run (outside the transaction they would commit alone).
fn apply(
    tx: &rusqlite::Transaction<'_>,
    op: Op,
    replies: &mut Vec<Settle>,
    aborted: &std::cell::RefCell<Option<StoreError>>,
) {
    let with_sp = |f: &dyn Fn(&Connection) -> Result<i64, StoreError>| -> Result<i64, StoreError> {
        if let Some(e) = aborted.borrow().as_ref() {
            return Err(e.duplicate());
        }
        tx.execute_batch("SAVEPOINT op")?;
        match f(tx) {
            Ok(v) => {
                tx.execute_batch("RELEASE op")?;
                Ok(v)
            }
            Err(e) if tx.is_autocommit() => {
                *aborted.borrow_mut() = Some(e.duplicate());
                Err(e)
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
                    return Err(StoreError::NameTaken(row.name.clone()));
                }
                c.execute(
                    "INSERT INTO sessions (id, name, model, cwd, instructions, created_at, updated_at, last_seq) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![row.id, row.name, row.model, row.cwd, row.instructions, row.created_at, row.updated_at, row.last_seq as i64],
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
            replies.push(finish(reply, out));
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
                         completion_tokens = completion_tokens + ?3 WHERE id = ?1",
                        params![id, u.prompt_tokens as i64, u.completion_tokens as i64],
                    )?;
                }
                Ok(0)
            });
            replies.push(finish(reply, out.map(|_| ())));
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
            replies.push(finish(reply, out));
        }
        Op::AddProcess(id, call_id, p, reply) => {
            let out = with_sp(&|c| {
                c.execute(
                    "INSERT INTO processes (session_id, call_id, pid, start_ticks, boot_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, call_id, p.pid as i64, p.start_ticks as i64, p.boot_id],
                )?;
                Ok(0)
            });
            replies.push(finish(reply, out.map(|_| ())));
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
            replies.push(finish(reply, out.map(|_| ())));
        }
        Op::Delete(id, key, reply) => {
            let out = with_sp(&|c| {
                c.execute("DELETE FROM events WHERE session_id = ?1", params![id])?;
                c.execute("DELETE FROM inputs WHERE session_id = ?1", params![id])?;
                c.execute("DELETE FROM processes WHERE session_id = ?1", params![id])?;
                c.execute("DELETE FROM sessions WHERE id = ?1", params![id])?;
                if let Some(k) = &key {
                    put_key(c, k)?;
                }
                Ok(0)
            });
            replies.push(finish(reply, out.map(|_| ())));
        }
        Op::PutKey(key, reply) => {
            let out = with_sp(&|c| put_key(c, &key).map(|_| 0));
            replies.push(finish(reply, out.map(|_| ())));
        }
        Op::PruneKeys(before, reply) => {
            let out = with_sp(&|c| {
                Ok(c.execute(
                    "DELETE FROM request_keys WHERE created_at < ?1",
                    params![before],
                )? as i64)
            });
            replies.push(finish(reply, out));
        }
    }
}

fn insert_events(c: &Connection, id: &str, events: &[Event]) -> Result<(), StoreError> {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            ts: format!("t{seq}"),
            kind,
        }
    }

    fn row(id: &str, name: &str) -> SessionRow {
        SessionRow {
            id: id.into(),
            name: name.into(),
            model: "p/m".into(),
            cwd: "/".into(),
            instructions: None,
            created_at: "t0".into(),
            updated_at: "t0".into(),
            last_seq: 0,
            usage: Usage::default(),
        }
    }

    #[tokio::test]
    async fn create_append_read_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .create_session(row("a", "one"), vec![ev(1, EventKind::TurnStarted)])
            .await
            .unwrap();
        let err = store
            .create_session(row("b", "one"), vec![])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NameTaken(_)), "{err}");
        let input = store
            .add_input("a", "hello", Delivery::Steer)
            .await
            .unwrap();
        assert_eq!(
            store.inputs("a").await.unwrap()[0].delivery,
            Delivery::Steer
        );
        store
            .append(
                "a",
                Batch {
                    events: (2..=5).map(|s| ev(s, EventKind::TurnCompleted)).collect(),
                    consume_inputs: vec![input],
                    usage: Some(Usage {
                        prompt_tokens: 3,
                        completion_tokens: 4,
                    }),
                },
            )
            .await
            .unwrap();
        assert!(store.inputs("a").await.unwrap().is_empty());
        let rows = store.sessions().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].last_seq, 5);
        assert_eq!(rows[0].usage.completion_tokens, 4);
        let newest = store.events("a", 0, u64::MAX, 2, true).await.unwrap();
        assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
        let oldest = store.events("a", 1, 5, 10, false).await.unwrap();
        assert_eq!(
            oldest.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        let turn = store.last_turn("a").await.unwrap();
        assert_eq!(turn.len(), 5);
        store.delete_session("a").await.unwrap();
        assert!(store.sessions().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failing_op_does_not_spoil_its_batch_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.create_session(row("a", "one"), vec![]).await.unwrap();
        // Duplicate seq: the primary key refuses it.
        let dup = store.append(
            "a",
            Batch {
                events: vec![ev(1, EventKind::TurnStarted), ev(1, EventKind::TurnStarted)],
                ..Default::default()
            },
        );
        let ok = store.create_session(row("c", "two"), vec![]);
        let (dup, ok) = tokio::join!(dup, ok);
        assert!(dup.is_err());
        ok.unwrap();
        assert_eq!(store.sessions().await.unwrap().len(), 2);
        assert!(
            store
                .events("a", 0, u64::MAX, 10, false)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_request_key_is_stored_with_its_input_and_pruned_when_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        store.create_session(row("a", "one"), vec![]).await.unwrap();
        let key = KeyRecord::new(
            "k1",
            "session.send",
            "{}",
            serde_json::json!({"state": "running"}),
        );
        let id = store
            .add_input_keyed("a", "hi", Delivery::Queue, Some(key))
            .await
            .unwrap();
        let got = store.key("k1", 3600).await.unwrap().unwrap();
        assert_eq!(got.method, "session.send");
        assert_eq!(
            got.result["input_id"], id,
            "the input's id is in the stored result"
        );
        assert!(store.key("other", 3600).await.unwrap().is_none());
        // A second put replaces the result only.
        let mut fin = got.clone();
        fin.result = serde_json::json!({"final": true});
        fin.method = "ignored".into();
        store.put_key(fin).await.unwrap();
        let got = store.key("k1", 3600).await.unwrap().unwrap();
        assert_eq!(got.result, serde_json::json!({"final": true}));
        assert_eq!(got.method, "session.send");
        // An old key is neither served nor kept.
        let mut old = KeyRecord::new("old", "session.kill", "{}", serde_json::json!({}));
        old.created_at -= 7200;
        store.put_key(old).await.unwrap();
        assert!(store.key("old", 3600).await.unwrap().is_none());
        assert_eq!(store.prune_keys(3600).await.unwrap(), 1);
        assert!(store.key("k1", 3600).await.unwrap().is_some());
        // A failed create stores no key.
        let dup = KeyRecord::new("k2", "session.create", "{}", serde_json::json!({}));
        assert!(
            store
                .create_session_keyed(row("b", "one"), vec![], None, Some(dup))
                .await
                .is_err()
        );
        assert!(store.key("k2", 3600).await.unwrap().is_none());
        drop(store);
        // Durable: a fresh open finds the key.
        let store = Store::open(&path).unwrap();
        assert!(store.key("k1", 3600).await.unwrap().is_some());
    }
}
