//! The request table: one definition per method tying its name, its params type
//! and its result type, and one per notification tying its name to its params.
//!
//! The daemon decodes params and encodes results through these definitions and a
//! client encodes params and decodes results through the same ones, so the two
//! cannot disagree on a shape without the compiler (or a snapshot test) noticing.
//! `docs/protocol.md` describes each message.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::answer::{AnswerParams, AnswerResult};
use super::envelope::{Notification, Request};
use super::limits::KEY_PARAM;
use super::mcp_auth::{
    LoginFinishParams, LoginFinishResult, LoginStartParams, LoginStartResult, LogoutParams,
    LogoutResult,
};
use super::schedule::{ScheduleAddParams, ScheduleInfo, ScheduleListParams, ScheduleRef};
use super::tools_types::{
    PromptGetParams, PromptGetResult, PromptsParams, PromptsResult, ToolServerInfo, ToolsParams,
};
use super::types::{
    ApprovalRule, AttachParams, AttachResult, BudgetParams, CancelInputParams, CancelInputResult,
    CompactParams, CompactResult, CreateParams, DecideParams, DecideResult, Empty, ForkParams,
    HelloParams, HelloResult, InterruptResult, KillResult, LiveParams, LogsParams, LogsResult,
    RuleRemoveParams, RuleRemoveResult, SearchParams, SearchResult, SendParams, SendResult,
    SessionClosedParams, SessionInfo, SessionRef, SessionsChangedParams, SessionsUpdatedParams,
    StopResult, SubscribeParams, WaitAnyParams, WaitAnyResult, WaitParams, WaitResult,
};
use super::types::{MoveParams, MoveResult};

/// A request method: its name on the wire, what it takes and what it returns.
pub trait Method {
    /// The `method` member of the request.
    const NAME: &'static str;
    /// It changes something, so it accepts a request key ([`KEY_PARAM`]).
    const MUTATING: bool;
    /// The `params` object.
    type Params: Serialize + DeserializeOwned;
    /// The `result` of a successful response.
    type Result: Serialize + DeserializeOwned;

    /// This method's request with a numeric id.
    fn request(id: u64, params: &Self::Params) -> Result<Request, serde_json::Error> {
        Request::new(id, Self::NAME, params)
    }

    /// Reads this method's params; absent params (`null`) read as `{}`.
    fn params(params: Value) -> Result<Self::Params, serde_json::Error> {
        let params = if params.is_null() {
            Value::Object(Default::default())
        } else {
            params
        };
        serde_json::from_value(params)
    }

    /// Reads this method's result; an absent result reads as `null`.
    fn result(result: Option<Value>) -> Result<Self::Result, serde_json::Error> {
        serde_json::from_value(result.unwrap_or(Value::Null))
    }
}

/// A notification the daemon pushes: its name on the wire and its params.
pub trait NotificationMethod {
    /// The `method` member of the notification.
    const NAME: &'static str;
    /// The `params` object.
    type Params: Serialize + DeserializeOwned;

    /// This notification with `params`.
    fn notification(params: &Self::Params) -> Result<Notification, serde_json::Error> {
        Notification::new(Self::NAME, params)
    }

    /// The params of `n` when it is this notification; `None` when it is another.
    fn params_of(n: &Notification) -> Option<Result<Self::Params, serde_json::Error>> {
        (n.method == Self::NAME).then(|| Self::Params::deserialize(&n.params))
    }
}

/// What the table knows of a method without its types, for code that has only
/// the name (a request read off the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// The method name.
    pub name: &'static str,
    /// See [`Method::MUTATING`].
    pub mutating: bool,
}

/// Declares the request methods: a zero-sized type per method, its [`Method`]
/// impl, its name as a string constant, and the [`METHODS`] list.
macro_rules! methods {
    ($(
        $(#[$doc:meta])*
        $ty:ident, $konst:ident = $name:literal, $params:ty => $result:ty, mutating: $mutating:literal;
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
            pub struct $ty;

            impl Method for $ty {
                const NAME: &'static str = $name;
                const MUTATING: bool = $mutating;
                type Params = $params;
                type Result = $result;
            }

            #[doc = concat!("`", $name, "`, for code that matches on a method's name.")]
            pub const $konst: &str = <$ty as Method>::NAME;
        )*

        /// Every request method, in the order of `docs/protocol.md`.
        pub const METHODS: &[MethodInfo] = &[
            $(MethodInfo { name: <$ty as Method>::NAME, mutating: <$ty as Method>::MUTATING }),*
        ];
    };
}

/// Declares the notifications: a zero-sized type each, its [`NotificationMethod`]
/// impl and its name as a string constant.
macro_rules! notifications {
    ($(
        $(#[$doc:meta])*
        $ty:ident, $konst:ident = $name:literal, $params:ty;
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
            pub struct $ty;

            impl NotificationMethod for $ty {
                const NAME: &'static str = $name;
                type Params = $params;
            }

            #[doc = concat!("`", $name, "`, for code that matches on a notification's name.")]
            pub const $konst: &str = <$ty as NotificationMethod>::NAME;
        )*
    };
}

methods! {
    /// Handshake; must be first.
    Hello, HELLO = "hello", HelloParams => HelloResult, mutating: false;
    /// Daemon status.
    DaemonStatus, DAEMON_STATUS = "daemon.status", Empty => super::types::DaemonStatus, mutating: false;
    /// Graceful shutdown.
    DaemonStop, DAEMON_STOP = "daemon.stop", Empty => StopResult, mutating: true;
    /// Create a session.
    SessionCreate, SESSION_CREATE = "session.create", CreateParams => SessionInfo, mutating: true;
    /// List sessions.
    SessionList, SESSION_LIST = "session.list", super::list_view::ListParams => Vec<SessionInfo>, mutating: false;
    /// List sessions, then get `sessions.updated` (or, with `deltas`, `sessions.changed`)
    /// whenever the list changes.
    SessionsSubscribe, SESSIONS_SUBSCRIBE = "sessions.subscribe", SubscribeParams => Vec<SessionInfo>, mutating: false;
    /// One session's info.
    SessionGet, SESSION_GET = "session.get", SessionRef => SessionInfo, mutating: false;
    /// Send a message.
    SessionSend, SESSION_SEND = "session.send", SendParams => SendResult, mutating: true;
    /// Interrupt the running turn.
    SessionInterrupt, SESSION_INTERRUPT = "session.interrupt", SessionRef => InterruptResult, mutating: true;
    /// Approve pending tool calls.
    SessionApprove, SESSION_APPROVE = "session.approve", DecideParams => DecideResult, mutating: true;
    /// Deny pending tool calls.
    SessionDeny, SESSION_DENY = "session.deny", DecideParams => DecideResult, mutating: true;
    /// Wait until the session settles.
    SessionWait, SESSION_WAIT = "session.wait", WaitParams => WaitResult, mutating: false;
    /// Read stored events.
    SessionLogs, SESSION_LOGS = "session.logs", LogsParams => LogsResult, mutating: false;
    /// Attach: a page of events, then live notifications.
    SessionAttach, SESSION_ATTACH = "session.attach", AttachParams => AttachResult, mutating: false;
    /// Stop live notifications for a session.
    SessionDetach, SESSION_DETACH = "session.detach", SessionRef => Empty, mutating: false;
    /// Stop and delete a session.
    SessionKill, SESSION_KILL = "session.kill", SessionRef => KillResult, mutating: true;
    /// Tool servers and their state.
    ToolsList, TOOLS_LIST = "tools.list", ToolsParams => Vec<ToolServerInfo>, mutating: false;
    /// Compact a session's context now.
    SessionCompact, SESSION_COMPACT = "session.compact", CompactParams => CompactResult, mutating: true;
    /// A new session with another's history up to a seq.
    SessionFork, SESSION_FORK = "session.fork", ForkParams => SessionInfo, mutating: true;
    /// Set or clear a session's budget; returns once a session stopped on it is going again.
    SessionBudget, SESSION_BUDGET = "session.budget", BudgetParams => SessionInfo, mutating: true;
    /// The "always allow" rules that apply to a session: its own and its project's.
    SessionRules, SESSION_RULES = "session.rules", SessionRef => Vec<ApprovalRule>, mutating: false;
    /// Remove an "always allow" rule that applies to a session.
    SessionRuleRemove, SESSION_RULE_REMOVE = "session.rule_remove", RuleRemoveParams => RuleRemoveResult, mutating: true;
    /// Wait until any session needs a person (issue 11).
    SessionsWaitAny, SESSIONS_WAIT_ANY = "sessions.wait_any", WaitAnyParams => WaitAnyResult, mutating: false;
    /// Search a session's whole stored log (issue 11).
    SessionSearch, SESSION_SEARCH = "session.search", SearchParams => SearchResult, mutating: false;
    /// Cancel a queued input the agent has not taken yet (issue 11).
    SessionCancelInput, SESSION_CANCEL_INPUT = "session.cancel_input", CancelInputParams => CancelInputResult, mutating: true;
    /// Answer a tool server's question (issue 14): accept with values, decline or cancel.
    SessionAnswer, SESSION_ANSWER = "session.answer", AnswerParams => AnswerResult, mutating: true;
    /// The prompts of the tool servers (issue 14).
    PromptsList, PROMPTS_LIST = "prompts.list", PromptsParams => PromptsResult, mutating: false;
    /// One prompt expanded into a message's text (issue 14).
    PromptsGet, PROMPTS_GET = "prompts.get", PromptGetParams => PromptGetResult, mutating: false;
    /// Begin an OAuth login for an HTTP tool server: the URL to open (issue 14).
    McpLoginStart, MCP_LOGIN_START = "mcp.login_start", LoginStartParams => LoginStartResult, mutating: true;
    /// Finish it with the code the redirect carried; the daemon keeps the tokens (issue 14).
    McpLoginFinish, MCP_LOGIN_FINISH = "mcp.login_finish", LoginFinishParams => LoginFinishResult, mutating: true;
    /// Forget an HTTP tool server's tokens (issue 14).
    McpLogout, MCP_LOGOUT = "mcp.logout", LogoutParams => LogoutResult, mutating: true;
    /// Add a schedule or file trigger to a session (issue 15).
    ScheduleAdd, SCHEDULE_ADD = "schedule.add", ScheduleAddParams => ScheduleInfo, mutating: true;
    /// The schedules of every session, or of one.
    ScheduleList, SCHEDULE_LIST = "schedule.list", ScheduleListParams => Vec<ScheduleInfo>, mutating: false;
    /// Remove a schedule; returns it as it was.
    ScheduleRemove, SCHEDULE_REMOVE = "schedule.remove", ScheduleRef => ScheduleInfo, mutating: true;
    /// Pause a schedule: it does not fire until resumed.
    SchedulePause, SCHEDULE_PAUSE = "schedule.pause", ScheduleRef => ScheduleInfo, mutating: true;
    /// Resume a paused schedule: it fires next at its rule's next time from now.
    ScheduleResume, SCHEDULE_RESUME = "schedule.resume", ScheduleRef => ScheduleInfo, mutating: true;
    /// Hand a session to another node of the fleet at its next step boundary (issue 16).
    SessionMove, SESSION_MOVE = "session.move", MoveParams => MoveResult, mutating: true;
}

notifications! {
    /// Live activity of an attached session.
    SessionLive, SESSION_LIVE = "session.live", LiveParams;
    /// An attached session was killed; its feed ends.
    SessionClosed, SESSION_CLOSED = "session.closed", SessionClosedParams;
    /// The session list changed: the whole list.
    SessionsUpdated, SESSIONS_UPDATED = "sessions.updated", SessionsUpdatedParams;
    /// The session list changed: only what changed (`sessions.subscribe` with `deltas`).
    SessionsChanged, SESSIONS_CHANGED = "sessions.changed", SessionsChangedParams;
    /// The daemon is shutting down.
    DaemonShutdown, DAEMON_SHUTDOWN = "daemon.shutdown", Empty;
}

/// True for the methods that change something and so accept [`KEY_PARAM`].
pub fn is_mutating(method: &str) -> bool {
    METHODS.iter().any(|m| m.mutating && m.name == method)
}

/// `params` as a JSON object with [`KEY_PARAM`] set to `key`. Params that do not
/// serialise are an error, never an empty value.
pub fn with_key(params: impl Serialize, key: &str) -> Result<Value, serde_json::Error> {
    let mut v = serde_json::to_value(params)?;
    if !v.is_object() {
        v = Value::Object(Default::default());
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert(KEY_PARAM.into(), Value::from(key));
    }
    Ok(v)
}
