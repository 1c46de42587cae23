//! Errors inside the SQLite store, and how they leave it: [`classify`] turns
//! SQLite's storage failures into the neutral [`StoreError`] kinds, whose
//! messages name `tether.db` and say what to do, and notes damage in the health.

use std::path::Path;

use rusqlite::ErrorCode;

use super::health::{HealthCell, what_to_do};
use crate::store::error::StoreError;

/// A failure inside the SQLite store, before it is classified.
#[derive(Debug)]
pub(super) enum SqlError {
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// A stored event did not decode (or one to store did not encode).
    Decode(serde_json::Error),
    /// What was read is not what the store promised (a gap in a log, say).
    Damaged(String),
    /// Already one of the neutral kinds.
    Store(StoreError),
}

impl From<rusqlite::Error> for SqlError {
    fn from(e: rusqlite::Error) -> Self {
        SqlError::Sqlite(e)
    }
}

impl From<serde_json::Error> for SqlError {
    fn from(e: serde_json::Error) -> Self {
        SqlError::Decode(e)
    }
}

impl From<StoreError> for SqlError {
    fn from(e: StoreError) -> Self {
        SqlError::Store(e)
    }
}

/// The neutral error for `Damaged` at `path`, with what to do about it.
pub(super) fn damaged(path: &Path, detail: String) -> StoreError {
    StoreError::Damaged {
        path: path.display().to_string(),
        detail,
        help: what_to_do(path),
    }
}

/// Turns SQLite's storage failures into errors that say what happened and what
/// to do, and notes damage in `health`.
pub(super) fn classify(path: &Path, health: &HealthCell, e: SqlError) -> StoreError {
    let p = path.display().to_string();
    let out = match e {
        SqlError::Sqlite(s) => match s.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::Full { path: p },
            Some(ErrorCode::SystemIoFailure) | Some(ErrorCode::CannotOpen) => StoreError::Io {
                path: p,
                detail: s.to_string(),
            },
            Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
                damaged(path, s.to_string())
            }
            _ => StoreError::Database(s.to_string()),
        },
        SqlError::Decode(d) => damaged(path, format!("a stored event does not decode ({d})")),
        SqlError::Damaged(detail) => damaged(path, detail),
        SqlError::Store(e) => e,
    };
    if let StoreError::Damaged { detail, .. } = &out {
        health.damaged(path, detail);
    }
    out
}
