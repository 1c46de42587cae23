//! Session leases (issue 16): which node of a fleet runs a session. A store
//! shared by many daemons (PostgreSQL) keeps one lease row per session: its
//! owner, a fence token bumped at every acquisition, when it expires, whether
//! the session is portable, and the node a `move` hands it to. A store of one
//! machine (SQLite) has no rows: its one node owns everything, and the
//! [`crate::store::Store`] trait's defaults say so.
//!
//! What a shared store promises, because the fleet relies on it:
//! - [`crate::store::Store::lease_acquire`] succeeds only when the lease is free,
//!   expired, or already this node's, and then bumps the fence; it is one
//!   conditional `UPDATE`, so two nodes never both win;
//! - every write of a session this node owns (an append, inputs consumed, usage,
//!   process groups, a budget) checks, in the write's own transaction, that the
//!   lease row still names this node with the fence it was acquired with, and
//!   otherwise fails with [`crate::store::StoreError::Fenced`], storing nothing.
//!   A node paused past its lease that comes back can therefore never write.

/// A session's lease as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The session.
    pub session_id: String,
    /// The node that holds it; `None` when released (by a stop, or a move on
    /// its way to `target`).
    pub owner: Option<String>,
    /// Bumped at every acquisition.
    pub fence: i64,
    /// The lease ran out without a renewal: its owner is presumed dead.
    pub expired: bool,
    /// Any node may take the session over, not only one with its directory.
    pub portable: bool,
    /// The node a placement (`new --node`) or a `move` hands it to: only that
    /// node acquires it while the lease is free and fresh.
    pub target: Option<String>,
}

/// What asking for a lease got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// This node holds it now, with this fence.
    Held(i64),
    /// Another node holds it (the name), or it is on its way to one.
    Elsewhere(String),
}

/// A wake-up from another node (or this one) through the store, on a fleet:
/// what was committed for a session. `session: None` is a catch-up after the
/// notifications were cut (a reconnect): read everything again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetWake {
    pub session: Option<String>,
    /// The last seq of an event batch stored.
    pub seq: Option<u64>,
    /// An input was stored for the session's owner.
    pub input: bool,
    /// A request was relayed to the session's owner (`relay.rs`).
    pub request: bool,
    /// The reply to this relayed request was stored, for the node that asked.
    pub answered: Option<i64>,
}
