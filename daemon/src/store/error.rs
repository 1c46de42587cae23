//! The store's error: the kinds its callers tell apart, each with a message a
//! person can act on. No backend's own error type appears here; a backend maps
//! its failures onto these kinds (see `sqlite/error.rs`).

/// Errors from a store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database refused the operation for a reason of its own (a broken
    /// constraint, say); the text is the database's.
    #[error("database error: {0}")]
    Database(String),
    /// The name is already used.
    #[error("a session named {0:?} already exists")]
    NameTaken(String),
    /// The session an operation reads from is not in the store (deleted meanwhile).
    #[error("session {0:?} is no longer in the store (it was killed)")]
    SessionGone(String),
    /// The transaction holding this op failed to commit.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The store is gone (daemon shutting down).
    #[error("the store is closed")]
    Closed,
    /// The disk holding the store has no space left.
    #[error(
        "the disk holding {path} is full, so nothing was stored: free some space there, then retry"
    )]
    Full {
        /// The store file.
        path: String,
    },
    /// Reading or writing the store file failed.
    #[error("cannot read or write {path} ({detail}): check that disk, then retry")]
    Io {
        /// The store file.
        path: String,
        /// What the database said.
        detail: String,
    },
    /// The store is damaged: what it holds cannot be trusted to be complete.
    #[error("{path} is damaged: {detail}; {help}")]
    Damaged {
        /// The store file.
        path: String,
        /// What is wrong.
        detail: String,
        /// What a person does about it (the store's `damage_help`).
        help: String,
    },
    /// The database server cannot be reached, or stopped answering (a
    /// PostgreSQL store): nothing of the failed call was acknowledged.
    #[error(
        "cannot reach the PostgreSQL store {store} ({detail}): check that the server is up and \
         reachable from this machine, then retry"
    )]
    Unreachable {
        /// The store, as its URL without the password.
        store: String,
        /// What the driver said.
        detail: String,
    },
    /// This node lost the session's lease (issue 16): another node took it over,
    /// or a `move` handed it on, so this write was refused and nothing was
    /// stored. The session's actor here stops.
    #[error("session {session:?} moved to node {node:?}; attach again")]
    Fenced {
        /// The session.
        session: String,
        /// The node that holds it now (`?` when none does yet).
        node: String,
    },
    /// The store was made by a later tether whose schema this build does not know.
    #[error(
        "the store was made by a newer tether (schema version {found}; this tether knows \
         versions up to {known}): upgrade tether"
    )]
    TooNew {
        /// The store's schema version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts people and scripts see, as the store has always written them.
    #[test]
    fn the_error_texts_are_the_ones_the_store_always_wrote() {
        let p = "/s/tether.db".to_string();
        let cases = [
            (
                StoreError::Database("UNIQUE constraint failed: events.session_id".into()),
                "database error: UNIQUE constraint failed: events.session_id",
            ),
            (
                StoreError::NameTaken("one".into()),
                "a session named \"one\" already exists",
            ),
            (StoreError::Commit("x".into()), "commit failed: x"),
            (StoreError::Closed, "the store is closed"),
            (
                StoreError::Full { path: p.clone() },
                "the disk holding /s/tether.db is full, so nothing was stored: free some space \
                 there, then retry",
            ),
            (
                StoreError::Io {
                    path: p.clone(),
                    detail: "disk I/O error".into(),
                },
                "cannot read or write /s/tether.db (disk I/O error): check that disk, then retry",
            ),
            (
                StoreError::Damaged {
                    path: p,
                    detail: "bad page".into(),
                    help: "restore it".into(),
                },
                "/s/tether.db is damaged: bad page; restore it",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }
}
