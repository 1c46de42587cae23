//! The daemon family: `tether daemon` (hosting the daemon in this process, with
//! its logging and signal handling) and `tether daemon stop|status`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use tether_shared::protocol::{Empty, method};

use super::output::print_json;
use crate::cli::{DaemonAction, DaemonArgs};
use crate::client::Target;
use crate::errors::one_line;

/// `tether daemon`: runs `tether-daemon` in this process's place (exec: the
/// same pid, so a service manager or a script that started `tether daemon`
/// signals the daemon itself).
pub(super) fn run_daemon(socket: PathBuf, args: &DaemonArgs) -> anyhow::Result<u8> {
    use std::os::unix::process::CommandExt;
    let exe = crate::client::daemon_exe()?;
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg("--socket").arg(&socket);
    if args.background {
        cmd.arg("--background");
    }
    // Returns only when the exec failed.
    let e = cmd.exec();
    Err(e).with_context(|| format!("cannot run {}", exe.display()))
}

/// The daemon in this process (`tether-daemon`'s `main`; its logging and
/// signal handling live in the daemon crate).
pub fn host_daemon(socket: PathBuf, background: bool) -> anyhow::Result<()> {
    tether_daemon::host(socket, background)
        // In the foreground the log also goes to stderr, where `main` prints the
        // error anyway: log it only when running in the background, so it is said once.
        .inspect_err(|e| {
            if background {
                tracing::error!(error = %one_line(e), "daemon failed");
            }
        })
}

/// `tether daemon stop|status`, on this machine or (`--host`) another.
pub(super) async fn daemon_action(action: DaemonAction, target: &Target) -> anyhow::Result<u8> {
    let mut c = match target.connect().await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let msg = format!("no tether daemon is running on {}", target.describe());
            return match action {
                DaemonAction::Stop => {
                    eprintln!("{msg}");
                    Ok(0)
                }
                DaemonAction::Status { .. } => bail!(msg),
            };
        }
        Err(e) => {
            return Err(e).context(format!("cannot connect to {}", target.describe()));
        }
    };
    match action {
        DaemonAction::Status { json } => {
            let s = c.call::<method::DaemonStatus>(&Empty {}).await?;
            if json {
                print_json(&s)?;
            } else {
                println!(
                    "running: pid {}, version {}, up {}s",
                    s.pid, s.version, s.uptime_s
                );
                println!("socket:  {}", s.socket);
                println!("state:   {}", s.state_dir);
                println!("config:  {}", s.config_dir);
                if let Some(store) = &s.store {
                    println!("store:   {store}");
                }
                if let Some(node) = &s.node {
                    println!("node:    {node} (lease {}s)", s.lease_s.unwrap_or(0.0));
                }
                match s.awake_sessions {
                    Some(awake) => println!(
                        "sessions: {} ({awake} awake), clients: {}",
                        s.sessions, s.clients
                    ),
                    None => println!("sessions: {}, clients: {}", s.sessions, s.clients),
                }
                if let Some(e) = s.config_error {
                    println!("config error: {e}");
                }
                for d in &s.store_damage {
                    println!("store damaged: {d}");
                }
                if let Some(help) = &s.store_damage_help {
                    println!("  what to do: {help}");
                }
                if let Some(e) = s.store_error {
                    println!("store writes failing: {e}");
                }
                if s.log_dropped > 0 {
                    println!(
                        "log: {} lines could not be written (a full or failing disk?)",
                        s.log_dropped
                    );
                }
            }
            Ok(0)
        }
        DaemonAction::Stop => {
            let s = c.call::<method::DaemonStatus>(&Empty {}).await?;
            c.call::<method::DaemonStop>(&Empty {}).await?;
            let Target::Local(socket) = target else {
                // The lock is on the other machine: the daemon closing its
                // connections (the bridge's too) is as near as we can see.
                let closed = tokio::time::timeout(Duration::from_secs(20), async {
                    while let Ok(Some(_)) = c.next_message().await {}
                })
                .await;
                if closed.is_err() {
                    bail!("the daemon (pid {}) did not stop within 20 s", s.pid);
                }
                return Ok(0);
            };
            // Stopped means the process is gone, not just that it said it would go:
            // its lock is released only when it exits (even before it is reaped).
            let lock_path = tether_daemon::lock_path(socket);
            let lock = std::fs::File::open(&lock_path)
                .with_context(|| format!("cannot open {}", lock_path.display()))?;
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                match lock.try_lock() {
                    Ok(()) => {
                        // Release at once: a daemon starting right now must get it.
                        let _ = lock.unlock();
                        break;
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {}
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(e).context("cannot check the daemon lock");
                    }
                }
                if std::time::Instant::now() > deadline {
                    bail!("the daemon (pid {}) did not stop within 20 s", s.pid);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(0)
        }
    }
}
