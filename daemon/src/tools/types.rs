//! What every tool shares, builtin or MCP: its spec as offered to the model, the
//! context a call runs in, and what a call produced.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// A tool as offered to the model (OpenAI function-calling shape).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Name the model calls the tool by.
    pub name: String,
    /// What the tool does and when to use it, written for the model.
    pub description: String,
    /// JSON Schema (an object schema) of the tool's arguments.
    pub parameters: Value,
}

/// What a tool call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// Text handed back to the model.
    pub output: String,
    /// Whether the call failed (bad arguments, I/O error, non-zero exit, timeout, interrupt).
    pub is_error: bool,
    /// Images the tool returned (MCP `image` content), for the model to see.
    pub images: Vec<tether_shared::event::ToolImage>,
}

impl ToolOutput {
    pub(super) fn ok(output: impl Into<String>) -> Self {
        Self {
            output: output.into(),
            is_error: false,
            images: Vec::new(),
        }
    }

    pub(crate) fn error(output: impl Into<String>) -> Self {
        Self {
            output: output.into(),
            is_error: true,
            images: Vec::new(),
        }
    }
}

/// Everything a builtin needs from the session that runs it.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// Session working directory; relative paths resolve against it.
    pub cwd: PathBuf,
    /// Cancelled on interrupt or shutdown; a running tool stops and reports `interrupted`.
    pub cancel: CancellationToken,
    /// Receives live output chunks (shell stdout/stderr as they arrive, lossy UTF-8).
    pub live: Option<mpsc::UnboundedSender<String>>,
    /// Receives the process group id of each process group a tool starts, so the
    /// daemon can record it and stop a group left running by a crash.
    pub spawned: Option<mpsc::UnboundedSender<u32>>,
    /// The session's own event log, which `history_search` and `history_read`
    /// read; `None` where a call runs outside a session (they then say so).
    pub log: Option<SessionLog>,
    /// Receives what an MCP server asks while serving this call (a question for a
    /// person, a completion from the session's model); `None` where nobody can
    /// answer (the server's question is then declined, its sampling refused).
    pub asks: Option<mpsc::UnboundedSender<super::ServerAsk>>,
}

/// Where a session's log is: the store and the session's id in it. The history
/// tools read through it and only through it, so they never see another
/// session's events.
#[derive(Clone)]
pub struct SessionLog {
    /// The session whose log this is.
    pub session_id: String,
    /// The store holding it.
    pub store: Arc<dyn Store>,
}

impl fmt::Debug for SessionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLog")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// The most of a tool result the model is given; the rest is cut with a note.
const MAX_RESULT_BYTES: usize = 100_000;

pub(super) fn cap_output(mut s: String) -> String {
    if s.len() <= MAX_RESULT_BYTES {
        return s;
    }
    let total = s.len();
    let mut cut = MAX_RESULT_BYTES;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push_str(&format!(
        "\n[... result cut at {MAX_RESULT_BYTES} of {total} bytes ...]"
    ));
    s
}
