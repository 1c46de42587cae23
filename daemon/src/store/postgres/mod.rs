//! The PostgreSQL store (issue 16): sessions, their event logs and their queued
//! inputs in a PostgreSQL database, through `tokio-postgres` and a
//! `deadpool-postgres` pool, for daemons on several machines sharing one
//! database. Chosen by `[store] url` in `config.toml` or `TETHER_STORE_URL`.
//!
//! - `handle.rs`: [`PgStore`], the [`crate::store::Store`] implementation;
//!   open, the reads' snapshots and time limits.
//! - `writer.rs`: the writer task, group commit with a savepoint per op.
//! - `writes.rs`: the writes, and what each does in the writer's transaction.
//! - `conn.rs`: the transaction type every query runs in.
//! - `listen.rs`: the fleet's wake-ups, `LISTEN` on a connection of its own.
//! - `lease.rs`: the leases of a fleet's sessions; `fence.rs`: the fence on their writes.
//! - `keys.rs`: request keys, stored with their effect.
//! - `reads.rs`: the queries behind the reads.
//! - `relay.rs`: requests relayed to a session's owner through the database.
//! - `schedules.rs`: schedules and file triggers (issue 15), and their firings.
//! - `search.rs`: the logs' words as `tsvector`s, made as SQLite's tokenizer makes them.
//! - `summary.rs`: what a list shows of a session, in its row, and the
//!   start-up index that reads it.
//! - `migrations.rs`: the schema, as the SQLite store's numbered migrations.
//! - `tls.rs`: TLS to the server through rustls (system roots, `TETHER_STORE_CA`).
//! - `error.rs`: failures classified into [`crate::store::StoreError`], the
//!   store's name without its password, and its health.

mod conn;
mod error;
mod fence;
mod handle;
mod keys;
mod lease;
mod listen;
mod migrations;
mod reads;
mod relay;
mod schedules;
mod search;
mod summary;
mod tls;
mod writer;
mod writes;

pub use error::redact_url;
pub use handle::PgStore;
