//! Writing a request key (`--key` retries), shared by the writer and the
//! schedules' writes that store a key in the same transaction as their effect.

use rusqlite::{Connection, params};

use super::error::SqlError;
use crate::store::types::KeyRecord;

/// Stores a key, or replaces the result of one already stored (its age stays).
pub(super) fn put_key(c: &Connection, k: &KeyRecord) -> Result<(), SqlError> {
    c.execute(
        "INSERT INTO request_keys (key, method, params, result, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (key) DO UPDATE SET result = excluded.result",
        params![
            k.key,
            k.method,
            k.params,
            serde_json::to_string(&k.result)?,
            k.created_at
        ],
    )?;
    Ok(())
}
