//! The daemon's front door: the socket (directory 0700, socket 0600, peer uid
//! checked), the lock that keeps one daemon per socket, and the accept loop.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use super::connection;
use crate::daemon::DaemonContext;

/// The lock file beside the socket: held for the daemon's lifetime.
pub fn lock_path(socket: &Path) -> PathBuf {
    let mut s = socket.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Creates the socket's directory 0700, or checks that an existing one is ours
/// and private.
pub fn prepare_socket_dir(socket: &Path) -> anyhow::Result<()> {
    let dir = socket
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create socket directory {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("failed to make {} private", dir.display()))?;
        return Ok(());
    }
    let meta =
        std::fs::metadata(dir).with_context(|| format!("cannot inspect {}", dir.display()))?;
    let uid = nix::unistd::getuid().as_raw();
    if meta.uid() != uid {
        bail!(
            "socket directory {} belongs to uid {}, not to you (uid {uid}); choose another with --socket or TETHER_SOCKET",
            dir.display(),
            meta.uid()
        );
    }
    if meta.mode() & 0o077 != 0 {
        // Ours but open to others: a directory we would have made 0700 ourselves.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("failed to make {} private (0700)", dir.display()))?;
    }
    Ok(())
}

/// Holds the daemon lock; released when dropped (or when the process dies).
pub struct DaemonLock {
    _file: File,
}

/// Another daemon holds this socket's lock: one serving, one still starting,
/// or one dying whose lock the kernel has not dropped yet. `tether-daemon
/// --background` exits with [`EXIT_ALREADY_RUNNING`] on it, so that a command
/// that started it waits for the holder instead of failing.
#[derive(Debug)]
pub struct AlreadyRunning {
    socket: PathBuf,
    pid: String,
}

impl std::fmt::Display for AlreadyRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a tether daemon is already running on {} (pid {}); stop it with `tether daemon stop`",
            self.socket.display(),
            self.pid
        )
    }
}

impl std::error::Error for AlreadyRunning {}

/// The exit status of `tether-daemon --background` when another daemon holds
/// the socket's lock ([`AlreadyRunning`]); EX_TEMPFAIL of `sysexits.h`.
pub const EXIT_ALREADY_RUNNING: u8 = 75;

/// Takes the daemon lock for `socket`, or says who holds it ([`AlreadyRunning`]).
pub fn acquire_lock(socket: &Path) -> anyhow::Result<DaemonLock> {
    let path = lock_path(socket);
    let held = lock(&path, &std::process::id().to_string())?;
    held.map_err(|pid| {
        anyhow::Error::new(AlreadyRunning {
            socket: socket.to_path_buf(),
            pid: pid.trim().to_string(),
        })
    })
}

/// The state directory's own lock: one state directory takes one daemon, even
/// when two are started on different sockets (`XDG_RUNTIME_DIR` set in one
/// shell and not in another gives two socket paths for the same state). Two
/// daemons on one store would each write sessions the other runs.
pub fn acquire_state_lock(state_dir: &Path, socket: &Path) -> anyhow::Result<DaemonLock> {
    let path = state_dir.join(STATE_LOCK_FILE);
    let me = format!("{} {}", std::process::id(), socket.display());
    let held = lock(&path, &me)?;
    held.map_err(|holder| {
        let (pid, other) = holder.trim().split_once(' ').unwrap_or((holder.trim(), "?"));
        if Path::new(other) == socket {
            // A daemon on this very socket that has dropped the socket's lock
            // and not yet this one: it is dying.
            return anyhow::Error::new(AlreadyRunning {
                socket: socket.to_path_buf(),
                pid: pid.to_string(),
            });
        }
        anyhow::anyhow!(
            "another tether daemon (pid {pid}) is using the state directory {} on the socket {other}; \
             one state directory takes one daemon: use that socket (TETHER_SOCKET={other}) or stop it \
             with `TETHER_SOCKET={other} tether daemon stop`",
            state_dir.display()
        )
    })
}

/// The file in the state directory that [`acquire_state_lock`] locks.
pub const STATE_LOCK_FILE: &str = "daemon.lock";

/// Locks `path` (created if needed) and writes `who` in it; `Ok(Err(holder))`
/// with what the holder wrote when another process has it.
fn lock(path: &Path, who: &str) -> anyhow::Result<Result<DaemonLock, String>> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("failed to open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Ok(Err(std::fs::read_to_string(path).unwrap_or_default()));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("failed to lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    write!(file, "{who}")?;
    Ok(Ok(DaemonLock { _file: file }))
}

/// Binds the socket, reclaiming a stale one (we hold the lock, so nobody serves it).
pub async fn bind(socket: &Path) -> anyhow::Result<LocalSocketListener> {
    if socket.exists() {
        let name = socket.to_fs_name::<GenericFilePath>()?;
        if LocalSocketStream::connect(name).await.is_ok() {
            bail!(
                "another process is serving {}; stop it first",
                socket.display()
            );
        }
        std::fs::remove_file(socket)
            .with_context(|| format!("failed to remove stale socket {}", socket.display()))?;
        info!(socket = %socket.display(), "reclaimed a stale socket");
    }
    let name = socket.to_fs_name::<GenericFilePath>()?;
    let listener = ListenerOptions::new()
        .name(name)
        .mode(0o600)
        .create_tokio()
        .with_context(|| format!("failed to listen on {}", socket.display()))?;
    Ok(listener)
}

/// Accepts connections until `stop` fires.
pub async fn accept_loop(
    listener: LocalSocketListener,
    daemon: Arc<DaemonContext>,
    stop: CancellationToken,
) {
    let uid = nix::unistd::getuid().as_raw();
    let mut next_conn = 0u64;
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        next_conn += 1;
        let peer = stream.peer_creds().ok().and_then(|c| c.euid());
        if peer != Some(uid) {
            warn!(peer_uid = ?peer, "refused a connection from another user");
            daemon.tracker().spawn(connection::refuse(stream, peer));
            continue;
        }
        let span = info_span!("conn", id = next_conn);
        daemon
            .tracker()
            .spawn(connection::serve(stream, daemon.clone()).instrument(span));
    }
}
