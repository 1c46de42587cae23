//! The transaction every query of the PostgreSQL store runs in: a read's
//! snapshot or the writer's batch (a savepoint of it, for one op).

/// A transaction on a pooled connection.
pub(super) type Tx<'a> = deadpool_postgres::Transaction<'a>;
