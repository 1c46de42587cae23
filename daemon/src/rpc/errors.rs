//! Every wire error the RPC edge makes, in one place: the codes and texts a
//! client sees for a request it could not read, could not be served now, or
//! whose values are not acceptable, and the mapping of core failures (the store,
//! encoding) to [`RpcError`]. Typed core errors are mapped to wire errors here.

use std::fmt::Display;

use tether_shared::protocol::{MAX_KEY_LEN, MAX_REQUEST_FRAME, PROTOCOL_VERSION, RpcError, code};

use crate::session::SessionError;

/// Something failed inside the daemon; details are in its log.
pub fn internal(e: impl Display) -> RpcError {
    RpcError::new(code::INTERNAL, e.to_string())
}

/// A store read that failed (a damaged `tether.db`, an I/O error): the store's
/// message already names the file and what to do.
pub fn storage(e: impl Display) -> RpcError {
    RpcError::new(code::STORAGE, e.to_string())
}

/// The request keys could not be read from the store.
pub fn keys_unreadable(e: impl Display) -> RpcError {
    internal(format!("could not read request keys: {e}"))
}

/// A reply that does not serialise.
pub fn unencodable_reply(e: impl Display) -> RpcError {
    internal(format!("could not encode the reply: {e}"))
}

/// A request's params that do not serialise again (for its key).
pub fn unencodable_params(e: impl Display) -> RpcError {
    internal(format!("could not encode the request's params: {e}"))
}

/// A frame over [`MAX_REQUEST_FRAME`], discarded.
pub fn frame_too_large(len: usize) -> RpcError {
    RpcError::new(
        code::FRAME_TOO_LARGE,
        format!(
            "frame of {len} bytes exceeds the limit of {MAX_REQUEST_FRAME} bytes; it was discarded"
        ),
    )
}

/// A line that is not JSON.
pub fn parse_error(e: impl Display) -> RpcError {
    RpcError::new(code::PARSE_ERROR, format!("not valid JSON: {e}"))
}

/// JSON that is not a JSON-RPC 2.0 request.
pub fn invalid_request() -> RpcError {
    RpcError::new(
        code::INVALID_REQUEST,
        "not a JSON-RPC 2.0 request: need \"jsonrpc\": \"2.0\", \"id\" and \"method\"",
    )
}

/// A request before the handshake.
pub fn handshake_required() -> RpcError {
    RpcError::new(
        code::HANDSHAKE_REQUIRED,
        "the first request must be \"hello\" with protocol_version",
    )
}

/// A second `hello`.
pub fn already_said_hello() -> RpcError {
    RpcError::new(code::INVALID_REQUEST, "already said hello")
}

/// A client of another protocol version.
/// Its `data` says which version the daemon speaks, so a client can tell the
/// user which side to upgrade (a remote one especially).
pub fn protocol_mismatch(client: u32) -> RpcError {
    let mut e = RpcError::new(
        code::PROTOCOL_MISMATCH,
        format!(
            "protocol version mismatch: the client speaks {client}, the daemon speaks {PROTOCOL_VERSION}; \
             restart the daemon (`tether daemon stop`) so both are the same version"
        ),
    );
    e.data = Some(serde_json::json!({
        "protocol_version": PROTOCOL_VERSION,
        "daemon_version": env!("CARGO_PKG_VERSION"),
    }));
    e
}

/// `hello` params that do not read.
pub fn bad_hello(e: impl Display) -> RpcError {
    RpcError::new(code::INVALID_PARAMS, format!("bad hello params: {e}"))
}

/// Params that do not match the method.
pub fn invalid_params(e: impl Display) -> RpcError {
    RpcError::new(code::INVALID_PARAMS, format!("invalid params: {e}"))
}

/// A malformed request key.
pub fn bad_key() -> RpcError {
    RpcError::new(
        code::INVALID_PARAMS,
        format!("\"key\" must be a string of 1 to {MAX_KEY_LEN} bytes"),
    )
}

/// A request key already used for another request.
pub fn key_reused(key: &str, method: &str) -> RpcError {
    RpcError::new(
        code::KEY_REUSED,
        format!(
            "key {key:?} was already used for another request ({method}); use a new key for a new request"
        ),
    )
}

/// A method not in the table.
pub fn method_not_found(method: &str) -> RpcError {
    RpcError::new(code::METHOD_NOT_FOUND, format!("unknown method {method:?}"))
}

/// Any request but `daemon.status` once the daemon stops.
pub fn shutting_down() -> RpcError {
    RpcError::new(code::SHUTTING_DOWN, "the daemon is shutting down")
}

/// A change asked on a session this client attached to read-only.
pub fn read_only(name: &str) -> RpcError {
    RpcError::new(code::READ_ONLY, format!("attached to {name:?} read-only"))
}

/// A `session.send` delivery this daemon does not know.
pub fn bad_delivery() -> RpcError {
    RpcError::new(
        code::BAD_ARGUMENT,
        "delivery must be queue, steer or interrupt",
    )
}

/// A `session.send` with nothing to say.
pub fn empty_message() -> RpcError {
    RpcError::new(code::BAD_ARGUMENT, "the message is empty")
}

/// A `session.wait` timeout that is not a number of seconds.
pub fn bad_timeout() -> RpcError {
    RpcError::new(
        code::BAD_ARGUMENT,
        "timeout_s must be a number of seconds >= 0",
    )
}

/// A connection from another user.
pub fn permission_denied(peer: Option<u32>) -> RpcError {
    RpcError::new(
        code::PERMISSION_DENIED,
        format!(
            "permission denied: this daemon serves only its owner (your uid: {})",
            peer.map_or_else(|| "unknown".to_string(), |u| u.to_string())
        ),
    )
}

/// A session operation's failure on the wire: its text, under the code clients act on.
impl From<SessionError> for RpcError {
    fn from(e: SessionError) -> Self {
        let code = match &e {
            SessionError::NotFound(_)
            | SessionError::Stopped
            | SessionError::StoppedWhileWaiting(_) => code::SESSION_NOT_FOUND,
            SessionError::Unrestored { .. }
            | SessionError::MaybeLost { .. }
            | SessionError::InputNotStored(_)
            | SessionError::BudgetNotStored(_)
            | SessionError::CancelNotStored(_)
            | SessionError::RuleNotStored(_) => code::STORAGE,
            SessionError::Config(_) => code::CONFIG_ERROR,
            SessionError::CwdNotAbsolute(_)
            | SessionError::CwdNotADirectory(_)
            | SessionError::BadName(_)
            | SessionError::BadServer(_)
            | SessionError::BadBudget(_)
            | SessionError::BadRule(_)
            | SessionError::BadAnswer(_)
            | SessionError::Worktree(_)
            | SessionError::NoSuchSeq { .. }
            | SessionError::NoSuchNode { .. } => code::BAD_ARGUMENT,
            SessionError::NoSuchRule { .. } => code::NO_SUCH_RULE,
            SessionError::NoProvider(_) => code::NO_PROVIDER,
            SessionError::NameTaken(_) => code::NAME_TAKEN,
            SessionError::NoSuchApproval(_) => code::NO_SUCH_APPROVAL,
            SessionError::CompactionFailed(_) => code::COMPACTION_FAILED,
            SessionError::Elsewhere { .. } | SessionError::Moved { .. } => code::ELSEWHERE,
            SessionError::NoFleet(_) => code::NO_FLEET,
            SessionError::NotCreated(_)
            | SessionError::NotDeleted(_)
            | SessionError::DecisionNotStored
            | SessionError::AnswerNotStored => code::INTERNAL,
        };
        RpcError::new(code, e.to_string())
    }
}
