//! The session list kept from a clean stop to the next start (issue 13): the
//! list `tether ls` asks for ([`ListParams::ls`], the table), made at the stop
//! from the store's index exactly as the next start's restore will make it,
//! kept in the store (`Store::keep_list`), and served by that start from its
//! first moment, before the index is even read, until the first change to any
//! session. The store drops it at its first write after the stop and takes it
//! when it opens, so it is only ever found when nothing was written since it
//! was made; with a session that has work at the stop (a turn to recover,
//! queued inputs, leftover processes) none is kept. The key names this build
//! of the daemon and the request, so another build (whose summaries may
//! differ) or another shape never gets it.

use std::sync::Arc;

use tether_shared::protocol::{ListParams, ListShape};
use tracing::{debug, warn};

use super::asleep::{asleep_info, has_work};
use super::registry::Registry;
use super::slots::{KeptState, write_sorted};
use crate::store::ListSnapshot;

/// Bump when what a kept list holds changes in a way the build's identity
/// would not show.
const FORMAT: u32 = 1;

/// What a kept list for `p` made by this build is keyed by; `None` when this
/// build cannot say who it is (then nothing is kept).
fn key_of(p: &ListParams) -> Option<String> {
    static BUILD: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let build = BUILD.get_or_init(|| {
        let exe = std::env::current_exe().ok()?;
        let meta = std::fs::metadata(exe).ok()?;
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some(format!(
            "{}:{}:{}",
            env!("CARGO_PKG_VERSION"),
            meta.len(),
            mtime.as_nanos()
        ))
    });
    let params = serde_json::to_string(p).ok()?;
    Some(format!("{FORMAT}|{}|{params}", build.as_ref()?))
}

impl Registry {
    /// At a clean stop, once the sessions are stopped: keeps the list the next
    /// start will serve (see the module's comment). Not on a fleet, whose list
    /// shows other nodes' leases.
    pub async fn keep_list(&self) {
        if self.shared.fleet.active() || self.shared.store.shared() {
            return;
        }
        let t0 = std::time::Instant::now();
        let params = ListParams::ls();
        let Some(key) = key_of(&params) else {
            return;
        };
        let entries = match self.shared.store.index().await {
            Ok(e) => e,
            Err(e) => {
                warn!(error = %e, "could not keep the session list for the next start");
                return;
            }
        };
        if entries.iter().any(has_work) {
            debug!("a session has work: no session list kept for the next start");
            return;
        }
        let n = entries.len();
        // The table shows no price source: none is looked up.
        let infos: Vec<_> = entries
            .into_iter()
            .map(|e| asleep_info(e, Default::default()))
            .collect();
        let mut body = Vec::with_capacity(n * 128);
        if let Err(e) = write_sorted(infos.iter(), n, &ListShape::new(&params), &mut body) {
            warn!(error = %e, "could not keep the session list for the next start");
            return;
        }
        let bytes = body.len();
        match self
            .shared
            .store
            .keep_list(ListSnapshot { key, body })
            .await
        {
            Ok(()) => debug!(
                sessions = n,
                bytes,
                ms = t0.elapsed().as_millis() as u64,
                "session list kept for the next start"
            ),
            Err(e) => warn!(error = %e, "could not keep the session list for the next start"),
        }
    }

    /// The list kept at the last stop, while no session's summary has changed
    /// since the start (every change goes through `SessionShared::list_changed`;
    /// until the first, the table holds exactly what the index held at the
    /// stop), when it was made by this build for exactly `p`; `None`
    /// otherwise (the list is then made, `early.rs` or the table's).
    pub async fn kept_list(&self, p: &ListParams) -> Option<Arc<ListSnapshot>> {
        if self.shared.fleet.active() {
            return None;
        }
        let mut state = self.kept.lock().await;
        if matches!(*state, KeptState::Untaken) {
            *state = match self.shared.store.kept_list().await {
                Ok(Some(k)) => KeptState::Held(Arc::new(k)),
                Ok(None) => KeptState::Gone,
                Err(e) => {
                    warn!(error = %e, "could not read the session list kept at the last stop");
                    KeptState::Gone
                }
            };
        }
        if self.shared.list.version() != 0 {
            *state = KeptState::Gone;
        }
        match &*state {
            KeptState::Held(k) if Some(&k.key) == key_of(p).as_ref() => Some(k.clone()),
            _ => None,
        }
    }

    /// Lets the kept list go at the first change to the table (its memory
    /// with it: 12.6 MB at 100,000 sessions), or at once when the restore
    /// found sessions with work, which a kept list never has.
    pub fn watch_kept(self: &Arc<Self>) {
        let mut changes = self.shared.list.watch();
        let registry = self.clone();
        tokio::spawn(async move {
            if changes.borrow_and_update().eq(&0) {
                tokio::select! {
                    _ = changes.changed() => {}
                    () = registry.cancel.cancelled() => {}
                }
            }
            let mut state = registry.kept.lock().await;
            *state = KeptState::Gone;
        });
    }

    /// The restore found sessions with work: a kept list never has them, so
    /// one served before now was not what the table holds.
    pub(super) async fn end_kept(&self) {
        let mut state = self.kept.lock().await;
        if matches!(*state, KeptState::Held(_)) {
            warn!("the session list kept at the last stop did not match the store");
        }
        *state = KeptState::Gone;
    }
}
