//! The task that owns one connection's rmcp service loop and its child process: turns
//! the connection ending by itself into one `ServerEvent::Closed`, and a shutdown into an
//! orderly stop (close the transport, then kill the process group after a grace period).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmcp::service::{RoleClient, RunningService};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::error::McpError;
use super::handler::{Handler, SUPPRESSED_REPORT_EVERY, report_suppressed};
use super::notices::Limiter;
use super::stdio::{ServerProcess, Stopped};
use super::types::ServerEvent;

/// After the transport is closed, a stdio server gets this long to exit before
/// its process group is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// Bound on waiting for rmcp's service loop to finish after cancelling it.
const SERVICE_STOP_WAIT: Duration = Duration::from_secs(3);
/// Bound on waiting for the last stderr lines of a server that exited.
const STDERR_FLUSH_WAIT: Duration = Duration::from_secs(1);
/// A server that exits during startup has usually done so within this long
/// after its stdout closed.
const STARTUP_EXIT_WAIT: Duration = Duration::from_millis(500);

/// Owns the rmcp service and the child; turns the connection ending into one
/// [`ServerEvent::Closed`], or into an orderly stop on shutdown.
pub(super) struct Supervisor {
    pub(super) server: String,
    pub(super) running: RunningService<RoleClient, Handler>,
    pub(super) service_ct: CancellationToken,
    pub(super) shutdown: CancellationToken,
    pub(super) process: Option<ServerProcess>,
    pub(super) events: UnboundedSender<ServerEvent>,
    pub(super) limiter: Arc<Mutex<Limiter>>,
}

/// Why the supervisor woke up.
enum End {
    /// rmcp's service loop finished on its own (stdout EOF, HTTP worker gone).
    Transport,
    /// The child exited (its stdout may still be held open by a descendant).
    Exited,
    /// `shutdown()` was called or the client was dropped.
    Shutdown,
}

impl Supervisor {
    pub(super) async fn run(self) {
        let Supervisor {
            server,
            running,
            service_ct,
            shutdown,
            mut process,
            events,
            limiter,
        } = self;
        let waiting = running.waiting();
        tokio::pin!(waiting);
        let suppressed = || {
            let n = limiter
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take_suppressed();
            report_suppressed(&server, n);
        };
        let mut report = tokio::time::interval(SUPPRESSED_REPORT_EVERY);
        let end = loop {
            tokio::select! {
                result = &mut waiting => {
                    if let Err(e) = result {
                        tracing::warn!(server = %server, error = %e, "mcp service task failed");
                    }
                    break End::Transport;
                }
                _ = wait_child(process.as_mut()) => break End::Exited,
                () = shutdown.cancelled() => break End::Shutdown,
                _ = report.tick() => suppressed(),
            }
        };
        suppressed();
        if !matches!(end, End::Transport) {
            // Ends the loop; rmcp then closes the transport (drops the child's
            // stdin, or ends the HTTP session).
            service_ct.cancel();
            if tokio::time::timeout(SERVICE_STOP_WAIT, &mut waiting)
                .await
                .is_err()
            {
                tracing::warn!(server = %server, "mcp service loop did not stop in time");
            }
        }
        let stopped = match process.as_mut() {
            Some(process) => Some(process.stop(EXIT_GRACE).await),
            None => None,
        };
        if matches!(end, End::Shutdown) || shutdown.is_cancelled() {
            return;
        }
        let error = match (process.as_mut(), stopped) {
            (Some(_), Some(Stopped { killed: true, .. })) => {
                Some("server closed its output but did not exit; it was killed".to_string())
            }
            (
                Some(process),
                Some(Stopped {
                    status: Some(status),
                    ..
                }),
            ) => {
                process.flush_stderr(STDERR_FLUSH_WAIT).await;
                let last = process.tail().lines().pop().unwrap_or_default();
                let last = if last.trim().is_empty() {
                    String::new()
                } else {
                    format!("; stderr: {}", last.trim())
                };
                (!status.success()).then(|| format!("server exited ({status}){last}"))
            }
            (Some(_), _) => Some("server closed its connection".to_string()),
            (None, _) => Some("the HTTP connection ended".to_string()),
        };
        tracing::warn!(server = %server, error = ?error, "mcp server connection closed");
        // The receiver being gone only means nobody is listening any more.
        let _ = events.send(ServerEvent::Closed { error });
    }
}

/// Waits for the child to exit; never completes without a child or if waiting
/// fails (the transport ending will then wake the supervisor).
async fn wait_child(process: Option<&mut ServerProcess>) {
    match process {
        Some(process) => match process.wait().await {
            Ok(_) => {}
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// After a failed start: let a dying server finish, kill what is left, and
/// build the error with its exit status and stderr tail.
pub(super) async fn startup_failure(
    server: &str,
    process: &mut ServerProcess,
    reason: String,
) -> McpError {
    let reason = match process.wait_for_exit(STARTUP_EXIT_WAIT).await {
        Some(status) => format!("the server exited during startup ({status})"),
        None => reason,
    };
    process.kill_group();
    process.stop(EXIT_GRACE).await;
    process.flush_stderr(STDERR_FLUSH_WAIT).await;
    McpError::Start {
        server: server.to_string(),
        reason,
        stderr: process.tail().lines(),
    }
}
