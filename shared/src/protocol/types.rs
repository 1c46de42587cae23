//! The wire protocol: JSON-RPC 2.0, one message per line, over the local socket.
//!
//! A client's first request must be `hello` with [`PROTOCOL_VERSION`]. After that it
//! may send any request below; the daemon answers each by id and streams session
//! activity as `session.live` notifications. See `docs/protocol.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{Delivery, Event, Live, SessionState, Usage};

/// The protocol version. Within a version, changes are additive only.
pub const PROTOCOL_VERSION: u32 = 1;

/// Method names. Requests use these as `method`.
pub mod method {
    /// Handshake; must be first.
    pub const HELLO: &str = "hello";
    /// Daemon status.
    pub const DAEMON_STATUS: &str = "daemon.status";
    /// Graceful shutdown.
    pub const DAEMON_STOP: &str = "daemon.stop";
    /// Create a session.
    pub const SESSION_CREATE: &str = "session.create";
    /// List sessions.
    pub const SESSION_LIST: &str = "session.list";
    /// List sessions, then get `sessions.updated` whenever the list changes.
    pub const SESSIONS_SUBSCRIBE: &str = "sessions.subscribe";
    /// Notification: the session list changed (params: `{"sessions": [...]}`).
    pub const SESSIONS_UPDATED: &str = "sessions.updated";
    /// One session's info.
    pub const SESSION_GET: &str = "session.get";
    /// Send a message.
    pub const SESSION_SEND: &str = "session.send";
    /// Interrupt the running turn.
    pub const SESSION_INTERRUPT: &str = "session.interrupt";
    /// Approve pending tool calls.
    pub const SESSION_APPROVE: &str = "session.approve";
    /// Deny pending tool calls.
    pub const SESSION_DENY: &str = "session.deny";
    /// Wait until the session settles.
    pub const SESSION_WAIT: &str = "session.wait";
    /// Read stored events.
    pub const SESSION_LOGS: &str = "session.logs";
    /// Attach: a page of events, then live notifications.
    pub const SESSION_ATTACH: &str = "session.attach";
    /// Stop live notifications for a session.
    pub const SESSION_DETACH: &str = "session.detach";
    /// Stop and delete a session.
    pub const SESSION_KILL: &str = "session.kill";
    /// Tool servers and their state.
    pub const TOOLS_LIST: &str = "tools.list";
    /// Notification: live activity of an attached session.
    pub const SESSION_LIVE: &str = "session.live";
    /// Notification: the daemon is shutting down.
    pub const DAEMON_SHUTDOWN: &str = "daemon.shutdown";
    /// Notification: an attached session was killed; its feed ends.
    pub const SESSION_CLOSED: &str = "session.closed";
}

/// Stable error codes carried in JSON-RPC errors.
pub mod code {
    /// The line was not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Valid JSON but not a JSON-RPC request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Params did not match the method.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Something failed inside the daemon; details are in its log.
    pub const INTERNAL: i64 = -32603;
    /// No session has that name or id.
    pub const SESSION_NOT_FOUND: i64 = -32001;
    /// A session with that name exists.
    pub const NAME_TAKEN: i64 = -32002;
    /// No provider can serve the requested model.
    pub const NO_PROVIDER: i64 = -32003;
    /// A config file does not parse.
    pub const CONFIG_ERROR: i64 = -32004;
    /// The frame exceeded the size cap and was discarded.
    pub const FRAME_TOO_LARGE: i64 = -32005;
    /// The client speaks another protocol version.
    pub const PROTOCOL_MISMATCH: i64 = -32006;
    /// Nothing is pending with that call id.
    pub const NO_SUCH_APPROVAL: i64 = -32007;
    /// The first request must be `hello`.
    pub const HANDSHAKE_REQUIRED: i64 = -32008;
    /// This client attached read-only.
    pub const READ_ONLY: i64 = -32009;
    /// The daemon is shutting down.
    pub const SHUTTING_DOWN: i64 = -32010;
    /// The request was well-formed but its values are not acceptable.
    pub const BAD_ARGUMENT: i64 = -32011;
    /// The connecting user is not the daemon's owner.
    pub const PERMISSION_DENIED: i64 = -32012;
    /// A request key was already used by a request with another method or params.
    pub const KEY_REUSED: i64 = -32013;
    /// The store cannot read or write (a full disk, an I/O error, a damaged
    /// `tether.db`); the message says which and what to do.
    pub const STORAGE: i64 = -32020;
}

/// The optional params member that makes a mutating request idempotent: a
/// client-chosen string (1 to [`MAX_KEY_LEN`] bytes). The daemon remembers the
/// first successful result under it for [`KEY_TTL_S`] seconds, durably; a request
/// with the same key, method and params is answered with that result and does
/// nothing again (even across a daemon restart). The same key with another method
/// or params is refused with [`code::KEY_REUSED`].
pub const KEY_PARAM: &str = "key";
/// The longest request key accepted.
pub const MAX_KEY_LEN: usize = 200;
/// How long the daemon remembers a request key, in seconds (a day).
pub const KEY_TTL_S: u64 = 24 * 60 * 60;

/// True for the methods that change something and so accept [`KEY_PARAM`].
pub fn is_mutating(method: &str) -> bool {
    matches!(
        method,
        method::SESSION_CREATE
            | method::SESSION_SEND
            | method::SESSION_INTERRUPT
            | method::SESSION_APPROVE
            | method::SESSION_DENY
            | method::SESSION_KILL
            | method::DAEMON_STOP
    )
}

/// `params` as a JSON object with [`KEY_PARAM`] set to `key`.
pub fn with_key(params: impl Serialize, key: &str) -> Value {
    let mut v = serde_json::to_value(params).unwrap_or(Value::Null);
    if !v.is_object() {
        v = Value::Object(Default::default());
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert(KEY_PARAM.into(), Value::from(key));
    }
    v
}

/// The largest frame the daemon accepts from a client, newline excluded.
pub const MAX_REQUEST_FRAME: usize = 4 * 1024 * 1024;
/// The largest frame a client accepts from the daemon.
pub const MAX_RESPONSE_FRAME: usize = 64 * 1024 * 1024;

/// A JSON-RPC request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Always "2.0".
    pub jsonrpc: String,
    /// The request id, echoed in the response.
    pub id: Value,
    /// The method.
    pub method: String,
    /// The params (an object; absent means `{}`).
    #[serde(default)]
    pub params: Value,
}

impl Request {
    /// A request with a numeric id.
    pub fn new(id: u64, method: &str, params: impl Serialize) -> Self {
        Request {
            jsonrpc: "2.0".into(),
            id: Value::from(id),
            method: method.into(),
            params: serde_json::to_value(params).unwrap_or(Value::Null),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct RpcError {
    /// A stable code from [`code`].
    pub code: i64,
    /// One line for a person: what failed and what to do.
    pub message: String,
    /// Extra structured detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with a code and message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }
}

/// A JSON-RPC response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Always "2.0".
    pub jsonrpc: String,
    /// The request's id (null if it could not be read).
    pub id: Value,
    /// The result, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    /// A success.
    pub fn ok(id: Value, result: Value) -> Self {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: Some(result),
            error: None,
        }
    }
    /// A failure.
    pub fn err(id: Value, error: RpcError) -> Self {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: None,
            error: Some(error),
        }
    }
}

/// A JSON-RPC notification (no id, no response).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Always "2.0".
    pub jsonrpc: String,
    /// The method.
    pub method: String,
    /// The params.
    #[serde(default)]
    pub params: Value,
}

impl Notification {
    /// A notification.
    pub fn new(method: &str, params: impl Serialize) -> Self {
        Notification {
            jsonrpc: "2.0".into(),
            method: method.into(),
            params: serde_json::to_value(params).unwrap_or(Value::Null),
        }
    }
}

/// What a client reads from the daemon: a response or a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerMessage {
    /// The answer to a request.
    Response(Response),
    /// Something the daemon pushes.
    Notification(Notification),
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
}

/// `session.approve` / `session.deny` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecideResult {
    /// The call ids decided.
    pub decided: Vec<String>,
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

/// `session.kill` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillResult {
    /// The deleted session's id.
    pub id: String,
}

/// `tools.list` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolsParams {
    /// Only the servers this session (name or id) sees; all when absent.
    #[serde(default)]
    pub session: Option<String>,
}

/// Status of a tool server, as `tools --json` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerStatus {
    /// Being started.
    Starting,
    /// Serving.
    Running,
    /// Could not start or keeps crashing.
    Failed,
    /// Stopped on purpose.
    Stopped,
    /// A status this client does not know.
    #[serde(other)]
    Unknown,
}

/// One tool server, as `tools --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolServerInfo {
    /// Server name (`builtin` for the builtin tools).
    pub name: String,
    /// The file that declares it (`builtin` for builtins).
    pub source: String,
    /// Its state.
    pub status: ServerStatus,
    /// The tool names it offers, as the model sees them.
    pub tools: Vec<String>,
    /// The last error, if any.
    pub error: Option<String>,
    /// Tools whose model name is not simply `<server>__<tool>`: original name ->
    /// the name in `tools` (characters replaced, cut at 64, or a suffix that
    /// keeps it apart from another tool of the server). Absent when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub renamed: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(v: T) {
        let s = serde_json::to_string(&v).unwrap();
        let back: T = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v, "round trip of {s}");
    }

    #[test]
    fn messages_round_trip() {
        round_trip(Request::new(
            1,
            method::HELLO,
            HelloParams {
                protocol_version: 1,
                client: "t".into(),
            },
        ));
        round_trip(Response::ok(Value::from(1), serde_json::json!({"a": 1})));
        round_trip(Response::err(
            Value::Null,
            RpcError::new(code::PARSE_ERROR, "bad"),
        ));
        round_trip(Notification::new(
            method::SESSION_LIVE,
            LiveParams {
                session_id: "s".into(),
                live: Live::AssistantDelta { text: "hi".into() },
            },
        ));
        round_trip(CreateParams {
            cwd: "/".into(),
            ..Default::default()
        });
        round_trip(DecideParams {
            session: "a".into(),
            all: true,
            ..Default::default()
        });
        round_trip(AttachParams {
            session: "a".into(),
            from_seq: Some(3),
            ..Default::default()
        });
        round_trip(LogsParams {
            session: "a".into(),
            since: Some(1),
            ..Default::default()
        });
        round_trip(SendParams {
            session: "a".into(),
            text: "x".into(),
            delivery: Delivery::Steer,
        });
        round_trip(WaitParams {
            session: "a".into(),
            timeout_s: Some(1.5),
        });
    }

    #[test]
    fn a_key_is_added_to_the_params_of_mutating_methods() {
        let v = with_key(
            SessionRef {
                session: "a".into(),
            },
            "k1",
        );
        assert_eq!(v, serde_json::json!({"session": "a", "key": "k1"}));
        // The key is additive: the typed params still read.
        let back: SessionRef = serde_json::from_value(v).unwrap();
        assert_eq!(back.session, "a");
        assert!(is_mutating(method::SESSION_SEND) && is_mutating(method::SESSION_KILL));
        assert!(!is_mutating(method::SESSION_LOGS) && !is_mutating(method::SESSION_WAIT));
    }

    #[test]
    fn server_message_distinguishes_response_and_notification() {
        let r: ServerMessage =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#).unwrap();
        assert!(matches!(r, ServerMessage::Response(_)));
        let n: ServerMessage =
            serde_json::from_str(r#"{"jsonrpc":"2.0","method":"session.live","params":{}}"#)
                .unwrap();
        assert!(matches!(n, ServerMessage::Notification(_)));
    }

    #[test]
    fn live_event_notification_is_flat() {
        let p = LiveParams {
            session_id: "s1".into(),
            live: Live::Event {
                event: Event {
                    seq: 4,
                    ts: "t".into(),
                    kind: EventKind::TurnCompleted,
                },
            },
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["kind"], "event");
        assert_eq!(v["event"]["type"], "turn_completed");
    }
}
