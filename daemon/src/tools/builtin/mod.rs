//! The builtin tools an agent can call without any MCP server: `shell`, `read_file`,
//! `write_file`, `edit_file`, `list_dir`, and `history_search` and `history_read` over
//! the session's own log.
//!
//! `specs` holds their public interface (the JSON Schema specs offered to the model), `run`
//! dispatches a call, `args` and `error` are the argument parsing and the errors the model
//! sees, shared by the tools themselves in `shell`, `files` and `history`. Every failure, including
//! malformed arguments, becomes an `is_error` output that tells the model what went wrong,
//! because the model is the one who has to fix the call. `scope` is the approval rule's
//! view of them: which calls only read inside the session's directory.

mod args;
mod error;
mod files;
mod history;
mod run;
pub(crate) mod scope;
mod shell;
mod specs;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub(crate) use args::resolve;
pub use run::run_builtin;
pub use specs::{BUILTIN_NAMES, builtin_specs, is_builtin};
