//! The one seam every change to the session list goes through: a session's
//! summary changed, or one was created, forked or killed. It bumps a version
//! (for "something changed" waiters: `sessions.wait_any`, full-list feeds) and
//! broadcasts which session it was (for delta feeds, issue 13).

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

/// How many changes a delta feed may fall behind before it lags and resyncs
/// with a full list. A feed drains them every 100 ms, so this covers a burst of
/// about 40,000 changes a second.
const CHANGES: usize = 4096;

/// One change to the session list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListChange {
    /// The session's id.
    pub id: Arc<str>,
    /// The session is gone (killed). A feed still looks the id up when it sends,
    /// and a session that is gone by then is a removal either way.
    pub removed: bool,
}

/// The change-tracking seam of the session list.
pub struct ListChanges {
    // watch: waiters want "something changed since I looked", not each change.
    version: watch::Sender<u64>,
    // broadcast: delta feeds want which sessions changed; one that falls
    // behind gets `Lagged` and resyncs with the whole list, never a gap.
    ids: broadcast::Sender<ListChange>,
}

impl Default for ListChanges {
    fn default() -> Self {
        ListChanges {
            version: watch::channel(0).0,
            ids: broadcast::channel(CHANGES).0,
        }
    }
}

impl ListChanges {
    /// Session `id`'s summary changed, or it was created.
    pub fn changed(&self, id: &str) {
        self.publish(id, false);
    }

    /// Session `id` was removed.
    pub fn removed(&self, id: &str) {
        self.publish(id, true);
    }

    fn publish(&self, id: &str, removed: bool) {
        // Counted before it is broadcast: a feed that reads the version after
        // a change it received sees that change counted.
        self.version.send_modify(|n| *n = n.wrapping_add(1));
        // No receiver (no delta subscriber) is not an error.
        let _ = self.ids.send(ListChange {
            id: Arc::from(id),
            removed,
        });
    }

    /// The version: bumped by every change.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// The version now.
    pub fn version(&self) -> u64 {
        *self.version.borrow()
    }

    /// Every change from now on, by session.
    pub fn subscribe(&self) -> broadcast::Receiver<ListChange> {
        self.ids.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_bumps_the_version_and_names_its_session() {
        let c = ListChanges::default();
        let mut w = c.watch();
        let mut rx = c.subscribe();
        c.changed("s-1");
        c.removed("s-2");
        assert!(w.has_changed().unwrap());
        assert_eq!(*w.borrow_and_update(), 2);
        assert_eq!(c.version(), 2);
        let first = rx.try_recv().unwrap();
        assert_eq!((&*first.id, first.removed), ("s-1", false));
        let second = rx.try_recv().unwrap();
        assert_eq!((&*second.id, second.removed), ("s-2", true));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_receiver_that_falls_behind_lags_instead_of_missing_changes() {
        let c = ListChanges::default();
        let mut rx = c.subscribe();
        for i in 0..CHANGES + 1 {
            c.changed(&format!("s-{i}"));
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }
}
