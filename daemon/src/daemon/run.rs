//! How the daemon starts and the order it stops in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use super::context::{DaemonContext, DaemonOptions, STORE_FILE};
use crate::config::ConfigSource;
use crate::rpc::listener as server;
use crate::session::Registry;
use crate::session::context::window::WindowBook;
use crate::session::{ProjectInstructions, SessionShared};
use crate::store::{PgStore, SqliteStore, Store};
use crate::tools::ToolManager;

/// How long shutdown waits for sessions and connections before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Opens the store the daemon keeps its sessions in: the PostgreSQL database
/// that `TETHER_STORE_URL` or `[store] url` names (issue 16), else `tether.db`
/// in the state directory.
async fn open_store(options: &DaemonOptions) -> anyhow::Result<Arc<dyn Store>> {
    let config_text = std::fs::read_to_string(options.config_dir.join("config.toml")).ok();
    let env = std::env::var(crate::config::STORE_URL_ENV).ok();
    let url = crate::config::store_url(env, config_text.as_deref())
        .map_err(|e| anyhow::anyhow!("failed to choose the store: {e}"))?;
    Ok(match url {
        Some(url) => {
            let name = crate::store::redact_url(&url);
            Arc::new(
                PgStore::open(&url)
                    .await
                    .with_context(|| format!("failed to open the store {name}"))?,
            )
        }
        None => {
            let db = options.state_dir.join(STORE_FILE);
            Arc::new(
                SqliteStore::open(&db)
                    .with_context(|| format!("failed to open the store {}", db.display()))?,
            )
        }
    })
}

/// Runs the daemon until `shutdown` fires, then stops in order: stop accepting,
/// tell clients, stop sessions (each persists), bounded wait, remove the socket.
pub async fn run(options: DaemonOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    tether_shared::paths::create_private_dir(&options.state_dir).with_context(|| {
        format!(
            "failed to create state directory {}",
            options.state_dir.display()
        )
    })?;
    server::prepare_socket_dir(&options.socket)?;
    let _lock = server::acquire_lock(&options.socket)?;
    let _state_lock = server::acquire_state_lock(&options.state_dir, &options.socket)?;
    let listener = server::bind(&options.socket).await?;

    let store = open_store(&options).await?;
    info!(store = %store.describe(), "store open");
    let config = Arc::new(ConfigSource::new(options.config_dir.join("config.toml")));
    if let (_, Some(e)) = config.load() {
        warn!(error = %e, "config.toml does not parse; using defaults until it is fixed");
    }
    // The node's name and lease are read once: leases are held under them.
    let fleet = Arc::new(crate::fleet::Fleet::new(
        &config.load().0.fleet,
        store.shared(),
    ));
    if fleet.active() {
        info!(node = %fleet.node, lease_s = fleet.lease.as_secs_f64(), "node of a fleet");
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .build()
        .context("failed to build the HTTP client")?;
    let tools_cancel = CancellationToken::new();
    let tools = ToolManager::new(&options.config_dir, config.clone(), tools_cancel);
    tools.set_auth_dir(options.state_dir.join("mcp-auth"));
    tools.start().await;
    let project = ProjectInstructions::new(CancellationToken::new());
    project.start();
    let session_tracker = TaskTracker::new();
    let notifier = crate::notify::Notifier::start(config.clone());
    let shared = Arc::new(SessionShared {
        store,
        config,
        tools: tools.clone(),
        project: project.clone(),
        http,
        tracker: session_tracker.clone(),
        windows: Arc::new(WindowBook::open(&options.state_dir)),
        list: Default::default(),
        notifier: notifier.clone(),
        slots: Default::default(),
        fleet,
    });
    let sessions_cancel = CancellationToken::new();
    let daemon = Arc::new(DaemonContext::new(
        options.clone(),
        Registry::new(shared.clone(), sessions_cancel.clone()),
        shared,
        shutdown.clone(),
    ));
    // Connections are taken from the start (issue 13): a `session.list` is
    // answered from the restore's index as soon as it is read, and every other
    // request waits until the sessions are restored (`restored`).
    let accept_stop = CancellationToken::new();
    let accept = tokio::spawn(server::accept_loop(
        listener,
        daemon.clone(),
        accept_stop.clone(),
    ));
    let t0 = Instant::now();
    // A store too damaged to list its sessions still gets a daemon that says so
    // (`daemon status`, every read), rather than one that will not start.
    let restored = match daemon.registry.restore().await {
        Ok(n) => n,
        Err(e) => {
            error!(error = %e, "could not restore the sessions");
            0
        }
    };
    daemon.registry.first_view().await;
    daemon.registry.start_fleet();
    // On a fleet: the requests other nodes relay to this node's sessions.
    let relay_stop = CancellationToken::new();
    crate::rpc::relay::start(daemon.clone(), relay_stop.clone());
    info!(
        socket = %options.socket.display(),
        sessions = restored,
        restore_ms = t0.elapsed().as_millis() as u64,
        pid = std::process::id(),
        "daemon ready"
    );

    // After the restore: a missed firing wakes its session through the
    // registry, which knows every session by now.
    let schedules_stop = CancellationToken::new();
    let schedules_tracker = TaskTracker::new();
    let _ = daemon.schedules.set(
        crate::schedule::Scheduler::start(
            daemon.shared.store.clone(),
            daemon.registry.clone(),
            Arc::new(crate::schedule::SystemClock),
            schedules_tracker.clone(),
            schedules_stop.clone(),
        )
        .await,
    );
    daemon.registry.end_early();
    daemon.registry.watch_kept();
    daemon.restored.cancel();

    let prune_stop = CancellationToken::new();
    let prune = tokio::spawn(crate::rpc::keys::prune_loop(
        daemon.shared.store.clone(),
        prune_stop.clone(),
    ));

    shutdown.cancelled().await;

    info!("shutting down");
    accept_stop.cancel();
    let _ = accept.await;
    prune_stop.cancel();
    let _ = prune.await;
    // No firing starts once the sessions begin to stop.
    schedules_stop.cancel();
    relay_stop.cancel();
    schedules_tracker.close();
    daemon.closing.cancel();
    let stop_sessions = daemon.registry.stop_all();
    if tokio::time::timeout(SHUTDOWN_GRACE, stop_sessions)
        .await
        .is_err()
    {
        warn!("sessions did not stop in time");
    }
    // Stopped, each at a point the next node resumes from: let it take them now.
    daemon.registry.release_leases().await;
    sessions_cancel.cancel();
    // Sessions are stopped: now their tool servers and notifications can go.
    tools.shutdown().await;
    notifier.shutdown().await;
    project.shutdown().await;
    session_tracker.close();
    daemon.tracker().close();
    let both = async {
        session_tracker.wait().await;
        daemon.tracker().wait().await;
        schedules_tracker.wait().await;
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, both).await.is_err() {
        warn!("some tasks did not finish in time");
    }
    // The list the next start serves before it reads the index (issue 13):
    // the last write, so the checkpoint below folds it into `tether.db` too.
    daemon.registry.keep_list().await;
    daemon.shared.store.checkpoint().await;
    // The listener usually removes its socket when dropped; remove a leftover.
    if let Err(e) = std::fs::remove_file(&options.socket)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        warn!(error = %e, "failed to remove the socket");
    }
    info!("daemon stopped");
    Ok(())
}
