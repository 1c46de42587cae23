//! The wire protocol: JSON-RPC 2.0, one message per line, over the local socket.
//!
//! A client's first request must be `hello` with [`PROTOCOL_VERSION`]. After that it
//! may send any request of the table in [`requests`]; the daemon answers each by id
//! and streams session activity as `session.live` notifications. See
//! `docs/protocol.md`.
//!
//! - `envelope.rs`: the JSON-RPC request, response, notification and error object,
//!   and the stable error codes.
//! - `requests.rs`: the table, one definition per method and per notification.
//! - `types.rs`: the params and result objects.
//! - `answer.rs`: `session.answer`'s params and result (issue 14).
//! - `mcp_auth.rs`: OAuth logins for HTTP tool servers.
//! - `schedule.rs`: schedules and file triggers (issue 15).
//! - `worktree.rs`: a session's git worktree (issue 15).
//! - `limits.rs`: the version, the request-key rules and the frame caps.

mod answer;
mod envelope;
mod limits;
mod list_view;
mod ls_table;
mod mcp_auth;
pub mod requests;
mod schedule;
mod tools_types;
mod types;
mod worktree;

pub use answer::{AnswerParams, AnswerResult};
pub use envelope::{Notification, Request, Response, RpcError, ServerMessage, code};
pub use limits::{
    KEY_PARAM, KEY_TTL_S, MAX_KEY_LEN, MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME, PROTOCOL_VERSION,
};
pub use list_view::{
    FieldMask, LS_FIELDS, ListItem, ListParams, ListShape, PartialInfo, SESSION_INFO_FIELDS,
};
pub use ls_table::{ListRow, LsReply, LsTable, context_percent_of, list_table};
pub use mcp_auth::*;
/// The table under the name the method-name constants always had
/// (`method::SESSION_SEND`), next to the types (`method::SessionSend`).
pub use requests as method;
pub use requests::{METHODS, Method, MethodInfo, NotificationMethod, is_mutating, with_key};
pub use schedule::*;
pub use tools_types::*;
pub use types::*;
pub use worktree::{WorktreeInfo, WorktreeOutcome, WorktreeParams};

#[cfg(test)]
mod list_tests;
#[cfg(test)]
mod snapshot_events;
#[cfg(test)]
mod snapshot_fleet;
#[cfg(test)]
mod snapshot_mcp_auth;
#[cfg(test)]
mod snapshot_prompts;
#[cfg(test)]
mod snapshot_schedule;
#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod snapshot_worktree;
#[cfg(test)]
mod tests;
