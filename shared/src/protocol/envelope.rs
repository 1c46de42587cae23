//! The JSON-RPC 2.0 envelope: requests, responses, notifications and the error
//! object with its stable codes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// A compaction could not be done (the summary request failed).
    pub const COMPACTION_FAILED: i64 = -32014;
    /// No "always allow" rule with that id applies to the session (issue 11).
    pub const NO_SUCH_RULE: i64 = -32015;
    /// The store cannot read or write (a full disk, an I/O error, a damaged
    /// `tether.db`); the message says which and what to do.
    pub const STORAGE: i64 = -32020;
    /// An OAuth login for an HTTP tool server failed (discovery, registration,
    /// the token request), or names no such server (issue 14).
    pub const LOGIN_FAILED: i64 = -32021;
    /// No schedule has that id (issue 15).
    pub const NO_SUCH_SCHEDULE: i64 = -32030;
    /// The session runs on another node of the fleet, or moved to one (issue 16);
    /// the message names the node.
    pub const ELSEWHERE: i64 = -32022;
    /// A fleet request (`--node` elsewhere, `--portable`, `session.move`) to a
    /// daemon whose store is not shared (no `[store] url`) (issue 16).
    pub const NO_FLEET: i64 = -32023;
}

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
    /// A request with a numeric id. Params that do not serialise are an error,
    /// never an empty value.
    pub fn new(id: u64, method: &str, params: impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Request {
            jsonrpc: "2.0".into(),
            id: Value::from(id),
            method: method.into(),
            params: serde_json::to_value(params)?,
        })
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
    /// A notification. Params that do not serialise are an error, never an
    /// empty value.
    pub fn new(method: &str, params: impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Notification {
            jsonrpc: "2.0".into(),
            method: method.into(),
            params: serde_json::to_value(params)?,
        })
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
