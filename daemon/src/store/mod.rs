//! The store: sessions, their event logs, their queued inputs, the process
//! groups their tool calls started, request keys, "always allow" rules and
//! schedules.
//!
//! The seam is the [`Store`] trait (`api.rs`) over neutral rows and batches
//! (`types.rs`) and a neutral [`StoreError`] (`error.rs`); callers hold an
//! `Arc<dyn Store>`. [`SqliteStore`] (`sqlite/`) implements it in `tether.db`,
//! with group commit and numbered schema migrations; [`PgStore`] (`postgres/`)
//! implements it in a PostgreSQL database, for fleets (issue 16). `seqs.rs` holds the check
//! every store applies to the events it reads; `search.rs` what a search of a
//! session's log matches and shows, the same for every store.

mod api;
#[cfg(any(test, feature = "contract"))]
pub mod contract;
mod error;
mod lease;
pub(crate) mod lease_sql;
mod postgres;
pub(crate) mod relay;
pub(crate) mod search;
mod seqs;
mod sqlite;
mod types;

pub use api::Store;
pub use error::StoreError;
pub use lease::{FleetWake, Grant, Lease};
pub use postgres::{PgStore, redact_url};
pub use relay::{RelayState, Relayed};
pub use sqlite::SqliteStore;
pub use types::{
    Batch, Fired, Firing, IndexEntry, KeyRecord, ListSnapshot, NewRule, QueuedInput, ScheduleRow,
    ScheduleUpdate, SessionRow,
};
