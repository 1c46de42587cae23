//! [`SqliteStore`]: the [`Store`] in `tether.db`, opened through its migrations,
//! with the writer thread for every write and a small pool of read connections.
//!
//! Reads run on up to four read connections through `spawn_blocking`; WAL lets
//! them run beside the writer. Storage failures (a full disk, I/O errors, a
//! damaged file) come back as errors that say so, and the health keeps track of
//! them for `daemon status`.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tether_shared::rules::ApprovalRule;
use tether_shared::{Delivery, Event};
use tokio::sync::{mpsc, oneshot};

use super::conn::open;
use super::error::{SqlError, classify};
use super::health::{HealthCell, what_to_do};
use super::schedules::{self, ScheduleDone, ScheduleOp};
use super::writer::{Fork, Op, Writer};
use super::{integrity, migrations, reads, search, summary};
use crate::os::procs::ProcessIdentity;
use crate::store::api::{Store, StoreFuture};
use crate::store::error::StoreError;
use crate::store::types::{
    Batch, Fired, Firing, Health, IndexEntry, KeyRecord, ListSnapshot, NewRule, QueuedInput,
    ScheduleRow, ScheduleUpdate, SearchHit, SessionRow, unix_now,
};

/// The most read connections kept for reuse.
const READERS: usize = 4;

/// A cloneable handle on the SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    ops: mpsc::UnboundedSender<Op>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: PathBuf,
    health: HealthCell,
    /// The list kept at the last clean stop, as the writer took it (`kept.rs`);
    /// `None` once had.
    kept: Arc<tokio::sync::Mutex<Option<oneshot::Receiver<Option<ListSnapshot>>>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, brings its schema to this
    /// build's version (see `migrations.rs`) and starts its writer thread.
    ///
    /// Damage it can see at once is noted in its health (see [`Store::health`]);
    /// the slow checks run in the background.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let health = HealthCell::default();
        // Before SQLite reads the WAL: its recovery drops what this looks for.
        let wal_damage = integrity::scan_wal(path);
        let mut conn = open(path).map_err(|e| classify(path, &health, e.into()))?;
        migrations::migrate(&mut conn).map_err(|e| classify(path, &health, e))?;
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
        let (kept_tx, kept_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("tether-store".into())
            .spawn(move || writer.run(conn, rx, kept_tx))
            .map_err(|_| StoreError::Closed)?;
        Ok(SqliteStore {
            ops: tx,
            readers: Arc::new(Mutex::new(Vec::new())),
            path: path.to_path_buf(),
            health,
            kept: Arc::new(tokio::sync::Mutex::new(Some(kept_rx))),
        })
    }

    /// Every session's row, oldest first (what the tests read back).
    #[cfg(test)]
    pub(crate) async fn sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        let mut rows: Vec<SessionRow> = self.index().await?.into_iter().map(|e| e.row).collect();
        rows.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(rows)
    }

    /// Sends an op to the writer (when first polled) and waits for its commit.
    fn call<'a, T: Send + 'static>(
        &'a self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Op + Send + 'a,
    ) -> StoreFuture<'a, T> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            self.ops.send(make(tx)).map_err(|_| StoreError::Closed)?;
            rx.await.map_err(|_| StoreError::Closed)?
        })
    }

    /// Runs `f` on a pooled read connection.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, SqlError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        let health = self.health.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let pooled = readers.lock().ok().and_then(|mut v| v.pop());
                let conn = match pooled {
                    Some(c) => c,
                    None => match open(&path) {
                        Ok(c) => c,
                        Err(e) => return Err(classify(&path, &health, e.into())),
                    },
                };
                let out = f(&conn);
                if let Ok(mut v) = readers.lock()
                    && v.len() < READERS
                {
                    v.push(conn);
                }
                out.map_err(|e| classify(&path, &health, e))
            })
            .await
            .map_err(|_| StoreError::Closed)?
        })
    }
}

impl Store for SqliteStore {
    fn health(&self) -> Health {
        self.health.get()
    }

    fn damage_help(&self) -> String {
        what_to_do(&self.path)
    }

    fn describe(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    /// Folds the WAL into `tether.db` and empties it, so that after a clean stop
    /// the file holds everything by itself (a copy of it is a whole backup).
    /// Best effort: a reader still busy (the start-up check) leaves it to SQLite.
    fn checkpoint(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let path = self.path.clone();
        Box::pin(async move {
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
        })
    }

    fn create_session_keyed(
        &self,
        row: SessionRow,
        events: Vec<Event>,
        prompt: Option<(String, Delivery)>,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'_, Option<i64>> {
        self.call(move |tx| {
            let prompt = prompt.map(|(t, d)| (t, d, crate::util::now_rfc3339()));
            Op::Create(Box::new(row), events, prompt, key, tx)
        })
    }

    fn fork_session_keyed<'a>(
        &'a self,
        from_id: &'a str,
        at: u64,
        row: SessionRow,
        head: Event,
        tail: Vec<Event>,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'a, ()> {
        self.call(move |tx| {
            Op::Fork(
                Box::new(Fork {
                    from_id: from_id.to_string(),
                    at,
                    row,
                    head,
                    tail,
                    key,
                }),
                tx,
            )
        })
    }

    fn append<'a>(&'a self, session_id: &'a str, batch: Batch) -> StoreFuture<'a, ()> {
        self.call(move |tx| Op::Append(session_id.to_string(), batch, tx))
    }

    fn set_budget<'a>(
        &'a self,
        session_id: &'a str,
        budget: tether_shared::event::Budget,
    ) -> StoreFuture<'a, ()> {
        self.call(move |tx| Op::SetBudget(session_id.to_string(), budget, tx))
    }

    fn add_input_keyed<'a>(
        &'a self,
        session_id: &'a str,
        text: &'a str,
        delivery: Delivery,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'a, i64> {
        self.call(move |tx| {
            Op::AddInput(
                session_id.to_string(),
                text.to_string(),
                delivery,
                crate::util::now_rfc3339(),
                key,
                tx,
            )
        })
    }

    fn delete_session_keyed<'a>(
        &'a self,
        session_id: &'a str,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'a, ()> {
        self.call(move |tx| Op::Delete(session_id.to_string(), key, tx))
    }

    fn put_key(&self, key: KeyRecord) -> StoreFuture<'_, ()> {
        self.call(move |tx| Op::PutKey(key, tx))
    }

    fn key<'a>(&'a self, key: &'a str, ttl_s: u64) -> StoreFuture<'a, Option<KeyRecord>> {
        let key = key.to_string();
        self.read(move |c| reads::key(c, &key, unix_now().saturating_sub(ttl_s as i64)))
    }

    fn prune_keys(&self, ttl_s: u64) -> StoreFuture<'_, i64> {
        self.call(move |tx| Op::PruneKeys(unix_now().saturating_sub(ttl_s as i64), tx))
    }

    fn add_process<'a>(
        &'a self,
        session_id: &'a str,
        call_id: &'a str,
        id: ProcessIdentity,
    ) -> StoreFuture<'a, ()> {
        self.call(move |tx| Op::AddProcess(session_id.to_string(), call_id.to_string(), id, tx))
    }

    fn remove_processes<'a>(
        &'a self,
        session_id: &'a str,
        call_id: Option<&'a str>,
    ) -> StoreFuture<'a, ()> {
        self.call(move |tx| {
            Op::RemoveProcesses(session_id.to_string(), call_id.map(str::to_string), tx)
        })
    }

    fn processes<'a>(
        &'a self,
        session_id: &'a str,
    ) -> StoreFuture<'a, Vec<(String, ProcessIdentity)>> {
        let id = session_id.to_string();
        self.read(move |c| reads::processes(c, &id))
    }

    /// Read in two halves of the rowids at once, each on its own read
    /// connection (issue 13: the start-up waits for this, and has two cores).
    /// Two read transactions, not one: at start-up, when this is read, nothing
    /// writes sessions yet.
    fn keep_list(&self, list: ListSnapshot) -> StoreFuture<'_, ()> {
        self.call(move |tx| Op::KeepList(list, tx))
    }

    fn kept_list(&self) -> StoreFuture<'_, Option<ListSnapshot>> {
        Box::pin(async move {
            let Some(rx) = self.kept.lock().await.take() else {
                return Ok(None);
            };
            Ok(rx.await.ok().flatten())
        })
    }

    fn index(&self) -> StoreFuture<'_, Vec<IndexEntry>> {
        Box::pin(async move {
            let basis = Arc::new(self.read(summary::index_basis).await?);
            let mid = basis.last_rowid / 2;
            let first = basis.clone();
            let (mut a, b) = futures::try_join!(
                self.read(move |c| summary::index_part(c, &first, (i64::MIN, mid))),
                self.read(move |c| summary::index_part(c, &basis, (mid, i64::MAX))),
            )?;
            a.extend(b);
            Ok(a)
        })
    }

    fn session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<SessionRow>> {
        let id = session_id.to_string();
        self.read(move |c| reads::session(c, &id))
    }

    fn events<'a>(
        &'a self,
        session_id: &'a str,
        since: u64,
        before: u64,
        limit: usize,
        newest: bool,
    ) -> StoreFuture<'a, Vec<Event>> {
        Box::pin(async move {
            integrity::refuse_if_lost(&self.path, &self.health)?;
            let id = session_id.to_string();
            self.read(move |c| reads::events(c, &id, since, before, limit, newest))
                .await
        })
    }

    fn last_turn<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<Event>> {
        let id = session_id.to_string();
        self.read(move |c| reads::last_turn(c, &id))
    }

    fn turn_at<'a>(&'a self, session_id: &'a str, at: u64) -> StoreFuture<'a, Vec<Event>> {
        let id = session_id.to_string();
        self.read(move |c| reads::turn_at(c, &id, at))
    }

    fn last_seq_of<'a>(
        &'a self,
        session_id: &'a str,
        type_name: &'a str,
    ) -> StoreFuture<'a, Option<u64>> {
        let id = session_id.to_string();
        let t = type_name.to_string();
        self.read(move |c| reads::last_seq_of(c, &id, &t))
    }

    fn inputs<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<QueuedInput>> {
        let id = session_id.to_string();
        self.read(move |c| reads::inputs(c, &id))
    }

    fn search_events<'a>(
        &'a self,
        session_id: &'a str,
        query: &'a str,
        every_word: bool,
        limit: usize,
    ) -> StoreFuture<'a, Vec<SearchHit>> {
        let (id, query) = (session_id.to_string(), query.to_string());
        self.read(move |c| search::search(c, &id, &query, every_word, limit))
    }

    fn search_newest<'a>(
        &'a self,
        session_id: &'a str,
        query: &'a str,
        limit: usize,
    ) -> StoreFuture<'a, Vec<SearchHit>> {
        let (id, query) = (session_id.to_string(), query.to_string());
        self.read(move |c| search::search_newest(c, &id, &query, limit))
    }

    fn add_rule(&self, rule: NewRule) -> StoreFuture<'_, ApprovalRule> {
        self.call(move |tx| Op::AddRule(rule, tx))
    }

    fn rules<'a>(
        &'a self,
        session_id: &'a str,
        project: &'a str,
    ) -> StoreFuture<'a, Vec<ApprovalRule>> {
        let (id, project) = (session_id.to_string(), project.to_string());
        self.read(move |c| reads::rules(c, &id, &project))
    }

    fn remove_rule<'a>(
        &'a self,
        id: u64,
        session_id: &'a str,
        project: &'a str,
    ) -> StoreFuture<'a, Option<ApprovalRule>> {
        self.call(move |tx| Op::RemoveRule(id, session_id.to_string(), project.to_string(), tx))
    }

    fn event<'a>(&'a self, session_id: &'a str, seq: u64) -> StoreFuture<'a, Option<Event>> {
        let id = session_id.to_string();
        self.read(move |c| reads::event(c, &id, seq))
    }

    fn add_schedule(
        &self,
        row: ScheduleRow,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'_, ScheduleRow> {
        Box::pin(async move {
            let session = row.session_id.clone();
            self.schedule_row(ScheduleOp::Add(Box::new(row), key))
                .await?
                .ok_or(StoreError::SessionGone(session))
        })
    }

    fn schedules(&self) -> StoreFuture<'_, Vec<ScheduleRow>> {
        self.read(schedules::all)
    }

    fn update_schedule(
        &self,
        id: u64,
        update: ScheduleUpdate,
    ) -> StoreFuture<'_, Option<ScheduleRow>> {
        self.schedule_row(ScheduleOp::Update(id, update))
    }

    fn remove_schedule(&self, id: u64) -> StoreFuture<'_, Option<ScheduleRow>> {
        self.schedule_row(ScheduleOp::Remove(id))
    }

    fn fire_schedule<'a>(&'a self, session_id: &'a str, firing: Firing) -> StoreFuture<'a, Fired> {
        Box::pin(async move {
            let op = ScheduleOp::Fire(session_id.to_string(), firing);
            match self.call(move |tx| Op::Schedule(op, tx)).await? {
                ScheduleDone::Fired(f) => Ok(f),
                ScheduleDone::Row(_) => Ok(Fired::Stale),
            }
        })
    }
}

impl SqliteStore {
    /// Runs a schedule write that answers with a row.
    fn schedule_row(&self, op: ScheduleOp) -> StoreFuture<'_, Option<ScheduleRow>> {
        Box::pin(async move {
            match self.call(move |tx| Op::Schedule(op, tx)).await? {
                ScheduleDone::Row(r) => Ok(r),
                ScheduleDone::Fired(_) => Ok(None),
            }
        })
    }
}
