//! Idempotent retries: a mutating request may carry a client-chosen key
//! (`tether_shared::protocol::KEY_PARAM`); its first successful result is stored
//! under that key, and a retry with the same key is answered from the store and
//! does nothing again. This module owns reading the key off a request, one
//! request per key at a time, and the periodic pruning of old keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tether_shared::protocol::{KEY_PARAM, KEY_TTL_S, MAX_KEY_LEN, Request, RpcError};
use tokio::sync::OwnedMutexGuard;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::errors;
use crate::store::{KeyRecord, Store};

/// How often old keys are pruned while the daemon runs (also once at start).
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// A keyed request, read off its params.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestKey {
    /// The client's key.
    pub key: String,
    /// The params without the key, as JSON text: what a retry must repeat.
    pub params: String,
}

impl RequestKey {
    /// A record of this request with `result`, for the store.
    pub fn record(&self, method: &str, result: Value) -> KeyRecord {
        KeyRecord::new(&self.key, method, &self.params, result)
    }
}

/// The key of a mutating request, if it carries one; a malformed key is an error.
pub fn key_of(req: &Request) -> Result<Option<RequestKey>, RpcError> {
    if !tether_shared::protocol::is_mutating(&req.method) {
        return Ok(None);
    }
    let Some(obj) = req.params.as_object() else {
        return Ok(None);
    };
    let key = match obj.get(KEY_PARAM) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_KEY_LEN => k.clone(),
        Some(_) => return Err(errors::bad_key()),
    };
    let mut rest = obj.clone();
    rest.remove(KEY_PARAM);
    let params = serde_json::to_string(&Value::Object(rest)).map_err(errors::unencodable_params)?;
    Ok(Some(RequestKey { key, params }))
}

/// Checks a stored record against a retry: the same method and params get the
/// stored result; anything else is refused.
pub fn replay(stored: KeyRecord, method: &str, key: &RequestKey) -> Result<Value, RpcError> {
    if stored.method != method || stored.params != key.params {
        return Err(errors::key_reused(&key.key, &stored.method));
    }
    Ok(stored.result)
}

/// Keys whose request is being handled now: a retry that arrives while the first
/// attempt still runs (its client gave up on the connection) waits for it.
#[derive(Default)]
pub struct InFlight {
    keys: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Holds a key; dropping it lets the next request with that key in.
pub struct KeyGuard<'a> {
    owner: &'a InFlight,
    key: String,
    lock: Option<OwnedMutexGuard<()>>,
}

impl InFlight {
    /// Waits until no other request with `key` is being handled, then holds it.
    pub async fn hold(&self, key: &str) -> KeyGuard<'_> {
        let lock = {
            let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.to_string()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        KeyGuard {
            owner: self,
            key: key.to_string(),
            lock: Some(guard),
        }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        let mut map = self.owner.keys.lock().unwrap_or_else(|p| p.into_inner());
        drop(self.lock.take());
        // Only the map holds it now: nobody waits, so forget the key.
        if map
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            map.remove(&self.key);
        }
    }
}

/// Prunes keys older than a day now and then every hour, until `stop` fires.
pub async fn prune_loop(store: Arc<dyn Store>, stop: CancellationToken) {
    loop {
        match store.prune_keys(KEY_TTL_S).await {
            Ok(n) => debug!(pruned = n, "pruned old request keys"),
            Err(e) => warn!(error = %e, "could not prune old request keys"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tether_shared::protocol::code;

    fn req(method: &str, params: Value) -> Request {
        Request::new(1, method, params).unwrap()
    }

    #[test]
    fn only_mutating_requests_are_keyed_and_the_key_is_not_part_of_the_params() {
        let k = key_of(&req(
            "session.send",
            json!({"session": "a", "text": "hi", "key": "k1"}),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(k.key, "k1");
        assert!(!k.params.contains("k1"), "{}", k.params);
        assert!(
            key_of(&req("session.logs", json!({"session": "a", "key": "k"})))
                .unwrap()
                .is_none()
        );
        assert!(
            key_of(&req("session.kill", json!({"session": "a", "key": 3}))).is_err(),
            "a key that is not a string is refused"
        );
    }

    #[test]
    fn a_key_reused_for_another_request_is_refused() {
        let first = key_of(&req(
            "session.send",
            json!({"session": "a", "text": "hi", "key": "k"}),
        ))
        .unwrap()
        .unwrap();
        let stored = first.record("session.send", json!({"input_id": 4}));
        assert_eq!(
            replay(stored.clone(), "session.send", &first).unwrap(),
            json!({"input_id": 4})
        );
        let other = key_of(&req(
            "session.send",
            json!({"session": "a", "text": "bye", "key": "k"}),
        ))
        .unwrap()
        .unwrap();
        let e = replay(stored.clone(), "session.send", &other).unwrap_err();
        assert_eq!(e.code, code::KEY_REUSED);
        assert_eq!(
            replay(stored, "session.kill", &first).unwrap_err().code,
            code::KEY_REUSED
        );
    }

    #[tokio::test]
    async fn a_held_key_makes_the_next_holder_wait_and_is_forgotten_after() {
        let f = InFlight::default();
        let g = f.hold("k").await;
        let second = f.hold("k");
        tokio::pin!(second);
        assert!(
            futures::FutureExt::now_or_never(&mut second).is_none(),
            "a second holder waits"
        );
        drop(g);
        let g2 = second.await;
        drop(g2);
        assert!(f.keys.lock().unwrap().is_empty());
    }
}
