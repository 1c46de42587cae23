//! This daemon as a node of a fleet (issue 16): its node id, its lease length,
//! the leases it holds and what it last read of everyone's. The registry drives
//! it (`session/fleet.rs`: heartbeat, take-over, hand-over); the store keeps the
//! lease rows and fences the writes (`store/lease.rs`).
//!
//! Off a fleet (the store is this machine's `tether.db`) it is inactive: the one
//! node owns everything, no lease is read or written, and summaries carry no node.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use crate::store::Lease;

/// This node of the fleet.
pub struct Fleet {
    /// This daemon's node id (`[fleet] node`, else the host name).
    pub node: String,
    /// `[fleet] lease_s`.
    pub lease: Duration,
    active: bool,
    /// Every lease as last read (by the heartbeat), by session id.
    view: RwLock<HashMap<String, Lease>>,
    /// The sessions whose lease this node holds.
    held: Mutex<HashSet<String>>,
    /// Sessions this node lost, and the node each went to: what their clients hear.
    moved: Mutex<HashMap<String, String>>,
}

impl Fleet {
    /// The node of `config`; active when the store is shared.
    pub fn new(config: &crate::config::fleet::Fleet, shared_store: bool) -> Self {
        Fleet {
            node: config.node(),
            lease: config.lease,
            active: shared_store,
            view: RwLock::default(),
            held: Mutex::default(),
            moved: Mutex::default(),
        }
    }

    /// True on a fleet (a shared store): leases are real.
    pub fn active(&self) -> bool {
        self.active
    }

    /// The lease length in milliseconds, as the store takes it.
    pub fn lease_ms(&self) -> u64 {
        self.lease.as_millis().min(u128::from(u64::MAX)) as u64
    }

    /// How often the heartbeat renews this node's leases and looks for
    /// sessions to take over: a third of the lease, so two renewals can be
    /// late before the lease runs out.
    pub fn heartbeat(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(100))
    }

    /// Replaces what is known of everyone's leases.
    pub fn set_view(&self, leases: Vec<Lease>) {
        let map = leases
            .into_iter()
            .map(|l| (l.session_id.clone(), l))
            .collect();
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = map;
    }

    /// Session `id`'s lease as last read.
    pub fn lease_of(&self, id: &str) -> Option<Lease> {
        self.view
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// The node a summary shows for session `id` (`None` off a fleet): this one
    /// while it holds the lease, else the lease's owner, else the node it is on
    /// its way to.
    pub fn node_of(&self, id: &str) -> Option<String> {
        if !self.active {
            return None;
        }
        if self.holds(id) {
            return Some(self.node.clone());
        }
        let lease = self.lease_of(id)?;
        match (lease.owner, lease.expired) {
            (Some(owner), false) => Some(owner),
            _ => lease.target,
        }
    }

    /// Whether session `id` is portable (as last read).
    pub fn portable(&self, id: &str) -> bool {
        self.lease_of(id).is_some_and(|l| l.portable)
    }

    /// True while this node holds session `id`'s lease.
    pub fn holds(&self, id: &str) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    /// This node now holds session `id`'s lease.
    pub fn hold(&self, id: &str) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string());
        self.moved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// This node no longer holds session `id`'s lease; `to` is where it went.
    pub fn lose(&self, id: &str, to: Option<&str>) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(to) = to {
            self.moved
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id.to_string(), to.to_string());
        }
    }

    /// The sessions this node holds.
    pub fn held(&self) -> HashSet<String> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The node session `id` went to, when this node lost it.
    pub fn moved_to(&self, id: &str) -> Option<String> {
        self.moved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: &str, owner: Option<&str>, expired: bool, target: Option<&str>) -> Lease {
        Lease {
            session_id: id.into(),
            owner: owner.map(str::to_string),
            fence: 1,
            expired,
            portable: false,
            target: target.map(str::to_string),
        }
    }

    fn fleet(active: bool) -> Fleet {
        let config = crate::config::fleet::Fleet {
            node: Some("a".into()),
            lease: Duration::from_secs(2),
        };
        Fleet::new(&config, active)
    }

    #[test]
    fn off_a_fleet_no_summary_has_a_node() {
        let f = fleet(false);
        f.hold("s1");
        assert_eq!(f.node_of("s1"), None);
    }

    #[test]
    fn a_summary_names_the_holder_else_the_live_owner_else_the_target() {
        let f = fleet(true);
        f.set_view(vec![
            lease("mine", Some("b"), true, None),
            lease("b-runs", Some("b"), false, None),
            lease("dead", Some("b"), true, None),
            lease("placed", None, false, Some("c")),
        ]);
        f.hold("mine");
        assert_eq!(f.node_of("mine").as_deref(), Some("a"));
        assert_eq!(f.node_of("b-runs").as_deref(), Some("b"));
        assert_eq!(f.node_of("dead"), None);
        assert_eq!(f.node_of("placed").as_deref(), Some("c"));
        assert_eq!(f.node_of("unknown"), None);
        f.lose("mine", Some("c"));
        assert!(!f.holds("mine"));
        assert_eq!(f.moved_to("mine").as_deref(), Some("c"));
        f.hold("mine");
        assert_eq!(f.moved_to("mine"), None);
    }

    #[test]
    fn the_heartbeat_beats_three_times_a_lease() {
        assert_eq!(fleet(true).heartbeat(), Duration::from_secs(2) / 3);
        assert_eq!(fleet(true).lease_ms(), 2000);
    }
}
