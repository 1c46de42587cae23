//! What the registry, a session handle and the actor refuse or fail with. The texts are
//! the ones users see; the wire code of each is chosen at the RPC edge.

use crate::config::ConfigError;
use crate::store::StoreError;

/// A session operation that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The session runs on another node of the fleet (issue 16).
    #[error(
        "session {name:?} runs on node {node:?}; use that node's daemon (or `tether move {name} --node NODE`)"
    )]
    Elsewhere {
        /// The session's name.
        name: String,
        /// The node that holds it.
        node: String,
    },
    /// The session's actor here lost its lease: another node runs it now.
    #[error("session {name:?} moved to node {node:?}; attach again")]
    Moved {
        /// The session's name.
        name: String,
        /// The node it moved to (`?` when not known yet).
        node: String,
    },
    /// No node of that name is up in the fleet.
    #[error("no node named {node:?} is up in the fleet (up: {}); check its [fleet] node, or start its daemon", up.join(", "))]
    NoSuchNode {
        /// The node asked for.
        node: String,
        /// The nodes whose heartbeat was seen lately.
        up: Vec<String>,
    },
    /// A fleet request to a daemon whose store is this machine's own.
    #[error(
        "{0}: this daemon is not part of a fleet (its store is the local tether.db); set [store] url in config.toml to a PostgreSQL shared by the fleet's daemons"
    )]
    NoFleet(String),
    /// No session has that name or id.
    #[error("no session named {0:?}; `tether ls` lists the sessions")]
    NotFound(String),
    /// The session's actor has stopped (killed, or the daemon is shutting down).
    #[error(
        "the session has stopped (it was killed, or the daemon is shutting down); `tether ls` shows what is left"
    )]
    Stopped,
    /// The session stopped while a `wait` was waiting for it.
    #[error("session {0:?} was killed (or stopped) while waiting for it to settle")]
    StoppedWhileWaiting(String),
    /// The session is in the store but could not be restored at start-up.
    #[error("session {name:?} could not be restored: {error}")]
    Unrestored {
        /// The name or id asked for.
        name: String,
        /// Why it could not be restored.
        error: String,
    },
    /// No such session, but the store lost writes: it may have been among them.
    #[error(
        "no session named {name:?}, but the store lost writes, so it may have been lost with them: {damage}"
    )]
    MaybeLost {
        /// The name or id asked for.
        name: String,
        /// What the store found damaged.
        damage: String,
    },
    /// `config.toml` does not parse.
    #[error("config error: {0}")]
    Config(ConfigError),
    /// The working directory given is relative.
    #[error("working directory {0:?} must be absolute")]
    CwdNotAbsolute(String),
    /// The working directory given is not a directory.
    #[error("working directory {0:?} is not a directory")]
    CwdNotADirectory(String),
    /// The session name given is not a valid name.
    #[error("invalid session name {0:?}: use 1-64 letters, digits, '.', '_' or '-'")]
    BadName(String),
    /// One of `session.create`'s `mcp_servers` cannot be used (issue 12).
    #[error("mcp_servers: {0}")]
    BadServer(String),
    /// The model does not resolve to a usable provider (the text says what to set).
    #[error("{0}")]
    NoProvider(String),
    /// Another session has the name.
    #[error("a session named {0:?} already exists")]
    NameTaken(String),
    /// A fork's seq is not in the session's log.
    #[error(
        "session {name:?} has no event {at}: its events are seq 1 to {last}; `tether logs {name}` shows them"
    )]
    NoSuchSeq {
        /// The session forked.
        name: String,
        /// The seq asked for.
        at: u64,
        /// Its last seq.
        last: u64,
    },
    /// The new session could not be stored.
    #[error("could not store the session: {0}")]
    NotCreated(StoreError),
    /// The session could not be deleted from the store.
    #[error("could not delete the session: {0}")]
    NotDeleted(StoreError),
    /// A message could not be stored, so it was not taken.
    #[error("could not store the message: {0}")]
    InputNotStored(StoreError),
    /// No call (or not that call) waits for a decision; the text names what was asked.
    #[error("{0}")]
    NoSuchApproval(String),
    /// A compaction could not be done; the text says why.
    #[error("could not compact the context: {0}")]
    CompactionFailed(String),
    /// A decision could not be stored, so nothing was run or refused.
    #[error("could not store the decision")]
    DecisionNotStored,
    /// A budget given is not a positive amount; the text says which.
    #[error("{0}")]
    BadBudget(String),
    /// A new budget could not be stored, so the old one stays in force.
    #[error("could not store the budget: {0}")]
    BudgetNotStored(StoreError),
    /// A queued input's cancellation could not be stored, so it stays queued.
    #[error("could not cancel the message: {0}")]
    CancelNotStored(StoreError),
    /// An "always allow" rule asked for cannot be a rule; the text says why.
    #[error("{0}")]
    BadRule(String),
    /// An "always allow" rule could not be stored (or removed), so nothing was
    /// decided or changed.
    #[error("could not store the approval rule: {0}")]
    RuleNotStored(StoreError),
    /// An answer to a server's question does not match its form; the text names
    /// the field (issue 14). Nothing was sent.
    #[error("{0}")]
    BadAnswer(String),
    /// No git worktree could be made for the session (issue 15), so no session
    /// was made either.
    #[error("{0}")]
    Worktree(crate::worktree::WorktreeError),
    /// An answer could not be stored, so nothing was sent to the server.
    #[error("could not store the answer")]
    AnswerNotStored,
    /// No rule with that id applies to the session.
    #[error(
        "no approval rule {id} applies to session {name:?}; `tether approvals {name}` lists them"
    )]
    NoSuchRule {
        /// The session.
        name: String,
        /// The id asked for.
        id: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_texts_are_the_ones_users_know() {
        assert_eq!(
            SessionError::NotFound("x".into()).to_string(),
            "no session named \"x\"; `tether ls` lists the sessions"
        );
        assert_eq!(
            SessionError::Unrestored {
                name: "x".into(),
                error: "boom".into()
            }
            .to_string(),
            "session \"x\" could not be restored: boom"
        );
        assert_eq!(
            SessionError::BadName("-a".into()).to_string(),
            "invalid session name \"-a\": use 1-64 letters, digits, '.', '_' or '-'"
        );
        assert_eq!(
            SessionError::NoSuchApproval(
                "no tool call is waiting for approval in session \"s\"".into()
            )
            .to_string(),
            "no tool call is waiting for approval in session \"s\""
        );
        assert_eq!(
            SessionError::NoSuchSeq {
                name: "a".into(),
                at: 9,
                last: 4
            }
            .to_string(),
            "session \"a\" has no event 9: its events are seq 1 to 4; `tether logs a` shows them"
        );
        assert_eq!(
            SessionError::DecisionNotStored.to_string(),
            "could not store the decision"
        );
    }
}
