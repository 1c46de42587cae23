//! Hosting the daemon in this process, as `tether daemon` does: detach from the
//! terminal in the background, set up logging, run on a multi-threaded runtime,
//! and stop gracefully on SIGTERM or SIGINT (SIGHUP is ignored).

use std::path::PathBuf;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::context::DaemonOptions;
use super::logging::init_logging;
use super::run::run;

/// Runs the daemon for `socket` until a signal or `daemon.stop`, with the state
/// and config directories from the environment. `background`: a new session
/// without a controlling terminal, logging only to `daemon.log` (else also to
/// stderr). Logging is set up before the daemon starts, so its error is logged
/// too (`tracing` works for the caller once this returns).
pub fn host(socket: PathBuf, background: bool) -> anyhow::Result<()> {
    if background {
        // A new session: no controlling terminal, so closing the terminal that
        // started us (or losing SSH) cannot send us SIGHUP.
        let _ = nix::unistd::setsid();
    }
    let state_dir = tether_shared::paths::state_dir();
    tether_shared::paths::create_private_dir(&state_dir)
        .with_context(|| format!("failed to create {}", state_dir.display()))?;
    let log = init_logging(&state_dir, !background)?;
    let options = DaemonOptions {
        socket,
        log: Some(log),
        config_dir: tether_shared::paths::config_dir(),
        state_dir,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start tokio")?;
    rt.block_on(async move {
        let shutdown = CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move { wait_for_signals(signals).await });
        run(options, shutdown).await
    })
}

/// Fires `shutdown` on SIGTERM or SIGINT; a SIGHUP is logged and ignored.
async fn wait_for_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::warn!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            // A headless daemon outlives its terminal.
            _ = hup.recv() => { tracing::info!("SIGHUP ignored"); continue; }
        }
    }
    tracing::info!("signal received");
    shutdown.cancel();
}
