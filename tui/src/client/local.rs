//! The client on the daemon's local socket: connect, or connect and start the
//! daemon when none runs (race-free), waiting out a daemon that is dying.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use interprocess::local_socket::GenericFilePath;
use interprocess::local_socket::tokio::prelude::*;

use super::connection::Client;
use super::error::ClientError;
use super::{DaemonClient, Stream};

/// Connects and says hello. Fails fast when nobody listens.
pub async fn connect(socket: &Path) -> Result<DaemonClient, ClientError> {
    let name = socket.to_fs_name::<GenericFilePath>()?;
    let stream = LocalSocketStream::connect(name).await?;
    Client::handshake(Box::new(stream) as Box<dyn Stream>).await
}

/// [`connect`] with `M` sent right behind the hello (one round trip for both),
/// and `meanwhile` run while the daemon answers them (see
/// [`Client::handshake_then`]); the id of `M`'s answer and what `meanwhile`
/// made.
pub async fn connect_then<M: tether_shared::protocol::Method, R>(
    socket: &Path,
    params: &M::Params,
    meanwhile: impl FnOnce() -> R,
) -> Result<(DaemonClient, u64, R), ClientError> {
    let name = socket.to_fs_name::<GenericFilePath>()?;
    let stream = LocalSocketStream::connect(name).await?;
    Client::handshake_then::<M, R>(Box::new(stream) as Box<dyn Stream>, params, meanwhile).await
}

/// Whether `e` says no daemon listens on the socket.
pub fn nobody_listens(e: &ClientError) -> bool {
    matches!(e, ClientError::Io(io) if matches!(io.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused))
}

/// The connection was taken and dropped before the hello was answered: a daemon
/// dying right now (killed, or stopping), whose socket goes away in a moment.
fn dropped(e: &ClientError) -> bool {
    matches!(e, ClientError::Io(io) if matches!(
        io.kind(),
        ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe
    ))
}

/// How long a command waits for a dying daemon to be gone before starting one.
const DYING_GRACE: Duration = Duration::from_secs(5);

/// Connects; a daemon that drops the connection during the hello is dying, so
/// this waits (bounded) until it answers or is gone.
async fn connect_past_dying(socket: &Path) -> Result<DaemonClient, ClientError> {
    let deadline = Instant::now() + DYING_GRACE;
    loop {
        match connect(socket).await {
            Err(e) if dropped(&e) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// Connects to the daemon, starting one when none runs. Racing callers start
/// exactly one daemon: the starter holds a lock beside the socket while it waits.
pub async fn connect_or_start(socket: &Path) -> anyhow::Result<DaemonClient> {
    match connect_past_dying(socket).await {
        Ok(c) => return Ok(c),
        Err(e) if nobody_listens(&e) => {}
        Err(e) => {
            return Err(anyhow!(e)).context(format!(
                "cannot connect to the daemon at {}",
                socket.display()
            ));
        }
    }
    tether_daemon::prepare_socket_dir(socket)?;
    let lock_path = PathBuf::from(format!("{}.spawn", socket.display()));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("failed to open {}", lock_path.display()))?;
    let lock = tokio::task::spawn_blocking(move || lock.lock().map(|_| lock)).await??;
    // Someone may have started it while we waited for the lock.
    match connect_past_dying(socket).await {
        Ok(c) => return Ok(c),
        Err(e) if nobody_listens(&e) => {}
        Err(e) => return Err(anyhow!(e)).context("cannot connect to the daemon"),
    }
    let started = start_daemon(socket).await;
    drop(lock);
    started
}

/// The daemon's executable, `tether-daemon`, beside this `tether` (the real
/// file, a symlink resolved): they are built and installed together, so the
/// daemon a command starts is always its own build's, never another on `PATH`.
pub fn daemon_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the tether executable")?;
    let daemon = exe.with_file_name("tether-daemon");
    if !daemon.is_file() {
        bail!(
            "tether-daemon is not beside {}: it is built and installed with tether (`cargo build --release` builds both, `cargo install --path tui` installs both); keep the two together",
            exe.display()
        );
    }
    Ok(daemon)
}

/// How long a command waits for a daemon it started to listen.
const START_WAIT: Duration = Duration::from_secs(15);

/// How often a command tries again to start a daemon while another holds the
/// socket's lock without listening (one still starting, or one dying).
const HELD_RETRY: Duration = Duration::from_millis(100);

/// Starts `tether-daemon --background`, its stderr to `daemon-start.log`.
fn spawn_daemon(socket: &Path, start_log: &Path) -> anyhow::Result<tokio::process::Child> {
    let err_file = std::fs::File::create(start_log)
        .with_context(|| format!("failed to create {}", start_log.display()))?;
    tokio::process::Command::new(daemon_exe()?)
        .arg("--socket")
        .arg(socket)
        .arg("--background")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(err_file))
        .spawn()
        .context("failed to start the daemon")
}

/// The last non-empty line of `daemon-start.log`, without our own prefix.
fn last_start_line(start_log: &Path) -> String {
    let log = std::fs::read_to_string(start_log).unwrap_or_default();
    let last = log
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim();
    // The daemon's own error line starts as ours do; say it once.
    last.strip_prefix("tether: ").unwrap_or(last).to_string()
}

/// Starts a daemon and connects to it. A daemon that another holds the lock
/// against is not a failure: the holder is starting (it answers soon) or
/// dying (its lock goes with it, and the next start takes it), so this keeps
/// connecting and, every [`HELD_RETRY`], starts one again, until one answers
/// or [`START_WAIT`] passes.
async fn start_daemon(socket: &Path) -> anyhow::Result<DaemonClient> {
    let state_dir = tether_shared::paths::state_dir();
    tether_shared::paths::create_private_dir(&state_dir)
        .with_context(|| format!("failed to create {}", state_dir.display()))?;
    let start_log = state_dir.join("daemon-start.log");
    let mut child = Some(spawn_daemon(socket, &start_log)?);
    // When another daemon holds the lock: when to try again.
    let mut held: Option<Instant> = None;
    let deadline = Instant::now() + START_WAIT;
    loop {
        match connect(socket).await {
            Ok(c) => return Ok(c),
            Err(e) if nobody_listens(&e) || dropped(&e) => {}
            Err(e) => {
                return Err(anyhow!(e)).context("cannot connect to the daemon it just started");
            }
        }
        if let Some(running) = child.as_mut() {
            if let Some(status) = running.try_wait()? {
                let last = last_start_line(&start_log);
                if status.code() != Some(i32::from(tether_daemon::EXIT_ALREADY_RUNNING)) {
                    bail!("the daemon failed to start ({status}): {last}");
                }
                tracing::debug!(holder = %last, "another daemon holds the lock; waiting for it");
                child = None;
                held = Some(Instant::now() + HELD_RETRY);
            }
        } else if held.is_some_and(|at| Instant::now() >= at) {
            child = Some(spawn_daemon(socket, &start_log)?);
        }
        if Instant::now() > deadline {
            if held.is_some() {
                // A daemon started again that has not failed yet would take
                // the lock once its holder lets go, with nobody waiting for it.
                if let Some(mut late) = child {
                    let _ = late.start_kill();
                }
                let pid =
                    std::fs::read_to_string(tether_daemon::lock_path(socket)).unwrap_or_default();
                bail!(
                    "a tether daemon (pid {}) holds the lock of {} but did not answer within {} s; if it is stuck, kill it",
                    pid.trim(),
                    socket.display(),
                    START_WAIT.as_secs()
                );
            }
            bail!(
                "the daemon did not start listening on {} within {} s; see {}",
                socket.display(),
                START_WAIT.as_secs(),
                start_log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
