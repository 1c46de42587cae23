//! The seam: what the daemon asks of a store. The SQLite store
//! (`SqliteStore`, in `sqlite/`) implements it; a second store (PostgreSQL for
//! fleets) implements the same trait and is chosen where the daemon opens its
//! store. Callers hold an `Arc<dyn Store>`.
//!
//! What every implementation promises, because the sessions rely on it:
//! - a write is durable when its future resolves `Ok` (persist, then publish);
//! - each call is atomic: a batch's events, the inputs it consumes, its usage and
//!   a request key stored with an effect commit together or not at all;
//! - reads of a session's events are the contiguous run its `last_seq` promises,
//!   or [`StoreError::Damaged`], never a silently short page (see
//!   [`super::seqs::check_run`]).

use std::future::Future;
use std::pin::Pin;

use tether_shared::rules::ApprovalRule;
use tether_shared::{Delivery, Event};

use super::error::StoreError;
use super::lease::{Grant, Lease};
use super::types::{
    Batch, Fired, Firing, Health, IndexEntry, KeyRecord, NewRule, QueuedInput, ScheduleRow,
    ScheduleUpdate, SearchHit, SessionRow,
};
use crate::os::procs::ProcessIdentity;

/// What a store call returns: a boxed future, so the trait stays usable as
/// `dyn Store`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A store of sessions, their event logs, their queued inputs, the process
/// groups their tool calls started, request keys and "always allow" rules.
pub trait Store: Send + Sync {
    /// What is known to be wrong with the store (damage, a failing disk).
    fn health(&self) -> Health;

    /// What a person does about a damaged store (shown by `daemon status`).
    fn damage_help(&self) -> String;

    /// Which store this is, for `daemon status` and the log: `sqlite PATH` or
    /// `postgres URL` (never with a password).
    fn describe(&self) -> String;

    /// Makes what is stored whole by itself, for a clean stop (best effort).
    fn checkpoint(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// Creates a session with its first events and, in the same transaction, an
    /// optional first input (text, delivery) and a request key. Returns the
    /// input's id when there was one.
    fn create_session_keyed(
        &self,
        row: SessionRow,
        events: Vec<Event>,
        prompt: Option<(String, Delivery)>,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'_, Option<i64>>;

    /// Creates `row` as a fork of session `from_id` in one transaction: `head`
    /// (its seq 1), then copies of `from_id`'s events with `2 <= seq <= at`, with
    /// their seqs and bodies as stored, then `tail` (seqs after `at`), and a request
    /// key. The copied run must be whole: a source killed meanwhile
    /// ([`StoreError::SessionGone`]) or with a gap ([`StoreError::Damaged`]) stores
    /// nothing. The source is only read.
    fn fork_session_keyed<'a>(
        &'a self,
        from_id: &'a str,
        at: u64,
        row: SessionRow,
        head: Event,
        tail: Vec<Event>,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'a, ()>;

    /// Appends a batch atomically.
    fn append<'a>(&'a self, session_id: &'a str, batch: Batch) -> StoreFuture<'a, ()>;

    /// Sets a session's budget (issue 10); durable when this returns.
    fn set_budget<'a>(
        &'a self,
        session_id: &'a str,
        budget: tether_shared::event::Budget,
    ) -> StoreFuture<'a, ()>;

    /// Stores a queued input and, in the same transaction, a request key whose
    /// result gets the new input's id as `input_id`; durable when this returns.
    fn add_input_keyed<'a>(
        &'a self,
        session_id: &'a str,
        text: &'a str,
        delivery: Delivery,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'a, i64>;

    /// Deletes a session with its events, inputs and process groups and, in the
    /// same transaction, stores a request key.
    fn delete_session_keyed<'a>(
        &'a self,
        session_id: &'a str,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'a, ()>;

    /// Stores a request key, or replaces the result of a stored one (its age stays).
    fn put_key(&self, key: KeyRecord) -> StoreFuture<'_, ()>;

    /// The stored request key, unless it is older than `ttl_s` seconds.
    fn key<'a>(&'a self, key: &'a str, ttl_s: u64) -> StoreFuture<'a, Option<KeyRecord>>;

    /// Forgets request keys older than `ttl_s` seconds; returns how many.
    fn prune_keys(&self, ttl_s: u64) -> StoreFuture<'_, i64>;

    /// Records a process group a tool call started (see [`crate::os::procs`]).
    fn add_process<'a>(
        &'a self,
        session_id: &'a str,
        call_id: &'a str,
        id: ProcessIdentity,
    ) -> StoreFuture<'a, ()>;

    /// Forgets the process groups of one call, or of every call of the session.
    fn remove_processes<'a>(
        &'a self,
        session_id: &'a str,
        call_id: Option<&'a str>,
    ) -> StoreFuture<'a, ()>;

    /// The process groups recorded for a session's running calls.
    fn processes<'a>(
        &'a self,
        session_id: &'a str,
    ) -> StoreFuture<'a, Vec<(String, ProcessIdentity)>>;

    /// Every session with what a list shows of it and whether it has work,
    /// in no particular order (issue 13): what the daemon reads at start instead of
    /// every session's log.
    fn index(&self) -> StoreFuture<'_, Vec<IndexEntry>>;

    /// Keeps `list` until the store next opens (issue 13): the last write of a
    /// clean stop. Any write after it drops it. The default keeps nothing (a
    /// store that fleets share: a node's list is not its own to keep).
    fn keep_list(&self, list: super::ListSnapshot) -> StoreFuture<'_, ()> {
        let _ = list;
        Box::pin(async { Ok(()) })
    }

    /// The list kept at the last clean stop, if nothing was written since:
    /// taken when the store opened (and dropped from it), so it is had once.
    fn kept_list(&self) -> StoreFuture<'_, Option<super::ListSnapshot>> {
        Box::pin(async { Ok(None) })
    }

    /// One session's entry of [`Store::index`], `None` when it is gone: what a
    /// node of a fleet reads when another node stored events of a session it
    /// does not run. The default reads the whole index.
    fn index_of<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<IndexEntry>> {
        Box::pin(async move {
            Ok(self
                .index()
                .await?
                .into_iter()
                .find(|e| e.row.id == session_id))
        })
    }

    /// One session's row, if it has one.
    fn session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Option<SessionRow>>;

    /// Events with `since < seq < before`, at most `limit`: the oldest ones when
    /// `newest` is false, the newest ones when it is true. Always in seq order.
    /// A page that is not the contiguous run the session's `last_seq` promises is
    /// an error ([`StoreError::Damaged`]), never served as if complete.
    fn events<'a>(
        &'a self,
        session_id: &'a str,
        since: u64,
        before: u64,
        limit: usize,
        newest: bool,
    ) -> StoreFuture<'a, Vec<Event>>;

    /// The events of the session's last turn (from its last `turn_started`), or the
    /// last state event when no turn was ever started: what recovery needs.
    fn last_turn<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<Event>>;

    /// What [`Store::last_turn`] returns, as the log stood at `at`: the events of
    /// the last turn started at or before `at`, up to `at` (or the last state event
    /// up to `at` when no turn had started). What a fork at `at` must close.
    fn turn_at<'a>(&'a self, session_id: &'a str, at: u64) -> StoreFuture<'a, Vec<Event>>;

    /// The seq of the session's last event of type `type_name` (`context_compacted`,
    /// ...), if it has one: found through the index, not by reading the log.
    fn last_seq_of<'a>(
        &'a self,
        session_id: &'a str,
        type_name: &'a str,
    ) -> StoreFuture<'a, Option<u64>>;

    /// The queued inputs of a session, oldest first.
    fn inputs<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Vec<QueuedInput>>;

    /// The session's searchable events (see `store/search.rs`) that hold every
    /// word of `query` (`every_word`) or any of them, best match first, at most
    /// `limit`. Only this session's events: another session's are never found.
    /// Quotes and operators in `query` are plain text; a query without words
    /// finds nothing.
    fn search_events<'a>(
        &'a self,
        session_id: &'a str,
        query: &'a str,
        every_word: bool,
        limit: usize,
    ) -> StoreFuture<'a, Vec<SearchHit>>;

    /// What a person's search of the session's log finds (issue 11): the
    /// searchable events holding every word of `query`, the last word also as
    /// the start of a longer one, newest first, at most `limit`. The same rules
    /// as [`Store::search_events`] otherwise.
    fn search_newest<'a>(
        &'a self,
        session_id: &'a str,
        query: &'a str,
        limit: usize,
    ) -> StoreFuture<'a, Vec<SearchHit>>;

    /// Stores an "always allow" rule (issue 11) and returns it with its id, which
    /// is never reused; durable when this returns.
    fn add_rule(&self, rule: NewRule) -> StoreFuture<'_, ApprovalRule>;

    /// The rules that apply to a session working in `project`: the `session`
    /// rules of `session_id` and the `project` rules of `project`, oldest first.
    fn rules<'a>(
        &'a self,
        session_id: &'a str,
        project: &'a str,
    ) -> StoreFuture<'a, Vec<ApprovalRule>>;

    /// Removes rule `id` if it is one of [`Store::rules`]`(session_id, project)`;
    /// returns it, or `None` when no such rule applies there. Deleting a session
    /// removes its `session` rules with it.
    fn remove_rule<'a>(
        &'a self,
        id: u64,
        session_id: &'a str,
        project: &'a str,
    ) -> StoreFuture<'a, Option<ApprovalRule>>;

    /// The session's event `seq`, if its log holds one.
    fn event<'a>(&'a self, session_id: &'a str, seq: u64) -> StoreFuture<'a, Option<Event>>;

    // Schedules and file triggers (issue 15). Deleting a session
    // ([`Store::delete_session_keyed`]) deletes its schedules in the same
    // transaction.

    /// Stores a new schedule of `row.session_id` and, in the same transaction,
    /// a request key whose result gets the new schedule's id as `id`; returns
    /// the schedule with the id the store gave it (`row.id` is ignored; an id
    /// is never reused, like a rule's). A session that is not stored is
    /// [`StoreError::SessionGone`].
    fn add_schedule(
        &self,
        row: ScheduleRow,
        key: Option<KeyRecord>,
    ) -> StoreFuture<'_, ScheduleRow>;

    /// Every schedule of every session, oldest first.
    fn schedules(&self) -> StoreFuture<'_, Vec<ScheduleRow>>;

    /// Sets schedule `id`'s `paused` and `next_run` and, when `update.last` is
    /// set, its `last_run` and `last_outcome`; returns the row after, or `None`
    /// when there is no such schedule.
    fn update_schedule(
        &self,
        id: u64,
        update: ScheduleUpdate,
    ) -> StoreFuture<'_, Option<ScheduleRow>>;

    /// Deletes schedule `id`; returns it as it was, or `None` when there was
    /// none. An input it sent that still waits stays queued.
    fn remove_schedule(&self, id: u64) -> StoreFuture<'_, Option<ScheduleRow>>;

    /// Stores one firing of a schedule of `session_id` in ONE transaction:
    /// - [`Fired::Stale`], storing nothing, when the schedule is gone, is
    ///   another session's, is paused, or `firing.due` is set and differs from
    ///   its stored `next_run` (it fired already);
    /// - else [`Fired::Pending`] when an input of this schedule is still queued
    ///   (`QueuedInput::schedule`): no input is added; `next_run` becomes
    ///   `firing.next_run`, `last_run` `firing.at`, `last_outcome` `pending`;
    /// - else [`Fired::Delivered`]: a queued input (`firing.text`,
    ///   `firing.delivery`, `schedule` = the schedule's id) is added and the
    ///   schedule's `next_run`, `last_run`, `last_outcome` (`delivered`) and
    ///   `fired` (+1) are set, all committed together.
    ///
    /// So a crash before the commit leaves the firing due (it runs again at
    /// start), and one after it leaves the input queued and the firing done.
    fn fire_schedule<'a>(&'a self, session_id: &'a str, firing: Firing) -> StoreFuture<'a, Fired>;
    // ---- Leases (issue 16; see `lease.rs`) ---------------------------------
    //
    // The defaults are a store of one machine: no other node exists, this one
    // owns every session, and nothing is fenced. A shared store overrides all.

    /// True for a store many daemons share (a fleet): leases are real.
    fn shared(&self) -> bool {
        false
    }

    /// Takes session `session_id`'s lease for `node` for `lease_ms`, if it is
    /// free and meant for `node` (no target, or `node`), expired, or already
    /// `node`'s; the fence is bumped and kept by the store for its writes of
    /// that session (see `lease.rs`). `portable` is stored with a new row.
    fn lease_acquire<'a>(
        &'a self,
        _session_id: &'a str,
        _node: &'a str,
        _lease_ms: u64,
    ) -> StoreFuture<'a, Grant> {
        Box::pin(async { Ok(Grant::Held(0)) })
    }

    /// Renews every lease `node` holds for `lease_ms` more; returns the ids of
    /// the sessions it still holds (one missing was taken over or handed on).
    fn lease_renew<'a>(&'a self, _node: &'a str, _lease_ms: u64) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Gives up `node`'s lease of `session_id` (every lease of `node` when
    /// `None`: a graceful stop), at once; to `to` when given (a move), which
    /// then has `lease_ms` to take it before any other node may.
    fn lease_release<'a>(
        &'a self,
        _session_id: Option<&'a str>,
        _node: &'a str,
        _to: Option<&'a str>,
        _lease_ms: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Writes the lease row of a session just created: held by `node` when it
    /// is the creating node, else free with `node` as its target.
    fn lease_place<'a>(
        &'a self,
        _session_id: &'a str,
        _node: &'a str,
        _creator: &'a str,
        _portable: bool,
        _lease_ms: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Asks the owner of `session_id` to hand it to `to` at its next step
    /// boundary; the owner sees it at its next renewal.
    fn lease_move<'a>(&'a self, _session_id: &'a str, _to: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    /// The nodes whose heartbeat was seen within `within_ms` (none for a store
    /// of one machine).
    fn live_nodes(&self, _within_ms: u64) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The queued inputs of every session `node` holds, by session, oldest
    /// first: what its heartbeat picks up of the inputs other nodes stored
    /// (empty for a store of one machine, where every input comes through the
    /// session's own actor).
    fn inputs_of_node<'a>(&'a self, _node: &'a str) -> StoreFuture<'a, Vec<(String, QueuedInput)>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Every lease row (empty for a store of one machine).
    fn leases(&self) -> StoreFuture<'_, Vec<Lease>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The wake-ups of a shared store's writes (`LISTEN/NOTIFY`), on a fleet;
    /// `None` where there are none (one machine: nothing else writes).
    fn fleet_wakes(&self) -> Option<tokio::sync::broadcast::Receiver<super::lease::FleetWake>> {
        None
    }

    // ---- Relayed requests (issue 16; see `relay.rs`) -----------------------
    //
    // A store of one machine has no other node to relay to: its defaults
    // refuse, and nothing calls them there (every session is this node's).

    /// Stores request `method` (`params` as JSON text) from `node` for the
    /// owner of `session_id`, waking the owner; the row's id.
    fn relay_put<'a>(
        &'a self,
        _session_id: &'a str,
        _node: &'a str,
        _method: &'a str,
        _params: &'a str,
    ) -> StoreFuture<'a, i64> {
        Box::pin(async {
            Err(StoreError::Database(
                "this store has no fleet to relay to".into(),
            ))
        })
    }

    /// Claims every unclaimed request for the sessions `node` holds.
    fn relay_claim<'a>(&'a self, _node: &'a str) -> StoreFuture<'a, Vec<super::relay::Relayed>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Stores the reply of request `id` (JSON text), waking the asking node.
    fn relay_answer<'a>(&'a self, _id: i64, _reply: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Where request `id` stands.
    fn relay_state(&self, _id: i64) -> StoreFuture<'_, super::relay::RelayState> {
        Box::pin(async { Ok(super::relay::RelayState::Gone) })
    }

    /// Removes request `id` if nobody claimed it; true when it did.
    fn relay_withdraw(&self, _id: i64) -> StoreFuture<'_, bool> {
        Box::pin(async { Ok(true) })
    }

    /// Removes request `id` once its reply was read, and stale rows.
    fn relay_drop(&self, _id: i64) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}
