//! The rows and batches every store reads and writes, and the health it reports:
//! plain data, the same whatever holds it.

use tether_shared::event::Budget;
use tether_shared::{Delivery, Event, Usage};

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
    /// Tokens used, every count of [`Usage`] summed.
    pub usage: Usage,
    /// What the model calls cost, in US dollars by the price table (issue 10).
    pub cost_usd: f64,
    /// The session's budget (issue 10).
    pub budget: Budget,
    /// The session's own MCP servers (issue 12), as `session.create` gave them.
    pub mcp_servers: Vec<tether_shared::protocol::SessionServer>,
    /// The git worktree made for the session (issue 15), if any: its `path` is `cwd`.
    pub worktree: Option<tether_shared::protocol::WorktreeInfo>,
}

/// The session list a daemon keeps from a clean stop to its next start (issue
/// 13): a `session.list` result, encoded, and what it was made for (the
/// daemon's build and the list's shape), to be served only to the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSnapshot {
    /// What made it and for which request: another key is never served.
    pub key: String,
    /// The result, as JSON.
    pub body: Vec<u8>,
}

/// A session as the start-up index gives it (issue 13): its row, what a list
/// shows of it, and whether it has work that needs its actor at once. Kept in
/// the `sessions` row by the store's writer, in the transaction of the events
/// that change it, so reading it never reads a log.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// The row.
    pub row: SessionRow,
    /// The state the log last recorded (`idle` when it recorded none).
    pub state: tether_shared::SessionState,
    /// When it recorded it (RFC 3339), if it did.
    pub state_at: Option<String>,
    /// The error of the last turn, when that turn failed.
    pub last_error: Option<String>,
    /// The log has a turn that started and did not end.
    pub turn_open: bool,
    /// Inputs queued for the agent.
    pub queued_inputs: usize,
    /// Process groups are recorded for its calls (left by a crash).
    pub processes: bool,
    /// The calls of its open step waiting for a person, as its log last
    /// recorded them: kept by a store a fleet shares (PostgreSQL), so a node
    /// that does not run the session lists them; empty on SQLite, where a
    /// session awaiting approval is always awake.
    pub pending_approvals: Vec<String>,
}

/// An "always allow" rule to store (issue 11); the store gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    /// Where it applies.
    pub scope: tether_shared::rules::RuleScope,
    /// The session of a `session` rule.
    pub session_id: Option<String>,
    /// The directory of a `project` rule.
    pub project: Option<String>,
    /// The tool it allows.
    pub tool: String,
    /// For `shell`: the words a command must start with.
    pub prefix: Option<String>,
    /// RFC 3339.
    pub created_at: String,
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
    /// The schedule that sent it (issue 15); its `user_message` then has
    /// delivery `schedule`.
    pub schedule: Option<u64>,
}

impl QueuedInput {
    /// An input a client sent (no schedule).
    pub fn sent(id: i64, text: String, delivery: Delivery) -> Self {
        QueuedInput {
            id,
            text,
            delivery,
            schedule: None,
        }
    }

    /// The delivery its `user_message` event records: `schedule` for one a
    /// schedule sent, else how it was sent.
    pub fn recorded_delivery(&self) -> Delivery {
        if self.schedule.is_some() {
            Delivery::Schedule
        } else {
            self.delivery
        }
    }
}

/// A schedule or file trigger of a session (issue 15), as stored. Times are
/// milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    /// Its id, given by the store and never reused.
    pub id: u64,
    /// The session it sends to.
    pub session_id: String,
    /// When it fires.
    pub rule: tether_shared::protocol::ScheduleRule,
    /// The zone of a cron rule (`None`: the daemon's local time).
    pub tz: Option<String>,
    /// The message each firing sends.
    pub text: String,
    /// `queue` or `steer`.
    pub delivery: Delivery,
    /// A firing missed while the daemon was down is dropped, not run once.
    pub skip_missed: bool,
    /// It does not fire until resumed.
    pub paused: bool,
    /// RFC 3339.
    pub created_at: String,
    /// When it is due next (`None`: paused, or a file trigger).
    pub next_run: Option<i64>,
    /// When it last fired.
    pub last_run: Option<i64>,
    /// What its last firing did (see `ScheduleInfo::last_outcome`).
    pub last_outcome: Option<String>,
    /// How many firings delivered a message.
    pub fired: u64,
}

/// A change of a schedule other than a firing: pausing, resuming, or a
/// firing that delivered nothing (missed and skipped, failed).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleUpdate {
    /// Paused or not.
    pub paused: bool,
    /// The new next run.
    pub next_run: Option<i64>,
    /// When set: the new last run and its outcome.
    pub last: Option<(i64, String)>,
}

/// One firing of a schedule, to store with its input in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The schedule.
    pub schedule_id: u64,
    /// The next run it was due at (`None` for a file trigger): the firing is
    /// stale, and stores nothing, unless the stored next run is still this.
    pub due: Option<i64>,
    /// When it fires.
    pub at: i64,
    /// Its next run after this firing.
    pub next_run: Option<i64>,
    /// The message (a file trigger's names the changed paths).
    pub text: String,
    /// `queue` or `steer`.
    pub delivery: Delivery,
}

/// What storing a [`Firing`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The input was stored, with this id.
    Delivered(i64),
    /// An input of this schedule still waited: none was added (at most one
    /// pending per schedule); the firing is recorded as `pending`.
    Pending,
    /// The schedule is gone, paused, or was due at another time (fired
    /// already): nothing was stored.
    Stale,
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
    /// US dollars to add to the session's cost.
    pub cost_usd: f64,
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

/// Unix seconds now: the clock request keys are stamped and aged by.
pub fn unix_now() -> i64 {
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

/// What is known to be wrong with the store; shared by the writer, the readers
/// and `daemon status`.
#[derive(Debug, Default, Clone)]
pub struct Health {
    /// Damage found (by a check or a failed read), one line each.
    pub damage: Vec<String>,
    /// The last write that failed, until a write succeeds again.
    pub write_error: Option<String>,
    /// Damage recorded in `store_damage`: every session's log may be incomplete.
    pub lost_commits: bool,
}

/// One event a search of a session's log found (see [`crate::store::Store::search_events`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The event's seq.
    pub seq: u64,
    /// When it was stored, RFC 3339.
    pub ts: String,
    /// Its type (`user_message`, `tool_result`, ...).
    pub kind: String,
    /// The tool, for a tool call or a tool result.
    pub tool: Option<String>,
    /// Its text around the first match (see `store/search.rs`).
    pub excerpt: String,
}
