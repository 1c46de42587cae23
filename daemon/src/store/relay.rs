//! Requests relayed through the store (issue 16): a request that needs a
//! session's agent (`session.approve`, `session.deny`, `session.interrupt`,
//! `session.answer`, `session.compact`, `session.budget`,
//! `session.cancel_input`, `session.kill`), or its tool servers (`tools.list`,
//! `prompts.list`, `prompts.get` for the session), sent to a daemon of the fleet that
//! does not run the session becomes a row the owner picks up, runs as if its
//! own client had sent it, and answers in the same row. There is no
//! daemon-to-daemon connection: both nodes only talk to the database.
//!
//! What a shared store promises, because the relay relies on it:
//! - [`crate::store::Store::relay_put`] stores the request and notifies the
//!   fleet's channel in one transaction, so the owner is woken only once the
//!   row is there;
//! - [`crate::store::Store::relay_claim`] hands each request to one node once:
//!   it is one conditional `UPDATE` that takes only rows of sessions whose
//!   lease the node holds, unexpired, and that nobody claimed yet. A node that
//!   lost its lease (paused past it) claims nothing of that session, and a node
//!   that takes a session over claims what was left for it;
//! - [`crate::store::Store::relay_answer`] stores the reply and notifies the
//!   asking node in one transaction;
//! - [`crate::store::Store::relay_withdraw`] removes a request nobody claimed
//!   yet and says whether it did, so an asking node that gives up knows the
//!   request will never run.

/// A relayed request, as the owner claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    /// The row.
    pub id: i64,
    /// The session it is for.
    pub session_id: String,
    /// The method, e.g. `session.approve`.
    pub method: String,
    /// The params, as JSON text.
    pub params: String,
}

/// Where a relayed request stands, as the asking node reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayState {
    /// No node claimed it yet.
    Waiting,
    /// This node claimed it and has not answered yet.
    Claimed(String),
    /// The reply, as JSON text (see `rpc/relay.rs`).
    Answered(String),
    /// The row is gone (withdrawn, or swept as stale).
    Gone,
}

/// The table (PostgreSQL migration 10).
pub const SCHEMA: &str = "
CREATE TABLE fleet_requests (
    id BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL,
    from_node TEXT NOT NULL,
    method TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_by TEXT,
    reply TEXT,
    answered_at TIMESTAMPTZ
);
CREATE INDEX fleet_requests_open ON fleet_requests (session_id) WHERE claimed_by IS NULL;
";

/// `$1` session, `$2` asking node, `$3` method, `$4` params: the new row's id.
pub const PUT: &str = "
INSERT INTO fleet_requests (session_id, from_node, method, params)
VALUES ($1, $2, $3, $4)
RETURNING id";

/// `$1` node: claims every unclaimed request of the sessions it holds.
pub const CLAIM: &str = "
UPDATE fleet_requests r SET claimed_by = $1
  FROM leases l
 WHERE l.session_id = r.session_id
   AND l.owner = $1
   AND l.expires_at > now()
   AND r.claimed_by IS NULL
RETURNING r.id, r.session_id, r.method, r.params";

/// `$1` id, `$2` reply: answered; the session id comes back for the wake-up.
pub const ANSWER: &str = "
UPDATE fleet_requests SET reply = $2, answered_at = now()
 WHERE id = $1
RETURNING session_id";

/// `$1` id: who claimed it and its reply.
pub const STATE: &str = "SELECT claimed_by, reply FROM fleet_requests WHERE id = $1";

/// `$1` id: removed when nobody claimed it.
pub const WITHDRAW: &str = "DELETE FROM fleet_requests WHERE id = $1 AND claimed_by IS NULL";

/// `$1` id: the asking node read its reply.
pub const DROP: &str = "DELETE FROM fleet_requests WHERE id = $1";

/// Rows whose asking node never came back for them (it died): an hour old.
pub const SWEEP: &str = "DELETE FROM fleet_requests WHERE created_at < now() - interval '1 hour'";
