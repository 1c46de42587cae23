//! The daemon's shared context: what it owns while it runs (the sessions, the
//! store and tools through [`SessionShared`], the stop tokens, the connection
//! count and tracker). Every RPC handler gets it; `run.rs` builds it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tether_shared::protocol::DaemonStatus;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::rpc::keys::InFlight;
use crate::rpc::list_cache::ListCache;
use crate::session::Registry;
use crate::session::SessionShared;

/// Where the daemon lives.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The socket path.
    pub socket: PathBuf,
    /// The config directory (`config.toml`, tool configs).
    pub config_dir: PathBuf,
    /// The state directory (the store, the log).
    pub state_dir: PathBuf,
    /// The log file, when the daemon logs to one (its dropped-line count is shown
    /// by `daemon status`).
    pub log: Option<super::logfile::LogFile>,
}

/// The store's file name in the state dir.
pub(crate) const STORE_FILE: &str = "tether.db";

/// The running daemon, shared by every connection.
pub struct DaemonContext {
    /// Where it lives.
    pub options: DaemonOptions,
    /// The sessions.
    pub registry: Arc<Registry>,
    /// Daemon-wide session needs.
    pub shared: Arc<SessionShared>,
    /// Fires when the daemon should stop (`daemon.stop`, a signal).
    pub shutdown: CancellationToken,
    /// Fires when connections should say goodbye and close.
    pub closing: CancellationToken,
    /// Connected clients.
    pub clients: AtomicUsize,
    /// Request keys being handled now (see [`crate::rpc::keys`]).
    pub(crate) keys_in_flight: InFlight,
    /// The whole session list, encoded once for every whole-list subscriber.
    pub(crate) list_cache: ListCache,
    /// Schedules and file triggers (issue 15): set once the sessions are
    /// restored, before the first connection.
    pub schedules: std::sync::OnceLock<Arc<crate::schedule::Scheduler>>,
    /// The last attach pages read, for attaching again (`rpc/page_cache.rs`).
    pub(crate) pages: crate::rpc::page_cache::PageCache,
    /// Fires once the sessions are restored and the schedules set (issue 13:
    /// connections are taken from the start; until then every request but
    /// `session.list` waits for it, see `rpc/dispatch.rs`).
    pub restored: CancellationToken,
    started: Instant,
    conn_tracker: TaskTracker,
}

impl DaemonContext {
    /// The context of a daemon starting now, with no client connected.
    pub fn new(
        options: DaemonOptions,
        registry: Arc<Registry>,
        shared: Arc<SessionShared>,
        shutdown: CancellationToken,
    ) -> Self {
        DaemonContext {
            options,
            registry,
            shared,
            shutdown,
            closing: CancellationToken::new(),
            clients: AtomicUsize::new(0),
            keys_in_flight: InFlight::default(),
            list_cache: ListCache::default(),
            schedules: std::sync::OnceLock::new(),
            pages: Default::default(),
            restored: CancellationToken::new(),
            started: Instant::now(),
            conn_tracker: TaskTracker::new(),
        }
    }

    /// The tracker for connection tasks.
    pub fn tracker(&self) -> &TaskTracker {
        &self.conn_tracker
    }

    /// Status for `tether daemon status`.
    pub fn status(&self) -> DaemonStatus {
        let (_, error) = self.shared.config.load();
        let health = self.shared.store.health();
        let (sessions, awake) = self.registry.counts();
        let fleet = &self.shared.fleet;
        DaemonStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            socket: self.options.socket.display().to_string(),
            state_dir: self.options.state_dir.display().to_string(),
            config_dir: self.options.config_dir.display().to_string(),
            sessions,
            awake_sessions: Some(awake),
            uptime_s: self.started.elapsed().as_secs(),
            clients: self.clients.load(Ordering::Relaxed),
            config_error: error.map(|e| e.to_string()),
            log_dropped: self.options.log.as_ref().map_or(0, |l| l.dropped()),
            store_damage_help: (!health.damage.is_empty()).then(|| self.shared.store.damage_help()),
            store_damage: health.damage,
            store_error: health.write_error,
            store: Some(self.shared.store.describe()),
            node: fleet.active().then(|| fleet.node.clone()),
            lease_s: fleet.active().then(|| fleet.lease.as_secs_f64()),
        }
    }
}
