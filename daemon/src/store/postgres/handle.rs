//! [`PgStore`]: the [`Store`] in a PostgreSQL database, opened through its
//! migrations, with the writer task for every write and a pool of connections
//! for the reads.
//!
//! Each read runs in a read-only `REPEATABLE READ` transaction, so a read that
//! checks a log against its session's recorded last seq sees one snapshot.
//! Every call has a time limit: a server that stops answering gives its
//! callers a clear error ([`StoreError::Unreachable`]) rather than a hang.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tether_shared::rules::ApprovalRule;
use tether_shared::{Delivery, Event};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::IsolationLevel;

use super::error::{HealthCell, PgError, classify, redact, what_to_do};
use super::schedules::{ScheduleDone, ScheduleOp};
use super::tls::{STORE_CA_ENV, Tls};
use super::writer::{Op, Writer};
use super::writes::{Done, Fork, Write};
use super::{migrations, reads, schedules, search, summary};
use crate::os::procs::ProcessIdentity;
use crate::store::api::{Store, StoreFuture};
use crate::store::error::StoreError;
use crate::store::types::{
    Batch, Fired, Firing, Health, IndexEntry, KeyRecord, NewRule, QueuedInput, ScheduleRow,
    ScheduleUpdate, SearchHit, SessionRow, unix_now,
};

/// The most connections one daemon holds: the writer's and the readers'.
const POOL_SIZE: usize = 10;
/// How long a read may take before its caller is told the server does not answer.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection attempt may take, unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A cloneable handle on the PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    ops: mpsc::UnboundedSender<Op>,
    pub(super) pool: Pool,
    /// The URL without its password.
    store: String,
    health: HealthCell,
    /// The fence of each session whose lease this node acquired (`lease.rs`).
    pub(super) fences: super::fence::Fences,
    /// The fleet's wake-ups; the `LISTEN` connection starts with the first
    /// [`crate::store::Store::fleet_wakes`] (`listen.rs`).
    wakes: tokio::sync::broadcast::Sender<crate::store::FleetWake>,
    listen: Arc<std::sync::Mutex<Option<(tokio_postgres::Config, Tls)>>>,
}

/// Runs `$body` (which reads through `$tx`) in a read-only snapshot on a pooled
/// connection, within [`READ_TIMEOUT`], and classifies its failure.
macro_rules! read {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let store = $store;
        Box::pin(async move {
            let run = async {
                let mut client = store.pool.get().await?;
                let $tx = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await?;
                let out = $body.await?;
                $tx.commit().await?;
                Ok::<_, PgError>(out)
            };
            match tokio::time::timeout(READ_TIMEOUT, run).await {
                Ok(out) => out.map_err(|e| store.classify(e)),
                Err(_) => Err(store.classify(PgError::TimedOut("a read"))),
            }
        })
    }};
}

impl PgStore {
    /// Connects to the database at `url` (a `postgres://` URL or a libpq
    /// `key=value` string), brings its schema to this build's version (see
    /// `migrations.rs`) and starts the writer task.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Database(format!("the store URL is not a PostgreSQL URL ({e})"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("tether");
        }
        let store = redact(&config);
        let health = HealthCell::default();
        let ca = std::env::var_os(STORE_CA_ENV).filter(|v| !v.is_empty());
        let tls = Tls::new(ca.as_deref().map(std::path::Path::new))
            .map_err(|e| StoreError::Database(format!("the store's TLS: {e}")))?;
        let listen = Arc::new(std::sync::Mutex::new(Some((config.clone(), tls.clone()))));
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(5)))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Database(format!("cannot set up the connection pool: {e}")))?;
        let migrated = async {
            let mut client = pool.get().await?;
            migrations::migrate(&mut client).await
        };
        match tokio::time::timeout(READ_TIMEOUT, migrated).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(classify(&store, &health, e)),
            Err(_) => {
                return Err(classify(
                    &store,
                    &health,
                    PgError::TimedOut("the migrations"),
                ));
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = Writer {
            pool: pool.clone(),
            store: store.clone(),
            health: health.clone(),
        };
        // The writer ends when the last handle is dropped (its channel closes),
        // like the SQLite store's writer thread; it owns nothing else.
        tokio::spawn(writer.run(rx));
        tracing::info!(store = %store, "PostgreSQL store open");
        Ok(PgStore {
            ops: tx,
            pool,
            store,
            health,
            fences: Default::default(),
            wakes: tokio::sync::broadcast::channel(1024).0,
            listen,
        })
    }

    pub(super) fn classify(&self, e: PgError) -> StoreError {
        classify(&self.store, &self.health, e)
    }

    /// Sends a write to the writer (when first polled) and waits for its
    /// commit; `take` turns what it gave back into the call's type.
    fn call<T: Send + 'static>(
        &self,
        write: Write,
        take: fn(Done) -> Option<T>,
    ) -> StoreFuture<'_, T> {
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            self.ops
                .send(Op { write, reply })
                .map_err(|_| StoreError::Closed)?;
            let done = rx.await.map_err(|_| StoreError::Closed)??;
            take(done)
                .ok_or_else(|| StoreError::Database("the writer gave an unexpected answer".into()))
        })
    }
}

impl PgStore {
    /// Runs a schedule write that answers with a row.
    fn schedule_row(&self, op: ScheduleOp) -> StoreFuture<'_, Option<ScheduleRow>> {
        self.call(Write::Schedule(op), |d| match d {
            Done::Schedule(ScheduleDone::Row(r)) => Some(r.map(|r| *r)),
            _ => None,
        })
    }
}

fn unit(d: Done) -> Option<()> {
    matches!(d, Done::Unit).then_some(())
}

impl Store for PgStore {
    fn health(&self) -> Health {
        self.health.get()
    }

    fn damage_help(&self) -> String {
        what_to_do(&self.store)
    }

    fn describe(&self) -> String {
        format!("postgres {}", self.store)
    }

    /// Nothing to fold: every commit is the server's to keep.
    fn checkpoint(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }

    fn create_session_keyed(
        &self,
        row: SessionRow,
        events: Vec<Event>,
        prompt: Option<(String, Delivery)>,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'_, Option<i64>> {
        let prompt = prompt.map(|(t, d)| (t, d, crate::util::now_rfc3339()));
        let write = Write::Create {
            row: Box::new(row),
            events,
            prompt,
            key,
        };
        self.call(write, |d| match d {
            Done::MaybeId(id) => Some(id),
            _ => None,
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
        let fork = Fork {
            from_id: from_id.to_string(),
            at,
            row,
            head,
            tail,
            key,
        };
        self.call(Write::Fork(Box::new(fork)), unit)
    }

    fn append<'a>(&'a self, session_id: &'a str, batch: Batch) -> StoreFuture<'a, ()> {
        let write = self.fenced(session_id, Write::Append(session_id.to_string(), batch));
        self.call(write, unit)
    }

    fn set_budget<'a>(
        &'a self,
        session_id: &'a str,
        budget: tether_shared::event::Budget,
    ) -> StoreFuture<'a, ()> {
        let write = self.fenced(session_id, Write::SetBudget(session_id.to_string(), budget));
        self.call(write, unit)
    }

    fn add_input_keyed<'a>(
        &'a self,
        session_id: &'a str,
        text: &'a str,
        delivery: Delivery,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'a, i64> {
        let write = Write::AddInput {
            session_id: session_id.to_string(),
            text: text.to_string(),
            delivery,
            created_at: crate::util::now_rfc3339(),
            key,
        };
        // Not fenced: any node may queue an input; the owner picks it up.
        self.call(write, |d| match d {
            Done::Id(id) => Some(id),
            _ => None,
        })
    }

    fn delete_session_keyed<'a>(
        &'a self,
        session_id: &'a str,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'a, ()> {
        let write = self.fenced(session_id, Write::Delete(session_id.to_string(), key));
        Box::pin(async move {
            self.call(write, unit).await?;
            self.forget(session_id);
            Ok(())
        })
    }

    fn put_key(&self, key: KeyRecord) -> StoreFuture<'_, ()> {
        self.call(Write::PutKey(key), unit)
    }

    fn key<'a>(&'a self, key: &'a str, ttl_s: u64) -> StoreFuture<'a, Option<KeyRecord>> {
        let oldest = unix_now().saturating_sub(ttl_s as i64);
        read!(self, |tx| reads::key(&tx, key, oldest))
    }

    fn prune_keys(&self, ttl_s: u64) -> StoreFuture<'_, i64> {
        let before = unix_now().saturating_sub(ttl_s as i64);
        self.call(Write::PruneKeys(before), |d| match d {
            Done::Id(n) => Some(n),
            _ => None,
        })
    }

    fn add_process<'a>(
        &'a self,
        session_id: &'a str,
        call_id: &'a str,
        id: ProcessIdentity,
    ) -> StoreFuture<'a, ()> {
        let write = Write::AddProcess(session_id.to_string(), call_id.to_string(), id);
        let write = self.fenced(session_id, write);
        self.call(write, unit)
    }

    fn remove_processes<'a>(
        &'a self,
        session_id: &'a str,
        call_id: Option<&'a str>,
    ) -> StoreFuture<'a, ()> {
        let write = Write::RemoveProcesses(session_id.to_string(), call_id.map(str::to_string));
        let write = self.fenced(session_id, write);
        self.call(write, unit)
    }

    fn processes<'a>(
        &'a self,
        session_id: &'a str,
    ) -> StoreFuture<'a, Vec<(String, ProcessIdentity)>> {
        read!(self, |tx| reads::processes(&tx, session_id))
    }

    fn index(&self) -> StoreFuture<'_, Vec<IndexEntry>> {
        read!(self, |tx| summary::index(&tx, None))
    }

    fn index_of<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<IndexEntry>> {
        read!(self, |tx| summary::index_one(&tx, session_id))
    }

    fn session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<SessionRow>> {
        read!(self, |tx| reads::session(&tx, session_id))
    }

    fn events<'a>(
        &'a self,
        session_id: &'a str,
        since: u64,
        before: u64,
        limit: usize,
        newest: bool,
    ) -> StoreFuture<'a, Vec<Event>> {
        read!(self, |tx| reads::events(
            &tx, session_id, since, before, limit, newest
        ))
    }

    fn last_turn<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<Event>> {
        read!(self, |tx| reads::turn_at(&tx, session_id, u64::MAX))
    }

    fn turn_at<'a>(&'a self, session_id: &'a str, at: u64) -> StoreFuture<'a, Vec<Event>> {
        read!(self, |tx| reads::turn_at(&tx, session_id, at))
    }

    fn last_seq_of<'a>(
        &'a self,
        session_id: &'a str,
        type_name: &'a str,
    ) -> StoreFuture<'a, Option<u64>> {
        read!(self, |tx| reads::last_seq_of(&tx, session_id, type_name))
    }

    fn inputs<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<QueuedInput>> {
        read!(self, |tx| reads::inputs(&tx, session_id))
    }

    fn search_events<'a>(
        &'a self,
        session_id: &'a str,
        query: &'a str,
        every_word: bool,
        limit: usize,
    ) -> StoreFuture<'a, Vec<SearchHit>> {
        read!(self, |tx| search::search(
            &tx, session_id, query, every_word, limit
        ))
    }

    fn search_newest<'a>(
        &'a self,
        session_id: &'a str,
        query: &'a str,
        limit: usize,
    ) -> StoreFuture<'a, Vec<SearchHit>> {
        read!(self, |tx| search::search_newest(
            &tx, session_id, query, limit
        ))
    }

    fn add_rule(&self, rule: NewRule) -> StoreFuture<'_, ApprovalRule> {
        self.call(Write::AddRule(rule), |d| match d {
            Done::Rule(r) => Some(r),
            _ => None,
        })
    }

    fn rules<'a>(
        &'a self,
        session_id: &'a str,
        project: &'a str,
    ) -> StoreFuture<'a, Vec<ApprovalRule>> {
        read!(self, |tx| reads::rules(&tx, session_id, project))
    }

    fn remove_rule<'a>(
        &'a self,
        id: u64,
        session_id: &'a str,
        project: &'a str,
    ) -> StoreFuture<'a, Option<ApprovalRule>> {
        let write = Write::RemoveRule(id, session_id.to_string(), project.to_string());
        self.call(write, |d| match d {
            Done::MaybeRule(r) => Some(r),
            _ => None,
        })
    }

    fn event<'a>(&'a self, session_id: &'a str, seq: u64) -> StoreFuture<'a, Option<Event>> {
        read!(self, |tx| reads::event(&tx, session_id, seq))
    }

    // ---- Schedules (issue 15): `schedules.rs` -------------------------------

    fn add_schedule(
        &self,
        row: ScheduleRow,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'_, ScheduleRow> {
        Box::pin(async move {
            let session = row.session_id.clone();
            // Not fenced: like an input, any node may add a schedule; the
            // session's owner fires it.
            self.schedule_row(ScheduleOp::Add(Box::new(row), key))
                .await?
                .ok_or(StoreError::SessionGone(session))
        })
    }

    fn schedules(&self) -> StoreFuture<'_, Vec<ScheduleRow>> {
        read!(self, |tx| schedules::all(&tx))
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
        // Fenced: a firing queues an input for the session's owner to take,
        // so a node that lost the lease stores none.
        let op = ScheduleOp::Fire(session_id.to_string(), firing);
        let write = self.fenced(session_id, Write::Schedule(op));
        self.call(write, |d| match d {
            Done::Schedule(ScheduleDone::Fired(f)) => Some(f),
            _ => None,
        })
    }

    // ---- Leases (issue 16): `lease.rs` ----------------------------------------

    fn shared(&self) -> bool {
        true
    }

    fn lease_acquire<'a>(
        &'a self,
        session_id: &'a str,
        node: &'a str,
        lease_ms: u64,
    ) -> StoreFuture<'a, crate::store::Grant> {
        Box::pin(self.acquire(session_id, node, lease_ms))
    }

    fn lease_renew<'a>(&'a self, node: &'a str, lease_ms: u64) -> StoreFuture<'a, Vec<String>> {
        Box::pin(self.renew(node, lease_ms))
    }

    fn lease_release<'a>(
        &'a self,
        session_id: Option<&'a str>,
        node: &'a str,
        to: Option<&'a str>,
        lease_ms: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.release(session_id, node, to, lease_ms))
    }

    fn lease_place<'a>(
        &'a self,
        session_id: &'a str,
        node: &'a str,
        creator: &'a str,
        portable: bool,
        lease_ms: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.place(session_id, node, creator, portable, lease_ms))
    }

    fn lease_move<'a>(&'a self, session_id: &'a str, to: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.move_to(session_id, to))
    }

    fn live_nodes(&self, within_ms: u64) -> StoreFuture<'_, Vec<String>> {
        Box::pin(self.nodes(within_ms))
    }

    fn fleet_wakes(&self) -> Option<tokio::sync::broadcast::Receiver<crate::store::FleetWake>> {
        let rx = self.wakes.subscribe();
        let start = self.listen.lock().ok().and_then(|mut l| l.take());
        if let Some((config, tls)) = start {
            tokio::spawn(super::listen::run(config, tls, self.wakes.clone()));
        }
        Some(rx)
    }

    fn inputs_of_node<'a>(&'a self, node: &'a str) -> StoreFuture<'a, Vec<(String, QueuedInput)>> {
        Box::pin(self.inputs_of(node))
    }

    fn leases(&self) -> StoreFuture<'_, Vec<crate::store::Lease>> {
        Box::pin(self.list())
    }

    // ---- Relayed requests (issue 16): `relay.rs` -------------------------------

    fn relay_put<'a>(
        &'a self,
        session_id: &'a str,
        node: &'a str,
        method: &'a str,
        params: &'a str,
    ) -> StoreFuture<'a, i64> {
        Box::pin(self.relay_put_row(session_id, node, method, params))
    }

    fn relay_claim<'a>(&'a self, node: &'a str) -> StoreFuture<'a, Vec<crate::store::Relayed>> {
        Box::pin(self.relay_claim_rows(node))
    }

    fn relay_answer<'a>(&'a self, id: i64, reply: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.relay_answer_row(id, reply))
    }

    fn relay_state(&self, id: i64) -> StoreFuture<'_, crate::store::RelayState> {
        Box::pin(self.relay_state_of(id))
    }

    fn relay_withdraw(&self, id: i64) -> StoreFuture<'_, bool> {
        Box::pin(self.relay_withdraw_row(id))
    }

    fn relay_drop(&self, id: i64) -> StoreFuture<'_, ()> {
        Box::pin(self.relay_drop_row(id))
    }
}

#[cfg(test)]
mod tests {
    /// Nothing listens on port 1: the open fails at once, saying why.
    #[tokio::test]
    async fn a_store_that_cannot_be_reached_fails_to_open_at_once() {
        let t0 = std::time::Instant::now();
        let err = super::PgStore::open("postgres://ann:pw@127.0.0.1:1/none")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("cannot reach the PostgreSQL store postgres://ann@127.0.0.1:1/none"),
            "{err}"
        );
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t0.elapsed()
        );
    }
}
