//! Request keys (idempotent retries) on PostgreSQL: stored in the transaction of
//! the effect they record.

use super::conn::Tx;
use super::error::PgError;
use crate::store::types::KeyRecord;

/// Stores a key, or replaces the result of one already stored (its age stays).
pub(super) async fn put_key(tx: &Tx<'_>, k: &KeyRecord) -> Result<(), PgError> {
    tx.execute(
        "INSERT INTO request_keys (key, method, params, result, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET result = excluded.result",
        &[
            &k.key,
            &k.method,
            &k.params,
            &serde_json::to_string(&k.result)?,
            &k.created_at,
        ],
    )
    .await?;
    Ok(())
}
