//! The SQLite store: sessions, their event logs and their queued inputs in
//! `tether.db`, through `rusqlite` (bundled).
//!
//! - `handle.rs`: [`SqliteStore`], the [`crate::store::Store`] implementation;
//!   open, the read pool.
//! - `writer.rs`: the writer thread, group commit with a savepoint per op.
//! - `reads.rs`: the queries behind the reads.
//! - `search.rs`: the FTS5 index of the logs' text, written with the events.
//! - `summary.rs`: what a list shows of a session, in its row, and the
//!   start-up index that reads it.
//! - `kept.rs`: the session list kept from a clean stop to the next start.
//! - `schedules.rs`: schedules and file triggers (issue 15), and their firings.
//! - `migrations.rs`: the schema, as numbered migrations in `PRAGMA user_version`.
//! - `conn.rs`: a connection with the store's pragmas.
//! - `error.rs`: SQLite failures classified into [`crate::store::StoreError`].
//! - `health.rs`, `integrity.rs`: what is wrong with the file, and the checks
//!   that find it.

mod conn;
mod error;
mod handle;
mod health;
mod integrity;
mod kept;
mod keys;
mod migrations;
mod reads;
mod schedules;
mod search;
mod summary;
mod writer;

pub use handle::SqliteStore;

#[cfg(test)]
mod kept_tests;
#[cfg(test)]
mod tests;
