//! One client connection: the handshake, request dispatch, and the live feed of
//! each attached session.
//!
//! Requests run in the order they arrive, except `session.wait`, which runs as
//! its own task so it does not block the rest; every outgoing line goes through
//! one queue to one writer task, bounded in lines and in bytes: a client that
//! does not read its replies stops having its requests read (back-pressure)
//! instead of growing the daemon's memory.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use interprocess::local_socket::tokio::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tether_shared::framing::{Frame, FrameReader};
use tether_shared::protocol::*;
use tether_shared::{Decision, Live};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, warn};

use crate::daemon::Daemon;
use crate::session::{SessionHandle, Subscription};

/// Outgoing lines waiting for the writer. Bounded: a client that stops reading
/// stalls only its own feeds, which then catch up from the store.
const OUT_QUEUE: usize = 256;
/// The most bytes queued for one client's writer. One `session.logs` reply can
/// be 16 MiB, so counting lines alone let a client that pipelines requests and
/// never reads hold gigabytes; past this, the connection's next line waits for
/// the writer to drain, and with it the reading of its requests.
const OUT_BYTES: usize = 64 * 1024 * 1024;

/// The sending side of a connection's outgoing queue, with its byte budget.
struct Outbox {
    // mpsc: one writer drains lines in order; each carries the bytes it holds
    // of the budget, given back once written (or dropped with the queue).
    tx: mpsc::Sender<(Vec<u8>, OwnedSemaphorePermit)>,
    budget: Arc<Semaphore>,
    /// The budget ran out at least once (logged once per connection).
    full_logged: std::sync::atomic::AtomicBool,
}

impl Outbox {
    fn new() -> (Outbox, mpsc::Receiver<(Vec<u8>, OwnedSemaphorePermit)>) {
        let (tx, rx) = mpsc::channel(OUT_QUEUE);
        let outbox = Outbox {
            tx,
            budget: Arc::new(Semaphore::new(OUT_BYTES)),
            full_logged: std::sync::atomic::AtomicBool::new(false),
        };
        (outbox, rx)
    }

    fn cost(bytes: &[u8]) -> u32 {
        // A line larger than the whole budget takes all of it, alone.
        bytes.len().clamp(1, OUT_BYTES) as u32
    }

    /// Queues a line, first waiting for room in the byte budget; an error means
    /// the connection is gone.
    async fn send(&self, bytes: Vec<u8>) -> Result<(), ()> {
        let n = Self::cost(&bytes);
        let permit = match self.budget.clone().try_acquire_many_owned(n) {
            Ok(p) => p,
            Err(_) => {
                if !self.full_logged.swap(true, Ordering::Relaxed) {
                    info!(
                        limit_mib = OUT_BYTES / (1024 * 1024),
                        "client is not reading its replies: holding its requests until it drains"
                    );
                }
                self.budget
                    .clone()
                    .acquire_many_owned(n)
                    .await
                    .map_err(|_| ())?
            }
        };
        self.tx.send((bytes, permit)).await.map_err(|_| ())
    }

    /// Queues a line only if there is room now (a goodbye must not wait on a
    /// client that does not read).
    fn try_send(&self, bytes: Vec<u8>) {
        if let Ok(permit) = self
            .budget
            .clone()
            .try_acquire_many_owned(Self::cost(&bytes))
        {
            let _ = self.tx.try_send((bytes, permit));
        }
    }
}
/// Default and largest page for `session.attach`.
const DEFAULT_PAGE: u32 = 200;
const MAX_PAGE: u32 = 10_000;
/// An attach reply stops adding events past this many bytes (frames stay small).
const PAGE_BYTES: usize = 16 * 1024 * 1024;

struct Conn {
    daemon: Arc<Daemon>,
    out: Outbox,
    read_only: Mutex<HashSet<String>>,
    feeds: Mutex<HashMap<String, CancellationToken>>,
    done: CancellationToken,
    /// This client subscribed to session list changes.
    list_feed: std::sync::atomic::AtomicBool,
}

/// A message as one line. A message that does not serialise is an error, never
/// an empty line.
fn line(msg: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut v = serde_json::to_vec(msg)?;
    v.push(b'\n');
    Ok(v)
}

/// A notification as one line; one that does not serialise is logged and not sent.
fn notice<N: NotificationMethod>(params: &N::Params) -> Option<Vec<u8>> {
    match N::notification(params).and_then(|n| line(&n)) {
        Ok(l) => Some(l),
        Err(e) => {
            warn!(method = N::NAME, error = %e, "could not encode a notification; not sent");
            None
        }
    }
}

/// Tells a connection from another user why it is refused, then drops it.
pub async fn refuse(stream: LocalSocketStream, peer: Option<u32>) {
    // Read the client's hello first, so it reads our answer instead of finding the
    // connection closed under its write.
    let mut reader = FrameReader::new(BufReader::new(&stream), 64 * 1024);
    let _ = tokio::time::timeout(Duration::from_secs(2), reader.next()).await;
    let mut stream = &stream;
    let err = Response::err(
        Value::Null,
        RpcError::new(
            code::PERMISSION_DENIED,
            format!(
                "permission denied: this daemon serves only its owner (your uid: {})",
                peer.map_or_else(|| "unknown".to_string(), |u| u.to_string())
            ),
        ),
    );
    if let Ok(l) = line(&err) {
        let _ = stream.write_all(&l).await;
    }
}

/// Serves one client until it disconnects or the daemon closes.
pub async fn serve(stream: LocalSocketStream, daemon: Arc<Daemon>) {
    daemon.clients.fetch_add(1, Ordering::Relaxed);
    // `&Stream` reads and writes; sharing it beats the deprecated split().
    let stream = Arc::new(stream);
    let write_side = stream.clone();
    let (out_tx, mut out_rx) = Outbox::new();
    let done = CancellationToken::new();
    let writer_done = done.clone();
    let writer = tokio::spawn(
        async move {
            let mut wr: &LocalSocketStream = &write_side;
            while let Some((bytes, budget)) = out_rx.recv().await {
                if wr.write_all(&bytes).await.is_err() {
                    break;
                }
                drop(budget);
            }
            let _ = wr.flush().await;
            writer_done.cancel();
        }
        .in_current_span(),
    );
    let conn = Arc::new(Conn {
        daemon: daemon.clone(),
        out: out_tx,
        read_only: Mutex::new(HashSet::new()),
        feeds: Mutex::new(HashMap::new()),
        done: done.clone(),
        list_feed: std::sync::atomic::AtomicBool::new(false),
    });
    debug!("client connected");
    let mut reader = FrameReader::new(BufReader::new(&*stream), MAX_REQUEST_FRAME);
    let mut handshaken = false;
    let requests = tokio_util::task::TaskTracker::new();
    loop {
        let frame = tokio::select! {
            _ = daemon.closing.cancelled() => {
                if let Some(l) = notice::<method::DaemonShutdown>(&Empty {}) {
                    conn.out.try_send(l);
                }
                break;
            }
            _ = done.cancelled() => break,
            f = reader.next() => f,
        };
        let bytes = match frame {
            Ok(Frame::Line(b)) => b,
            Ok(Frame::Eof) | Err(_) => break,
            Ok(Frame::TooLong { len }) => {
                warn!(len, "discarded an oversized frame");
                conn.reply(
                    Value::Null,
                    Err(RpcError::new(
                        code::FRAME_TOO_LARGE,
                        format!("frame of {len} bytes exceeds the limit of {MAX_REQUEST_FRAME} bytes; it was discarded"),
                    )),
                )
                .await;
                continue;
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                conn.reply(
                    Value::Null,
                    Err(RpcError::new(
                        code::PARSE_ERROR,
                        format!("not valid JSON: {e}"),
                    )),
                )
                .await;
                continue;
            }
        };
        let req = match serde_json::from_value::<Request>(value.clone()) {
            Ok(r) if r.jsonrpc == "2.0" => r,
            _ => {
                let id = value.get("id").cloned().unwrap_or(Value::Null);
                conn.reply(
                    id,
                    Err(RpcError::new(
                        code::INVALID_REQUEST,
                        "not a JSON-RPC 2.0 request: need \"jsonrpc\": \"2.0\", \"id\" and \"method\"",
                    )),
                )
                .await;
                continue;
            }
        };
        let blocking = req.method == method::SESSION_WAIT;
        if !handshaken {
            if req.method != method::HELLO {
                conn.reply(
                    req.id,
                    Err(RpcError::new(
                        code::HANDSHAKE_REQUIRED,
                        "the first request must be \"hello\" with protocol_version",
                    )),
                )
                .await;
                continue;
            }
            match serde_json::from_value::<HelloParams>(req.params) {
                Ok(h) if h.protocol_version == PROTOCOL_VERSION => {
                    handshaken = true;
                    debug!(client = %h.client, "handshake");
                    let hello = HelloResult {
                        protocol_version: PROTOCOL_VERSION,
                        daemon_version: env!("CARGO_PKG_VERSION").into(),
                        pid: std::process::id(),
                    };
                    conn.reply(req.id, serde_json::to_value(hello).map_err(internal))
                        .await;
                }
                Ok(h) => {
                    conn.reply(
                        req.id,
                        Err(RpcError::new(
                            code::PROTOCOL_MISMATCH,
                            format!(
                                "protocol version mismatch: the client speaks {}, the daemon speaks {PROTOCOL_VERSION}; \
                                 restart the daemon (`tether daemon stop`) so both are the same version",
                                h.protocol_version
                            ),
                        )),
                    )
                    .await;
                    break;
                }
                Err(e) => {
                    conn.reply(
                        req.id,
                        Err(RpcError::new(
                            code::INVALID_PARAMS,
                            format!("bad hello params: {e}"),
                        )),
                    )
                    .await;
                }
            }
            continue;
        }
        // Requests run in order, so a client that pipelines two sends gets them
        // delivered in the order it wrote them. Only `session.wait` may block for
        // long; it runs beside the rest.
        let c = conn.clone();
        let run = async move {
            let id = req.id.clone();
            match c.handle(req).await {
                Ok(Some(v)) => c.reply(id, Ok(v)).await,
                Ok(None) => {}
                Err(e) => c.reply(id, Err(e)).await,
            }
        };
        if blocking {
            requests.spawn(run.in_current_span());
        } else {
            run.await;
        }
    }
    // Leaving: stop feeds (which counts us out of sessions) and pending requests.
    done.cancel();
    requests.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), requests.wait()).await;
    conn.stop_feeds().await;
    drop(conn);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    daemon.clients.fetch_sub(1, Ordering::Relaxed);
    debug!("client disconnected");
}

fn params<T: DeserializeOwned>(v: Value) -> Result<T, RpcError> {
    let v = if v.is_null() {
        Value::Object(Default::default())
    } else {
        v
    };
    serde_json::from_value(v)
        .map_err(|e| RpcError::new(code::INVALID_PARAMS, format!("invalid params: {e}")))
}

fn to_value(v: impl Serialize) -> Result<Option<Value>, RpcError> {
    serde_json::to_value(v)
        .map(Some)
        .map_err(|e| RpcError::new(code::INTERNAL, e.to_string()))
}

/// Cuts a page of events to [`PAGE_BYTES`] of JSON, keeping the newest (or the
/// oldest) and always at least one, so a reply stays well under a client's frame
/// cap however large the events. Returns whether anything was cut.
fn fit_page(events: &mut Vec<tether_shared::Event>, keep_newest: bool) -> bool {
    // Counts serialised bytes without building the strings.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut total = Count(0);
    let mut fits = |ev: &tether_shared::Event| {
        let _ = serde_json::to_writer(&mut total, ev);
        total.0 <= PAGE_BYTES
    };
    let keep = if keep_newest {
        events.iter().rev().take_while(|e| fits(e)).count()
    } else {
        events.iter().take_while(|e| fits(e)).count()
    }
    .max(1);
    if keep >= events.len() {
        return false;
    }
    if keep_newest {
        events.drain(..events.len() - keep);
    } else {
        events.truncate(keep);
    }
    true
}

fn internal(e: impl std::fmt::Display) -> RpcError {
    RpcError::new(code::INTERNAL, e.to_string())
}

/// A store read that failed (a damaged `tether.db`, an I/O error): the store's
/// message already names the file and what to do.
fn storage(e: impl std::fmt::Display) -> RpcError {
    RpcError::new(code::STORAGE, e.to_string())
}

impl Conn {
    async fn reply(&self, id: Value, result: Result<Value, RpcError>) {
        let msg = match result {
            Ok(v) => Response::ok(id, v),
            Err(e) => Response::err(id, e),
        };
        let bytes = match line(&msg) {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "could not encode a reply; answering with an error");
                match line(&Response::err(
                    msg.id,
                    internal(format!("could not encode the reply: {e}")),
                )) {
                    Ok(l) => l,
                    Err(_) => return,
                }
            }
        };
        let _ = self.out.send(bytes).await;
    }

    /// Pushes the session list whenever it changes, at most every 100 ms.
    async fn list_feed(&self, mut rx: tokio::sync::watch::Receiver<u64>) {
        loop {
            tokio::select! {
                _ = self.done.cancelled() => return,
                r = rx.changed() => if r.is_err() { return },
            }
            // Coalesce a burst (a streaming turn changes state several times).
            tokio::select! {
                _ = self.done.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            rx.mark_unchanged();
            let Some(n) = notice::<method::SessionsUpdated>(&SessionsUpdatedParams {
                sessions: self.daemon.registry.list(),
            }) else {
                continue;
            };
            if self.out.send(n).await.is_err() {
                return;
            }
        }
    }

    fn writable(&self, h: &SessionHandle) -> Result<(), RpcError> {
        let ro = self
            .read_only
            .lock()
            .map(|s| s.contains(&h.id))
            .unwrap_or(false);
        if ro {
            return Err(RpcError::new(
                code::READ_ONLY,
                format!("attached to {:?} read-only", h.name),
            ));
        }
        Ok(())
    }

    async fn handle(self: &Arc<Self>, req: Request) -> Result<Option<Value>, RpcError> {
        let d = &self.daemon;
        if d.shutdown.is_cancelled() && req.method != method::DAEMON_STATUS {
            return Err(RpcError::new(
                code::SHUTTING_DOWN,
                "the daemon is shutting down",
            ));
        }
        let Some(key) = super::keys::key_of(&req)? else {
            return self.dispatch(req, None).await;
        };
        // One request per key at a time: a retry racing its first attempt waits,
        // then finds the first attempt's result.
        let _held = d.keys_in_flight.hold(&key.key).await;
        let stored = d
            .shared
            .store
            .key(&key.key, KEY_TTL_S)
            .await
            .map_err(|e| internal(format!("could not read request keys: {e}")))?;
        if let Some(stored) = stored {
            info!(key = %key.key, method = %req.method, "answered a retried request from its key");
            return super::keys::replay(stored, &req.method, &key).map(Some);
        }
        let method = req.method.clone();
        let out = self
            .dispatch(req, Some(key.record(&method, Value::Null)))
            .await?;
        // The first result, whole; sends, creates and kills stored a provisional
        // one with their effect already, so a failure here loses nothing.
        if let Some(result) = &out
            && let Err(e) = d
                .shared
                .store
                .put_key(key.record(&method, result.clone()))
                .await
        {
            warn!(key = %key.key, error = %e, "could not store a request key's result");
        }
        Ok(out)
    }

    async fn dispatch(
        self: &Arc<Self>,
        req: Request,
        key: Option<crate::store::KeyRecord>,
    ) -> Result<Option<Value>, RpcError> {
        let d = &self.daemon;
        match req.method.as_str() {
            method::HELLO => Err(RpcError::new(code::INVALID_REQUEST, "already said hello")),
            method::DAEMON_STATUS => to_value(d.status()),
            method::DAEMON_STOP => {
                info!("stop requested by a client");
                d.shutdown.cancel();
                to_value(StopResult { stopping: true })
            }
            method::SESSION_CREATE => to_value(d.registry.create(params(req.params)?, key).await?),
            method::SESSION_LIST => to_value(d.registry.list()),
            method::SESSIONS_SUBSCRIBE => {
                let already = self
                    .list_feed
                    .swap(true, std::sync::atomic::Ordering::SeqCst);
                let mut rx = d.shared.sessions_changed.subscribe();
                rx.mark_unchanged();
                let list = d.registry.list();
                if !already {
                    let conn = self.clone();
                    d.tracker()
                        .spawn(async move { conn.list_feed(rx).await }.in_current_span());
                }
                to_value(list)
            }
            method::SESSION_GET => {
                let p: SessionRef = params(req.params)?;
                to_value(d.registry.find(&p.session)?.info())
            }
            method::SESSION_SEND => {
                let p: SendParams = params(req.params)?;
                let h = d.registry.find(&p.session)?;
                self.writable(&h)?;
                if p.delivery == tether_shared::Delivery::Unknown {
                    return Err(RpcError::new(
                        code::BAD_ARGUMENT,
                        "delivery must be queue, steer or interrupt",
                    ));
                }
                if p.text.trim().is_empty() {
                    return Err(RpcError::new(code::BAD_ARGUMENT, "the message is empty"));
                }
                to_value(h.send(p.text, p.delivery, key).await?)
            }
            method::SESSION_INTERRUPT => {
                let p: SessionRef = params(req.params)?;
                let h = d.registry.find(&p.session)?;
                self.writable(&h)?;
                to_value(InterruptResult {
                    interrupted: h.interrupt().await?,
                })
            }
            method::SESSION_APPROVE | method::SESSION_DENY => {
                let p: DecideParams = params(req.params)?;
                let h = d.registry.find(&p.session)?;
                self.writable(&h)?;
                let decision = if req.method == method::SESSION_APPROVE {
                    Decision::Approved
                } else {
                    Decision::Denied
                };
                to_value(DecideResult {
                    decided: h.decide(p.call_id, p.all, decision, p.reason).await?,
                })
            }
            method::SESSION_WAIT => {
                let p: WaitParams = params(req.params)?;
                let h = d.registry.find(&p.session)?;
                let timeout = match p.timeout_s {
                    Some(t) if !(t.is_finite() && t >= 0.0) => {
                        return Err(RpcError::new(
                            code::BAD_ARGUMENT,
                            "timeout_s must be a number of seconds >= 0",
                        ));
                    }
                    t => t.map(crate::util::secs),
                };
                let (state, timed_out) = tokio::select! {
                    biased;
                    _ = d.closing.cancelled() => return Err(RpcError::new(code::SHUTTING_DOWN, "the daemon is shutting down")),
                    _ = self.done.cancelled() => return Ok(None),
                    r = h.wait(timeout) => r?,
                };
                to_value(WaitResult { state, timed_out })
            }
            method::SESSION_LOGS => {
                let p: LogsParams = params(req.params)?;
                let h = d.registry.find(&p.session)?;
                let limit = p.limit.unwrap_or(1000).clamp(1, MAX_PAGE) as usize;
                let since = p.since.unwrap_or(0);
                let before = p.before.unwrap_or(u64::MAX);
                let newest = p.before.is_some() && p.since.is_none();
                let mut events = d
                    .shared
                    .store
                    .events(&h.id, since, before, limit + 1, newest)
                    .await
                    .map_err(storage)?;
                let mut more = events.len() > limit;
                if more {
                    if newest {
                        events.remove(0);
                    } else {
                        events.truncate(limit);
                    }
                }
                more |= fit_page(&mut events, newest);
                to_value(LogsResult {
                    events,
                    last_seq: h.info().last_seq,
                    more,
                })
            }
            method::SESSION_ATTACH => {
                let p: AttachParams = params(req.params)?;
                self.attach(req.id, p).await
            }
            method::SESSION_DETACH => {
                let p: SessionRef = params(req.params)?;
                let h = d.registry.find(&p.session)?;
                let token = self.feeds.lock().ok().and_then(|mut f| f.remove(&h.id));
                if let Some(t) = token {
                    t.cancel();
                    h.clients(-1).await;
                }
                to_value(Empty {})
            }
            method::SESSION_KILL => {
                let p: SessionRef = params(req.params)?;
                let h = d.registry.find(&p.session)?;
                self.writable(&h)?;
                to_value(KillResult {
                    id: d.registry.kill(&p.session, key).await?,
                })
            }
            method::TOOLS_LIST => {
                let p: ToolsParams = params(req.params)?;
                let id = match &p.session {
                    Some(name) => Some(d.registry.find(name)?.id),
                    None => None,
                };
                to_value(d.shared.tools.servers_for(id.as_deref()))
            }
            other => Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                format!("unknown method {other:?}"),
            )),
        }
    }

    async fn attach(
        self: &Arc<Self>,
        id: Value,
        p: AttachParams,
    ) -> Result<Option<Value>, RpcError> {
        let h = self.daemon.registry.find(&p.session)?;
        let sub = h.subscribe().await?;
        let from = p.from_seq.unwrap_or(0);
        let page = p.page_size.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE) as usize;
        let (events, truncated) = self.page(&h.id, from, sub.last_seq, page).await?;
        let result = AttachResult {
            info: sub.info.clone(),
            events,
            truncated,
            last_seq: sub.last_seq,
            partial: sub.partial.clone(),
        };
        if let Ok(mut ro) = self.read_only.lock() {
            if p.read_only {
                ro.insert(h.id.clone());
            } else {
                ro.remove(&h.id);
            }
        }
        // A second attach to the same session replaces the first feed; stop the old
        // one before replying so it cannot forward events the new reply also holds.
        let token = self.done.child_token();
        let previous = self
            .feeds
            .lock()
            .ok()
            .and_then(|mut f| f.insert(h.id.clone(), token.clone()));
        match previous {
            Some(old) => old.cancel(),
            None => h.clients(1).await,
        }
        // The reply goes out before the feed starts, so live messages follow it.
        self.reply(id, Ok(serde_json::to_value(result).map_err(internal)?))
            .await;
        let conn = self.clone();
        self.daemon
            .tracker()
            .spawn(async move { conn.feed(h, sub, token).await }.in_current_span());
        Ok(None)
    }

    /// Events in `(from, upto]`: the newest `page` of them, within the byte budget.
    async fn page(
        &self,
        session_id: &str,
        from: u64,
        upto: u64,
        page: usize,
    ) -> Result<(Vec<tether_shared::Event>, bool), RpcError> {
        if page == 0 || upto <= from {
            return Ok((Vec::new(), upto > from));
        }
        let mut events = self
            .daemon
            .shared
            .store
            .events(session_id, from, upto.saturating_add(1), page, true)
            .await
            .map_err(storage)?;
        fit_page(&mut events, true);
        let first = events.first().map_or(upto + 1, |e| e.seq);
        Ok((events, first > from + 1))
    }

    async fn send_live(&self, session_id: &str, live: Live) -> bool {
        let Some(n) = notice::<method::SessionLive>(&LiveParams {
            session_id: session_id.to_string(),
            live,
        }) else {
            return true;
        };
        self.out.send(n).await.is_ok()
    }

    /// Forwards a session's live messages; a lagging feed catches up from the store.
    async fn feed(&self, h: SessionHandle, mut sub: Subscription, token: CancellationToken) {
        let mut last = sub.last_seq;
        loop {
            let msg = tokio::select! {
                _ = token.cancelled() => return,
                m = sub.live.recv() => m,
            };
            match msg {
                Ok(Live::Event { event }) => {
                    if event.seq <= last {
                        continue;
                    }
                    last = event.seq;
                    if !self.send_live(&h.id, Live::Event { event }).await {
                        return;
                    }
                }
                Ok(other) => {
                    if !self.send_live(&h.id, other).await {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    debug!(
                        skipped = n,
                        "client feed lagged; catching up from the store"
                    );
                    let Ok(fresh) = h.subscribe().await else {
                        return;
                    };
                    while last < fresh.last_seq {
                        let Ok(events) = self
                            .daemon
                            .shared
                            .store
                            .events(&h.id, last, fresh.last_seq + 1, 1000, false)
                            .await
                        else {
                            return;
                        };
                        if events.is_empty() {
                            break;
                        }
                        for event in events {
                            last = event.seq;
                            if !self.send_live(&h.id, Live::Event { event }).await {
                                return;
                            }
                        }
                    }
                    // Deltas were skipped: restate the partial answer from scratch.
                    if !self.send_live(&h.id, Live::AssistantReset).await {
                        return;
                    }
                    if !fresh.partial.assistant_text.is_empty()
                        && !self
                            .send_live(
                                &h.id,
                                Live::AssistantDelta {
                                    text: fresh.partial.assistant_text.clone(),
                                },
                            )
                            .await
                    {
                        return;
                    }
                    sub = fresh;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    // The session's actor ended: it was killed (or the daemon stops).
                    if !self.daemon.closing.is_cancelled()
                        && let Some(n) = notice::<method::SessionClosed>(&SessionClosedParams {
                            session_id: h.id.clone(),
                            name: h.name.clone(),
                        })
                    {
                        let _ = self.out.send(n).await;
                    }
                    if let Ok(mut f) = self.feeds.lock() {
                        f.remove(&h.id);
                    }
                    return;
                }
            }
        }
    }

    async fn stop_feeds(&self) {
        let feeds: Vec<(String, CancellationToken)> = self
            .feeds
            .lock()
            .map(|mut f| f.drain().collect())
            .unwrap_or_default();
        for (id, token) in feeds {
            token.cancel();
            if let Ok(h) = self.daemon.registry.find(&id) {
                h.clients(-1).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_shared::{Event, EventKind};

    fn big(seq: u64) -> Event {
        let output = "x".repeat(PAGE_BYTES / 3);
        Event {
            seq,
            ts: "t".into(),
            kind: EventKind::Error { message: output },
        }
    }

    #[test]
    fn a_page_is_cut_to_the_byte_budget_from_the_chosen_end() {
        let mut newest: Vec<Event> = (1..=5).map(big).collect();
        assert!(fit_page(&mut newest, true));
        assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
        let mut oldest: Vec<Event> = (1..=5).map(big).collect();
        assert!(fit_page(&mut oldest, false));
        assert_eq!(oldest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        let mut small: Vec<Event> = (1..=2)
            .map(|s| Event {
                seq: s,
                ts: "t".into(),
                kind: EventKind::TurnStarted,
            })
            .collect();
        assert!(!fit_page(&mut small, true));
        assert_eq!(small.len(), 2);
    }
}
