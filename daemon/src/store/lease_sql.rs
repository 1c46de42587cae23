//! The SQL of the leases on PostgreSQL (issue 16), kept apart from the driver
//! so that what it promises (`lease.rs`) can be read in one place. Every time
//! is the database's `now()`: the nodes' clocks never have to agree.
//!
//! - A lease is free when it has no owner and no target (or the asking node is
//!   its target), or when it expired; [`ACQUIRE`] takes it only then, or when the
//!   asking node holds it already, bumping the fence: one conditional statement,
//!   so of two nodes asking at once exactly one gets a row back.
//! - [`FENCE`] runs first in every write transaction of a session the node owns:
//!   it locks the lease row `FOR SHARE`, so an [`ACQUIRE`] by another node waits
//!   for the write to commit, and a write after that acquisition finds no row
//!   and is refused ([`super::StoreError::Fenced`]).
//! - [`RELEASE`] with a target gives that node one lease length to take the
//!   session before any other node may; without one the lease is free at once.

/// The tables: one lease per session, and the nodes seen (each heartbeat).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS leases (
    session_id TEXT PRIMARY KEY,
    owner TEXT,
    fence BIGINT NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ NOT NULL,
    portable BOOLEAN NOT NULL DEFAULT FALSE,
    target TEXT
);
CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner);
CREATE TABLE IF NOT EXISTS fleet_nodes (
    node TEXT PRIMARY KEY,
    seen_at TIMESTAMPTZ NOT NULL
);
";

/// `$1` session, `$2` node, `$3` lease in ms: the new fence, or no row.
pub const ACQUIRE: &str = "
INSERT INTO leases AS l (session_id, owner, fence, expires_at)
VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond')
ON CONFLICT (session_id) DO UPDATE
   SET owner = EXCLUDED.owner,
       fence = l.fence + 1,
       expires_at = EXCLUDED.expires_at,
       target = CASE WHEN l.owner = EXCLUDED.owner THEN l.target END
 WHERE l.owner = EXCLUDED.owner
    OR l.expires_at < now()
    OR (l.owner IS NULL AND (l.target IS NULL OR l.target = EXCLUDED.owner))
RETURNING fence";

/// `$1` session: who holds it, or where it is going (after a refused [`ACQUIRE`]).
pub const HOLDER: &str = "SELECT COALESCE(owner, target, '?') FROM leases WHERE session_id = $1";

/// `$1` node, `$2` lease in ms: the sessions it still holds, renewed. Notes the
/// node as seen.
pub const RENEW: &str = "
UPDATE leases SET expires_at = now() + $2::bigint * interval '1 millisecond'
 WHERE owner = $1
RETURNING session_id";

/// `$1` node: seen now.
pub const SEEN: &str = "
INSERT INTO fleet_nodes (node, seen_at) VALUES ($1, now())
ON CONFLICT (node) DO UPDATE SET seen_at = now()";

/// `$1` node, `$2` session (NULL: all of the node's), `$3` target (NULL: none),
/// `$4` lease in ms (the target's time to take it).
pub const RELEASE: &str = "
UPDATE leases
   SET owner = NULL,
       target = $3,
       expires_at = CASE WHEN $3::text IS NULL THEN now()
                         ELSE now() + $4::bigint * interval '1 millisecond' END
 WHERE owner = $1 AND ($2::text IS NULL OR session_id = $2)";

/// `$1` session, `$2` node placed on, `$3` creating node, `$4` portable, `$5`
/// lease in ms: held by the creator when it is the node, else free for the node.
pub const PLACE: &str = "
INSERT INTO leases (session_id, owner, fence, expires_at, portable, target)
VALUES ($1,
        CASE WHEN $2 = $3 THEN $2 END,
        1,
        now() + $5::bigint * interval '1 millisecond',
        $4,
        CASE WHEN $2 = $3 THEN NULL ELSE $2 END)
ON CONFLICT (session_id) DO NOTHING";

/// `$1` session, `$2` the node to hand it to.
pub const MOVE: &str = "UPDATE leases SET target = $2 WHERE session_id = $1";

/// Every lease, with whether it expired.
pub const LIST: &str = "
SELECT session_id, owner, fence, expires_at < now() AS expired, portable, target FROM leases";

/// `$1` session, `$2` node, `$3` fence: one row while the node still holds the
/// lease with that fence; run first in each of its write transactions.
pub const FENCE: &str = "
SELECT 1 FROM leases WHERE session_id = $1 AND owner = $2 AND fence = $3 FOR SHARE";

/// `$1` node: the queued inputs of the sessions it holds, oldest first.
pub const INPUTS_OF_NODE: &str = "
SELECT i.session_id, i.id, i.text, i.delivery, i.schedule_id FROM inputs i
  JOIN leases l ON l.session_id = i.session_id
 WHERE l.owner = $1
 ORDER BY i.id";

/// `$1` session: its lease goes with it (in the deletion's transaction).
pub const DELETE: &str = "DELETE FROM leases WHERE session_id = $1";

/// `$1` ms: the nodes seen within that long.
pub const LIVE_NODES: &str = "
SELECT node FROM fleet_nodes WHERE seen_at > now() - $1::bigint * interval '1 millisecond'
ORDER BY node";
