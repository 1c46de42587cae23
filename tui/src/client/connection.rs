//! A connection to the daemon over any byte stream: the handshake, requests
//! (notifications that arrive while one waits are kept), and notifications.
//! Nothing here knows what carries the bytes: the local socket (`local.rs`), a
//! child process's stdio (`tokio::io::join(stdout, stdin)`) or a test pipe.

use std::collections::VecDeque;
use std::io::ErrorKind;

use serde::Serialize;
use tether_shared::framing::{Frame, FrameReader, write_frame};
use tether_shared::protocol::{
    HelloParams, HelloResult, MAX_RESPONSE_FRAME, Method, Notification, PROTOCOL_VERSION, Request,
    Response, RpcError, ServerMessage, code, method, with_key,
};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};

use super::error::ClientError;

/// A byte stream the client can speak over: both directions, one message per
/// line each way.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection to the daemon.
pub struct Client<S> {
    stream: FrameReader<BufReader<S>>,
    next_id: u64,
    notifications: VecDeque<Notification>,
    hello: HelloResult,
}

impl<S: Stream> Client<S> {
    /// Says hello over `stream`; the client once the daemon answered. A daemon
    /// of another protocol version, whether it refuses (`PROTOCOL_MISMATCH`) or
    /// answers with its own version, is [`ClientError::Version`].
    pub async fn handshake(stream: S) -> Result<Client<S>, ClientError> {
        let (mut c, hello) = Client::say_hello(stream).await?;
        c.hello_answer(hello).await?;
        Ok(c)
    }

    /// [`Client::handshake`] with `M` sent right behind the hello, before its
    /// answer: the daemon reads a connection's requests in order, so `M` is
    /// read once the hello is answered, and both take one round trip.
    /// `meanwhile` runs once both are sent, while the daemon answers them.
    /// Returns the id to read `M`'s answer by ([`Client::answer_to`]) and what
    /// `meanwhile` made.
    pub async fn handshake_then<M: Method, R>(
        stream: S,
        params: &M::Params,
        meanwhile: impl FnOnce() -> R,
    ) -> Result<(Client<S>, u64, R), ClientError> {
        let (mut c, hello) = Client::say_hello(stream).await?;
        let id = c.send::<M>(params).await?;
        let made = meanwhile();
        c.hello_answer(hello).await?;
        Ok((c, id, made))
    }

    /// The answer to `M` sent as `id` ([`Client::send`],
    /// [`Client::handshake_then`]); notifications meanwhile are kept.
    pub async fn answer_to<M: Method>(&mut self, id: u64) -> Result<M::Result, ClientError> {
        self.answer::<M>(id).await
    }

    /// Sends the hello; the client and the hello's id.
    async fn say_hello(stream: S) -> Result<(Client<S>, u64), ClientError> {
        let mut c = Client {
            // 64 KiB reads: a 100,000-session list is megabytes (issue 13).
            stream: FrameReader::new(
                BufReader::with_capacity(64 * 1024, stream),
                MAX_RESPONSE_FRAME,
            ),
            next_id: 1,
            notifications: VecDeque::new(),
            hello: HelloResult {
                protocol_version: PROTOCOL_VERSION,
                daemon_version: String::new(),
                pid: 0,
                home: None,
            },
        };
        let id = c
            .send::<method::Hello>(&HelloParams {
                protocol_version: PROTOCOL_VERSION,
                client: "tether-cli".into(),
            })
            .await?;
        Ok((c, id))
    }

    /// Reads the answer to the hello sent as `id`, and checks its version.
    async fn hello_answer(&mut self, id: u64) -> Result<(), ClientError> {
        let response = loop {
            match self.read().await? {
                ServerMessage::Response(r) if r.id == id || r.id.is_null() => break r,
                ServerMessage::Response(_) => continue,
                ServerMessage::Notification(n) => self.notifications.push_back(n),
            }
        };
        if let Some(e) = &response.error
            && e.code == code::PROTOCOL_MISMATCH
        {
            return Err(mismatch(e));
        }
        // The version is read before the rest: another version's hello result
        // may not have this one's shape.
        let theirs = response
            .result
            .as_ref()
            .and_then(|r| r.get("protocol_version"))
            .and_then(serde_json::Value::as_u64);
        if let Some(theirs) = theirs
            && theirs != u64::from(PROTOCOL_VERSION)
        {
            let version = response
                .result
                .as_ref()
                .and_then(|r| r.get("daemon_version"))
                .and_then(serde_json::Value::as_str);
            return Err(ClientError::Version {
                ours: PROTOCOL_VERSION,
                theirs: u32::try_from(theirs).ok(),
                daemon_version: version.map(str::to_string),
            });
        }
        self.hello = result_of::<method::Hello>(response)?;
        Ok(())
    }

    /// What the daemon said in answer to `hello`.
    pub fn hello(&self) -> &HelloResult {
        &self.hello
    }

    /// Calls `M` and waits for its result; notifications that arrive meanwhile
    /// are kept for [`Client::next_notification`].
    pub async fn call<M: Method>(&mut self, params: &M::Params) -> Result<M::Result, ClientError> {
        let id = self.send::<M>(params).await?;
        self.answer::<M>(id).await
    }

    /// Calls `M` and reads its result as `T`, straight from the reply's bytes
    /// (issue 13: a 100,000-session list is not made a JSON tree first).
    pub async fn call_as<M: Method, T: serde::de::DeserializeOwned>(
        &mut self,
        params: &M::Params,
    ) -> Result<T, ClientError> {
        self.call_read::<M, T>(params, |line, id| answer_of(line, id, |t: T| t))
            .await
    }

    /// Calls `M` and hands each line that comes to `read` with the request's
    /// id: [`answer_of`] parses the result borrowed from the line (its text
    /// not copied where the JSON has no escapes) and maps it to what is kept.
    pub async fn call_read<M: Method, O>(
        &mut self,
        params: &M::Params,
        read: impl FnMut(&[u8], u64) -> serde_json::Result<Answer<O>>,
    ) -> Result<O, ClientError> {
        let id = self.send::<M>(params).await?;
        self.read_answer(id, read).await
    }

    /// Reads lines until `read` finds the answer to `id` in one (see
    /// [`Client::call_read`]), keeping notifications.
    async fn read_answer<O>(
        &mut self,
        id: u64,
        mut read: impl FnMut(&[u8], u64) -> serde_json::Result<Answer<O>>,
    ) -> Result<O, ClientError> {
        loop {
            let line = match self.stream.next().await? {
                Frame::Line(b) => b,
                Frame::TooLong { len } => {
                    return Err(ClientError::Protocol(format!(
                        "a {len}-byte message exceeds the limit"
                    )));
                }
                Frame::Eof => {
                    return Err(ClientError::Io(std::io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "the daemon closed the connection",
                    )));
                }
            };
            let protocol = |e: serde_json::Error| ClientError::Protocol(e.to_string());
            match read(&line, id).map_err(protocol)? {
                Answer::Notification => self
                    .notifications
                    .push_back(serde_json::from_slice(&line).map_err(protocol)?),
                Answer::Other => continue,
                Answer::Error(e) => return Err(ClientError::Rpc(e)),
                Answer::Result(r) => return Ok(r),
            }
        }
    }

    /// Calls the mutating `M` with a request key ([`with_key`]), so asking again
    /// with the same key cannot do it twice.
    pub async fn call_keyed<M: Method>(
        &mut self,
        params: &M::Params,
        key: &str,
    ) -> Result<M::Result, ClientError> {
        let id = self.send_keyed::<M>(params, key).await?;
        self.answer::<M>(id).await
    }

    /// Sends `M` without waiting for its response; the id to match the response
    /// by (decode its result with `M::result`). For interactive loops; the response is
    /// skipped by [`Client::next_notification`].
    pub async fn send<M: Method>(&mut self, params: &M::Params) -> Result<u64, ClientError> {
        self.write(M::NAME, params).await
    }

    /// [`Client::send`] with a request key.
    pub async fn send_keyed<M: Method>(
        &mut self,
        params: &M::Params,
        key: &str,
    ) -> Result<u64, ClientError> {
        let params = with_key(params, key).map_err(ClientError::Encode)?;
        self.write(M::NAME, &params).await
    }

    async fn write(&mut self, method: &str, params: &impl Serialize) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let request = Request::new(id, method, params).map_err(ClientError::Encode)?;
        write_frame(self.stream.get_mut().get_mut(), &request).await?;
        Ok(id)
    }

    /// Reads until the response to `id`, keeping notifications.
    /// The result is read from the line's bytes in one pass, not made a JSON
    /// tree first (issue 13: the attach's first page is most of what a
    /// first frame waits on).
    async fn answer<M: Method>(&mut self, id: u64) -> Result<M::Result, ClientError> {
        self.read_answer(id, |line, id| answer_of(line, id, |r: M::Result| r))
            .await
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

/// A daemon's `PROTOCOL_MISMATCH` refusal as [`ClientError::Version`]: its
/// version from the error's `data`, or (daemons before `data` was added) from
/// its message, "... the daemon speaks N; ...".
fn mismatch(e: &RpcError) -> ClientError {
    let data = e.data.as_ref();
    let theirs = data
        .and_then(|d| d.get("protocol_version"))
        .and_then(serde_json::Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .or_else(|| {
            let rest = e.message.split("the daemon speaks ").nth(1)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
    ClientError::Version {
        ours: PROTOCOL_VERSION,
        theirs,
        daemon_version: data
            .and_then(|d| d.get("daemon_version"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string),
    }
}

/// The result of `M` in `response`: the daemon's error, or the result decoded
/// as `M` defines it.
fn result_of<M: Method>(response: Response) -> Result<M::Result, ClientError> {
    if let Some(e) = response.error {
        return Err(ClientError::Rpc(e));
    }
    M::result(response.result).map_err(|e| ClientError::Protocol(e.to_string()))
}

/// What a line read while waiting for an answer is ([`Client::call_read`]).
pub enum Answer<O> {
    /// A notification: kept for later.
    Notification,
    /// The answer to another request: skipped.
    Other,
    /// The request failed.
    Error(RpcError),
    /// Its result, as the reader made it.
    Result(O),
}

/// Reads `line` as the answer to request `id`, its result as `T` borrowed
/// from the line, then made `O` by `keep` (which may hold nothing of it).
pub fn answer_of<'a, T: serde::Deserialize<'a>, O>(
    line: &'a [u8],
    id: u64,
    keep: impl FnOnce(T) -> O,
) -> serde_json::Result<Answer<O>> {
    /// A response or a notification, read in one pass; a notification is
    /// read again as one (they are small).
    #[derive(serde::Deserialize)]
    struct Incoming<T> {
        #[serde(default)]
        id: serde_json::Value,
        #[serde(default)]
        method: Option<serde::de::IgnoredAny>,
        result: Option<T>,
        #[serde(default)]
        error: Option<RpcError>,
    }
    let m: Incoming<T> = match serde_json::from_slice(line) {
        Ok(m) => m,
        Err(e) => {
            // The answer to another request, whose result is no `T`: skipped
            // as any other is; only this request's is an error.
            let head: Incoming<serde::de::IgnoredAny> = serde_json::from_slice(line)?;
            if head.method.is_some() {
                return Ok(Answer::Notification);
            }
            if head.id != id && !head.id.is_null() {
                return Ok(Answer::Other);
            }
            return Err(e);
        }
    };
    if m.method.is_some() {
        return Ok(Answer::Notification);
    }
    if m.id != id && !m.id.is_null() {
        return Ok(Answer::Other);
    }
    if let Some(e) = m.error {
        return Ok(Answer::Error(e));
    }
    match m.result {
        Some(r) => Ok(Answer::Result(keep(r))),
        // As `M::result` reads a missing result: as `null`.
        None => Ok(Answer::Result(keep(T::deserialize(
            serde_json::Value::Null,
        )?))),
    }
}
