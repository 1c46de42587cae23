//! The whole session list as one encoded `sessions.updated` line, shared by
//! every connection that is sent whole lists: built once per change however
//! many subscribers there are (issue 13), instead of once per subscriber.

use std::sync::Arc;

use tether_shared::protocol::{NotificationMethod, SessionsUpdatedParams, method};
use tracing::warn;

use super::outbox::line;
use crate::session::{ListChanges, Registry};

/// The last list encoded, with the list version it was read at.
#[derive(Default)]
pub(crate) struct ListCache {
    // A tokio mutex, held while a list is built: the feeds that flush at the
    // same time wait for that one build (yielding) and then share it.
    last: tokio::sync::Mutex<Option<(u64, Arc<Vec<u8>>)>>,
}

impl ListCache {
    /// A `sessions.updated` line of the whole list and the version it was read
    /// at, which is at least `min`: the last one built if it is that new, else
    /// a new one. The version is read before the list, so the line holds every
    /// change counted up to it; `None` if the list does not encode.
    pub(crate) async fn at_least(
        &self,
        min: u64,
        changes: &ListChanges,
        registry: &Registry,
    ) -> Option<(u64, Arc<Vec<u8>>)> {
        let mut last = self.last.lock().await;
        if let Some((v, bytes)) = last.as_ref()
            && *v >= min
        {
            return Some((*v, bytes.clone()));
        }
        let version = changes.version();
        let list = SessionsUpdatedParams {
            sessions: registry.list(),
        };
        let encoded = method::SessionsUpdated::notification(&list).and_then(|n| line(&n));
        match encoded {
            Ok(bytes) => {
                let bytes = Arc::new(bytes);
                *last = Some((version, bytes.clone()));
                Some((version, bytes))
            }
            Err(e) => {
                warn!(error = %e, "could not encode the session list; not sent");
                None
            }
        }
    }
}
