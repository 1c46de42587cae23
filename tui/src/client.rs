//! The daemon client: connect (starting the daemon when none runs, race-free),
//! handshake, requests and notifications.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use interprocess::local_socket::GenericFilePath;
use interprocess::local_socket::tokio::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tether_shared::framing::{Frame, FrameReader, write_frame};
use tether_shared::protocol::*;
use tokio::io::BufReader;

/// An error from the daemon, or from talking to it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon answered with an error.
    #[error("{0}")]
    Rpc(RpcError),
    /// The connection failed.
    #[error("lost the connection to the daemon: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon said something we could not read.
    #[error(
        "unexpected reply from the daemon: {0} (a daemon of another version? `tether daemon stop` restarts it)"
    )]
    Protocol(String),
}

/// A connection to the daemon.
pub struct Client {
    stream: FrameReader<BufReader<LocalSocketStream>>,
    next_id: u64,
    notifications: VecDeque<Notification>,
}

impl Client {
    /// Connects and says hello. Fails fast when nobody listens.
    pub async fn connect(socket: &Path) -> Result<Client, ClientError> {
        let name = socket.to_fs_name::<GenericFilePath>()?;
        let stream = LocalSocketStream::connect(name).await?;
        let mut c = Client {
            stream: FrameReader::new(BufReader::new(stream), MAX_RESPONSE_FRAME),
            next_id: 1,
            notifications: VecDeque::new(),
        };
        let _: HelloResult = c
            .request(
                method::HELLO,
                HelloParams {
                    protocol_version: PROTOCOL_VERSION,
                    client: "tether-cli".into(),
                },
            )
            .await?;
        Ok(c)
    }

    /// Sends a request and waits for its response; notifications that arrive
    /// meanwhile are kept for [`Client::next_notification`].
    pub async fn request<T: DeserializeOwned>(
        &mut self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, ClientError> {
        let id = self.send_only(method, params).await?;
        loop {
            match self.read().await? {
                ServerMessage::Response(r) if r.id == id || r.id.is_null() => {
                    if let Some(e) = r.error {
                        return Err(ClientError::Rpc(e));
                    }
                    return serde_json::from_value(r.result.unwrap_or(Value::Null))
                        .map_err(|e| ClientError::Protocol(e.to_string()));
                }
                ServerMessage::Response(_) => continue,
                ServerMessage::Notification(n) => self.notifications.push_back(n),
            }
        }
    }

    /// Sends a request without waiting for its response (its response is skipped
    /// by [`Client::next_notification`]). For interactive loops.
    pub async fn send_only(
        &mut self,
        method: &str,
        params: impl Serialize,
    ) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        // Params that do not serialise fail here, as they did inside write_frame.
        let request = Request::new(id, method, params).map_err(std::io::Error::other)?;
        write_frame(self.stream.get_mut().get_mut(), &request).await?;
        Ok(id)
    }

    /// The next message of any kind (cancel-safe).
    pub async fn next_message(&mut self) -> Result<Option<ServerMessage>, ClientError> {
        if let Some(n) = self.notifications.pop_front() {
            return Ok(Some(ServerMessage::Notification(n)));
        }
        match self.read().await {
            Ok(m) => Ok(Some(m)),
            Err(ClientError::Io(e)) if e.kind() == ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The next notification (`None` when the daemon closed the connection).
    pub async fn next_notification(&mut self) -> Result<Option<Notification>, ClientError> {
        if let Some(n) = self.notifications.pop_front() {
            return Ok(Some(n));
        }
        loop {
            match self.read().await {
                Ok(ServerMessage::Notification(n)) => return Ok(Some(n)),
                Ok(ServerMessage::Response(_)) => continue,
                Err(ClientError::Io(e)) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    async fn read(&mut self) -> Result<ServerMessage, ClientError> {
        match self.stream.next().await? {
            Frame::Line(b) => {
                serde_json::from_slice(&b).map_err(|e| ClientError::Protocol(e.to_string()))
            }
            Frame::TooLong { len } => Err(ClientError::Protocol(format!(
                "a {len}-byte message exceeds the limit"
            ))),
            Frame::Eof => Err(ClientError::Io(std::io::Error::new(
                ErrorKind::UnexpectedEof,
                "the daemon closed the connection",
            ))),
        }
    }
}

fn nobody_listens(e: &ClientError) -> bool {
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
async fn connect_past_dying(socket: &Path) -> Result<Client, ClientError> {
    let deadline = Instant::now() + DYING_GRACE;
    loop {
        match Client::connect(socket).await {
            Err(e) if dropped(&e) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// Connects to the daemon, starting one when none runs. Racing callers start
/// exactly one daemon: the starter holds a lock beside the socket while it waits.
pub async fn connect_or_start(socket: &Path) -> anyhow::Result<Client> {
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
    tether_daemon::server::prepare_socket_dir(socket)?;
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

async fn start_daemon(socket: &Path) -> anyhow::Result<Client> {
    let state_dir = tether_shared::paths::state_dir();
    tether_shared::paths::create_private_dir(&state_dir)
        .with_context(|| format!("failed to create {}", state_dir.display()))?;
    let start_log = state_dir.join("daemon-start.log");
    let err_file = std::fs::File::create(&start_log)
        .with_context(|| format!("failed to create {}", start_log.display()))?;
    let exe = std::env::current_exe().context("cannot find the tether executable")?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--socket")
        .arg(socket)
        .args(["daemon", "--background"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(err_file))
        .spawn()
        .context("failed to start the daemon")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match Client::connect(socket).await {
            Ok(c) => return Ok(c),
            Err(e) if nobody_listens(&e) || dropped(&e) => {}
            Err(e) => {
                return Err(anyhow!(e)).context("cannot connect to the daemon it just started");
            }
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&start_log).unwrap_or_default();
            let last = log
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            bail!("the daemon failed to start ({status}): {}", last.trim());
        }
        if Instant::now() > deadline {
            bail!(
                "the daemon did not start listening on {} within 15 s; see {}",
                socket.display(),
                start_log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
