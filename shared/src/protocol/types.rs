//! The params and result objects of every method and notification. Which method
//! takes and returns which is written once, in `requests.rs`.

use serde::{Deserialize, Deserializer, Serialize};

pub use crate::event::QueuedInput;
use crate::event::{Budget, Delivery, Event, Live, SessionState, Usage};
pub use crate::rules::{ApprovalRule, RuleScope};

/// No params, or an empty result: `{}` on the wire. Whatever a client sends as
/// the params of a method that takes none is ignored, as it always was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Empty {}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer)?;
        Ok(Empty {})
    }
}

/// `hello` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloParams {
    /// The client's protocol version.
    pub protocol_version: u32,
    /// A free-form client name, for the log.
    #[serde(default)]
    pub client: String,
}

/// `hello` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloResult {
    /// The daemon's protocol version.
    pub protocol_version: u32,
    /// The daemon's package version.
    pub daemon_version: String,
    /// The daemon's process id.
    pub pid: u32,
    /// The home directory of the user the daemon runs as: where a client on
    /// another machine (`tether --host`) starts sessions when it names no
    /// directory, and what `~` means in one it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
}

/// `daemon.status` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// Process id.
    pub pid: u32,
    /// Package version.
    pub version: String,
    /// Socket path.
    pub socket: String,
    /// State directory.
    pub state_dir: String,
    /// Config directory.
    pub config_dir: String,
    /// Number of sessions.
    pub sessions: usize,
    /// How many of them are awake (have an actor); the others sleep until
    /// used (issue 13). Absent from a daemon older than that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awake_sessions: Option<usize>,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Connected clients.
    #[serde(default)]
    pub clients: usize,
    /// The current config error, if `config.toml` does not parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
    /// Log lines that could not be written (a full or failing state disk) since
    /// the daemon started.
    #[serde(default)]
    pub log_dropped: u64,
    /// Damage found in the store (`tether.db`), one line each; empty when healthy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub store_damage: Vec<String>,
    /// What to do about `store_damage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_damage_help: Option<String>,
    /// The last store write that failed (a full disk, say), until one succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_error: Option<String>,
    /// Which store the daemon uses (issue 16): `sqlite PATH` or `postgres URL`
    /// (never with a password). Absent from a daemon older than that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// This daemon's node of the fleet (issue 16): present only on a fleet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Its `[fleet] lease_s` (issue 16), with `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_s: Option<f64>,
}

/// `daemon.stop` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopResult {
    /// Always true: the daemon is stopping.
    pub stopping: bool,
}

/// Names a session by name or id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRef {
    /// A session's name or id.
    pub session: String,
}

/// `session.create` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateParams {
    /// Unique name; generated when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Working directory (absolute).
    pub cwd: String,
    /// `provider/model`; the config's default when absent.
    #[serde(default)]
    pub model: Option<String>,
    /// System prompt.
    #[serde(default)]
    pub instructions: Option<String>,
    /// A first message, delivered as if sent right after creation.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Token budget (issue 10); `[limits] session_max_tokens` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Cost budget in US dollars (issue 10); `[limits] session_max_cost_usd` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// MCP servers of this session's own (issue 12; `tether acp` passes an
    /// editor's): started for it alone, beside those of `tools.toml` and of its
    /// directory's `.mcp.json`, kept with the session and stopped with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<SessionServer>,
    /// Give the session a git worktree of the repository holding `cwd`, on a
    /// new branch `tether/NAME`, as its working directory (issue 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<super::WorktreeParams>,
    /// The fleet node to run the session on (issue 16); the daemon asked when
    /// absent. A node other than the daemon's own needs a shared store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Any node may take the session over when its owner dies, not only one
    /// where its working directory exists (issue 16).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub portable: bool,
}

/// `session.move` params (issue 16): hand a session to another node of the
/// fleet at its next step boundary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveParams {
    /// Name or id.
    pub session: String,
    /// The node to run it from now on.
    pub node: String,
}

/// `session.move` result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveResult {
    /// The session's id.
    pub id: String,
    /// The node that ran it when the move was asked.
    pub from: String,
    /// The node it is handed to.
    pub to: String,
    /// True when it already runs there (nothing to hand over).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub already: bool,
}

/// An MCP server that one session gets for itself (`session.create`'s
/// `mcp_servers`): a stdio server (`command`, `args`, `env`) or a streamable
/// HTTP one (`url`, `headers`), the fields of a `.mcp.json` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionServer {
    /// The server's name, the prefix of its tools' names (letters, digits, `_`, `-`).
    pub name: String,
    /// The program of a stdio server (run in the session's working directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Variables added to its environment.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub env: std::collections::BTreeMap<String, String>,
    /// The endpoint of a streamable HTTP server (`http://` or `https://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers sent with each of its requests.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// `session.budget` params: sets one limit, or clears both (`none`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetParams {
    /// Name or id.
    pub session: String,
    /// The new token budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// The new cost budget in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// Clears both limits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub none: bool,
}

/// A session summary, as `ls --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Stable id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Current state.
    pub state: SessionState,
    /// `provider/model`.
    pub model: String,
    /// Working directory.
    pub cwd: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC of the last event.
    pub updated_at: String,
    /// Call ids waiting for approval.
    pub pending_approvals: Vec<String>,
    /// Inputs sent but not yet taken by the agent.
    #[serde(default)]
    pub queued_inputs: usize,
    /// Clients attached now.
    #[serde(default)]
    pub attached_clients: usize,
    /// The seq of the last stored event.
    #[serde(default)]
    pub last_seq: u64,
    /// Tokens used by this session so far.
    #[serde(default)]
    pub usage: Usage,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Why the last turn failed, when `state` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Tokens of the context the model sees now: the last request's reported
    /// prompt size plus an estimate of what was added since (issue 9); 0 before
    /// the session is first loaded.
    #[serde(default)]
    pub context_tokens: u64,
    /// The model's context window in tokens, as tether knows it (config, the
    /// built-in table, the endpoint, or what an overflow taught it).
    #[serde(default)]
    pub context_window: u64,
    /// The session's budget (issue 10); `{}` when it has none.
    #[serde(default)]
    pub budget: Budget,
    /// What the session's model calls cost so far in US dollars, by the price
    /// table (issue 10; an estimate where the table's price is built in).
    #[serde(default)]
    pub cost_usd: f64,
    /// Where `cost_usd`'s prices come from: the config, tether's built-in
    /// estimates, or nowhere (a model with no known price costs 0).
    #[serde(default)]
    pub cost_basis: CostBasis,
    /// When the session started needing a person (its state became
    /// `awaiting_approval`, `failed` or `budget_exhausted`), RFC 3339 UTC; absent
    /// in the other states (issue 11). The session that has waited longest has
    /// the oldest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<String>,
    /// Questions and sampling requests from tool servers waiting for a person
    /// (issue 14): their request ids. Like `pending_approvals`, they put the
    /// session in `awaiting_approval`; `session.answer` answers a question,
    /// `session.approve`/`session.deny` decide a sampling request. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_inputs: Vec<String>,
    /// The session's git worktree, when it was created with one (issue 15):
    /// `cwd` is its `path`. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<super::WorktreeInfo>,
    /// The fleet node that owns (runs) the session (issue 16): present only
    /// when the daemon stores in a shared PostgreSQL (`[store] url`); `None`
    /// also for a session no node holds right now (its owner died and no node
    /// took it over yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Any node of the fleet may take the session over (`new --portable`),
    /// not only one where its working directory exists (issue 16).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub portable: bool,
}

/// Where a session's prices come from (issue 10).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostBasis {
    /// `[models."provider/model"]` prices in the config.
    Config,
    /// tether's built-in price list for well-known models: an estimate, not
    /// what the provider bills.
    Estimate,
    /// No price is known for the model (a local one, say): `cost_usd` stays 0.
    #[default]
    #[serde(other)]
    Unknown,
}

/// `session.compact` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompactParams {
    /// Name or id.
    pub session: String,
    /// What the summary should keep or focus on, in addition to the usual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// `session.compact` result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompactResult {
    /// False when there was nothing to compact.
    pub compacted: bool,
    /// Estimated tokens of the context before.
    pub tokens_before: u64,
    /// Estimated tokens of the context after.
    pub tokens_after: u64,
    /// What happened, for a person.
    pub message: String,
}

/// `session.fork` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ForkParams {
    /// The session to fork (name or id).
    pub session: String,
    /// The new session's name.
    pub name: String,
    /// The last seq the fork keeps; the session's last seq when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
}

/// `session.send` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendParams {
    /// Name or id.
    pub session: String,
    /// The message.
    pub text: String,
    /// How to deliver it.
    #[serde(default)]
    pub delivery: Delivery,
}

/// `session.send` result: the input is durable when this arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendResult {
    /// The stored input's id.
    pub input_id: i64,
    /// The session's state after taking the input.
    pub state: SessionState,
}

/// `session.interrupt` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterruptResult {
    /// False when no turn was running.
    pub interrupted: bool,
}

/// `session.approve` / `session.deny` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecideParams {
    /// Name or id.
    pub session: String,
    /// One call; absent with `all = false` means "the only pending call".
    #[serde(default)]
    pub call_id: Option<String>,
    /// Every pending call.
    #[serde(default)]
    pub all: bool,
    /// Why (for denials; told to the model).
    #[serde(default)]
    pub reason: Option<String>,
    /// `session.approve` only (issue 11): also add an "always allow" rule, stored
    /// before the decision; the other calls of the step that wait and match it are
    /// approved by it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always: Option<AlwaysAllow>,
}

/// The rule `session.approve` adds with `always`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlwaysAllow {
    /// This session only, or every session working in its project.
    pub scope: RuleScope,
    /// The tool; absent means the tool of the call(s) approved, which must then
    /// be one tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// For `shell`: the words a command must start with (`"cargo test"`); absent
    /// allows every call of the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// `session.approve` / `session.deny` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecideResult {
    /// The call ids decided, those the new rule approved included.
    pub decided: Vec<String>,
    /// The rule added (`always`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<ApprovalRule>,
    /// Of `decided`, the calls approved by the new rule rather than named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_rule: Vec<String>,
}

/// `session.rule_remove` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRemoveParams {
    /// Name or id of a session the rule applies to.
    pub session: String,
    /// The rule's id.
    pub id: u64,
}

/// `session.rule_remove` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRemoveResult {
    /// The rule removed.
    pub removed: ApprovalRule,
}

/// `session.wait` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitParams {
    /// Name or id.
    pub session: String,
    /// Give up after this many seconds; absent waits forever.
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

/// `session.wait` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitResult {
    /// The state reached (or the state at the timeout).
    pub state: SessionState,
    /// True when the timeout passed first.
    pub timed_out: bool,
}

/// `sessions.wait_any` params (issue 11).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitAnyParams {
    /// Give up after this many seconds; absent waits forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
}

/// `sessions.wait_any` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitAnyResult {
    /// The session that needs a person (the one that has waited longest);
    /// absent when the timeout passed first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<WaitingSession>,
    /// True when the timeout passed first.
    pub timed_out: bool,
}

/// A session that needs a person, as `tether wait --any --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitingSession {
    /// The session's id.
    pub session: String,
    /// Its name.
    pub name: String,
    /// Its state: `awaiting_approval`, `failed` or `budget_exhausted`.
    pub state: SessionState,
    /// The notification event of that state (`awaiting_approval`, `turn_failed`,
    /// `budget_exhausted`), as `[notify] on` names it.
    pub event: crate::notify::NotifyEvent,
    /// The calls waiting for approval (empty in the other states).
    #[serde(default)]
    pub call_ids: Vec<String>,
    /// When it started needing a person, RFC 3339 UTC.
    pub since: String,
}

/// `session.logs` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogsParams {
    /// Name or id.
    pub session: String,
    /// Only events with `seq > since`.
    #[serde(default)]
    pub since: Option<u64>,
    /// Only events with `seq < before` (paging backwards: the newest `limit` of them).
    #[serde(default)]
    pub before: Option<u64>,
    /// At most this many events (default 1000, max 10000).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `session.logs` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogsResult {
    /// Events in seq order.
    pub events: Vec<Event>,
    /// The seq of the session's last stored event.
    pub last_seq: u64,
    /// True when more events match than were returned.
    pub more: bool,
}

/// `session.attach` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttachParams {
    /// Name or id.
    pub session: String,
    /// The client has every event up to this seq; absent means it has none.
    #[serde(default)]
    pub from_seq: Option<u64>,
    /// At most this many events in the reply (the newest; default 200).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// This client may not send, interrupt or decide.
    #[serde(default)]
    pub read_only: bool,
}

/// The part of an answer that is streaming right now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartialState {
    /// Assistant text streamed so far in the current model call.
    pub assistant_text: String,
}

/// `session.attach` result. Live notifications for events after `last_seq` follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachResult {
    /// The session.
    pub info: SessionInfo,
    /// Events after `from_seq` up to `last_seq`: the newest `page_size` of them.
    pub events: Vec<Event>,
    /// True when older events after `from_seq` were left out (page with `session.logs`).
    pub truncated: bool,
    /// The last stored seq at the moment of attaching.
    pub last_seq: u64,
    /// What is streaming right now.
    pub partial: PartialState,
    /// Inputs that `send` acknowledged and the agent has not taken yet, oldest
    /// first (issue 11). Changes arrive as `queued` live messages.
    #[serde(default)]
    pub queued: Vec<QueuedInput>,
}

/// `session.search` params (issue 11).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchParams {
    /// Name or id.
    pub session: String,
    /// Words to look for; an event matches when it holds every word, the last
    /// word also as the start of a longer one.
    pub query: String,
    /// At most this many hits (default 200, clamped to 1..1000).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One event a `session.search` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The event's seq.
    pub seq: u64,
    /// Its time.
    pub ts: String,
    /// Its type: `user_message`, `assistant_message`, `tool_call` or `tool_result`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tool, for a tool call or result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Its text around the first match.
    pub excerpt: String,
}

/// `session.search` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The hits, newest first.
    pub hits: Vec<SearchHit>,
    /// True when more events match than `limit` let through (the oldest were left out).
    pub more: bool,
}

/// `session.cancel_input` params (issue 11).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CancelInputParams {
    /// Name or id.
    pub session: String,
    /// The input, as `session.send` returned its id.
    pub input_id: i64,
}

/// `session.cancel_input` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelInputResult {
    /// True when the input was still queued and is now gone; false when it was
    /// not queued any more (the agent took it, or it never was), and nothing changed.
    pub cancelled: bool,
}

/// `session.live` notification params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveParams {
    /// The session's id.
    pub session_id: String,
    /// What happened.
    #[serde(flatten)]
    pub live: Live,
}

/// `sessions.updated` notification params: the whole list, as `session.list`
/// returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsUpdatedParams {
    /// Every session.
    pub sessions: Vec<SessionInfo>,
}

/// `sessions.subscribe` params (issue 13). Absent, `null`, `{}` or anything
/// but `{"deltas": true}` subscribes to whole lists, as before: whatever a
/// client sent as this method's params was ignored until then, so it still is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SubscribeParams {
    /// After the reply, send `sessions.changed` with only what changed instead
    /// of the whole list in `sessions.updated`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deltas: bool,
}

impl<'de> Deserialize<'de> for SubscribeParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(deserializer)?;
        Ok(SubscribeParams {
            deltas: v.get("deltas").and_then(serde_json::Value::as_bool) == Some(true),
        })
    }
}

/// `sessions.changed` notification params (issue 13): what changed in the
/// session list since the last `sessions.changed` or `sessions.updated`, for a
/// client that subscribed with `{"deltas": true}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionsChangedParams {
    /// The sessions created or changed, each with its latest summary: put each
    /// in place of the one with its id, or add it.
    #[serde(default)]
    pub sessions: Vec<SessionInfo>,
    /// The ids of sessions that are gone.
    #[serde(default)]
    pub removed: Vec<String>,
}

/// `session.closed` notification params: an attached session was killed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionClosedParams {
    /// The session's id.
    pub session_id: String,
    /// The session's name.
    pub name: String,
    /// Why, when the session did not end but moved to another node of the
    /// fleet (issue 16): "session NAME moved to node NODE; attach again".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The node it moved to (issue 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// `session.kill` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillResult {
    /// The deleted session's id.
    pub id: String,
    /// What was done with the session's git worktree, when it had one (issue 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<super::WorktreeOutcome>,
}
