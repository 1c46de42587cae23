//! Mutating commands made safe to retry: each request carries a key (the user's
//! `--key`, else a random one per command). When the connection drops before the
//! answer, the daemon may or may not have acted, so the command reconnects once
//! (starting a daemon like any command) and asks again with the same key: the
//! daemon answers a key it has seen with its first result and does nothing twice.

use std::io::Read;

use anyhow::Context;
use tether_shared::protocol::Method;

use crate::client::{ClientError, DaemonClient, Target};

/// A fresh random request key (128 bits, hex).
pub fn new_key() -> String {
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        // No /dev/urandom (a chroot?): the pid and the clock are unique enough for
        // one user's commands.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (nanos ^ (u128::from(std::process::id()) << 96)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True when the error is a lost connection (not an answer from the daemon).
fn lost(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<ClientError>(),
        Some(ClientError::Io(_) | ClientError::Protocol(_))
    )
}

async fn attempt<M: Method>(
    target: &Target,
    on: Option<DaemonClient>,
    params: &M::Params,
    key: &str,
) -> anyhow::Result<(M::Result, DaemonClient)> {
    let mut c = match on {
        Some(c) => c,
        None => target.connect_or_start().await?,
    };
    let r = c.call_keyed::<M>(params, key).await?;
    Ok((r, c))
}

/// Calls the mutating `M` with `key` (a random one when `None`), retrying
/// once on a lost connection. `check` says how a user finds out whether it took
/// effect (e.g. "`tether ls`"), for when even the retry gets no answer.
/// Returns the result and the connection it came on.
pub async fn mutate<M: Method>(
    target: &Target,
    params: &M::Params,
    key: Option<String>,
    check: &str,
) -> anyhow::Result<(M::Result, DaemonClient)> {
    mutate_on::<M>(target, None, params, key, check).await
}

/// [`mutate`], asking first on `on` (a connection the caller already has)
/// when given.
pub async fn mutate_on<M: Method>(
    target: &Target,
    on: Option<DaemonClient>,
    params: &M::Params,
    key: Option<String>,
    check: &str,
) -> anyhow::Result<(M::Result, DaemonClient)> {
    let key = key.unwrap_or_else(new_key);
    match attempt::<M>(target, on, params, &key).await {
        Err(e) if lost(&e) => {
            tracing::debug!(error = %e, "lost the daemon mid-request; retrying with the same key");
        }
        other => return other,
    }
    match attempt::<M>(target, None, params, &key).await {
        Err(e) if e.downcast_ref::<ClientError>().is_some_and(|c| matches!(c, ClientError::Rpc(_))) => {
            Err(e)
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "the connection to the daemon was lost twice before it answered, so whether this took effect is unknown: \
                 check with {check}; running the command again with `--key {key}` cannot do it twice"
            )
        }),
        ok => ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_hex() {
        let (a, b) = (new_key(), new_key());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
