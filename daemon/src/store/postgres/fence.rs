//! The fence on a fleet's writes (issue 16; the promises are in
//! `store/lease.rs`): the fences this store acquired, and the check each fenced
//! write runs first in its own transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::conn::Tx;
use super::error::PgError;
use crate::store::error::StoreError;
use crate::store::lease_sql as sql;

/// Each session this node acquired: the node and the fence it got. Kept after
/// the lease is lost or released (so writes stay refused) until the session
/// is deleted or acquired again.
pub(super) type Fences = Arc<Mutex<HashMap<String, (String, i64)>>>;

/// The check a fenced write runs first: refused unless `node` still holds
/// `session`'s lease with `fence`.
pub(super) async fn check(
    tx: &Tx<'_>,
    session: &str,
    node: &str,
    fence: i64,
) -> Result<(), PgError> {
    let held = tx.query_opt(sql::FENCE, &[&session, &node, &fence]).await?;
    if held.is_some() {
        return Ok(());
    }
    let holder: Option<String> = tx
        .query_opt(sql::HOLDER, &[&session])
        .await?
        .map(|r| r.get(0));
    Err(PgError::Store(StoreError::Fenced {
        session: session.to_string(),
        node: holder.unwrap_or_else(|| "?".into()),
    }))
}
