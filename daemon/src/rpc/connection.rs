//! One client connection, over any byte stream: the handshake, the request loop
//! and the connection's writer task.
//!
//! Requests run in the order they arrive, except `session.wait` and
//! `sessions.wait_any`, which run as tasks of their own so they do not block the
//! rest; every outgoing line goes through
//! one queue to one writer task (`outbox.rs`), bounded in lines and in bytes: a
//! client that does not read its replies stops having its requests read
//! (back-pressure) instead of growing the daemon's memory; the writer gathers
//! the lines a slow client let queue up into one write. Frames are read with
//! the cancel-safe capped reader of `tether_shared::framing`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use tether_shared::framing::{Frame, FrameReader};
use tether_shared::protocol::{
    Empty, HelloResult, MAX_REQUEST_FRAME, Method, PROTOCOL_VERSION, Request, Response, method,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, warn};

use super::outbox::{Outbox, line, write_lines};
use super::peer::{Peer, notice};
use super::{dispatch, errors};
use crate::daemon::DaemonContext;

/// Tells a connection from another user why it is refused, then drops it.
pub(crate) async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(stream: S, peer: Option<u32>) {
    // Read the client's hello first, so it reads our answer instead of finding the
    // connection closed under its write.
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(BufReader::new(read), 64 * 1024);
    let _ = tokio::time::timeout(Duration::from_secs(2), reader.next()).await;
    let err = Response::err(Value::Null, errors::permission_denied(peer));
    if let Ok(l) = line(&err) {
        let _ = write.write_all(&l).await;
    }
}

/// Serves one client until it disconnects or the daemon closes. The listener
/// has checked who the client is; this needs only its bytes.
pub(crate) async fn serve<S>(stream: S, ctx: Arc<DaemonContext>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    ctx.clients.fetch_add(1, Ordering::Relaxed);
    let (read, write) = tokio::io::split(stream);
    let (out_tx, out_rx) = Outbox::new();
    let done = CancellationToken::new();
    let writer_done = done.clone();
    let writer = tokio::spawn(
        async move {
            write_lines(out_rx, write).await;
            writer_done.cancel();
        }
        .in_current_span(),
    );
    let conn = Arc::new(Peer::new(ctx.clone(), out_tx, done.clone()));
    debug!("client connected");
    let mut reader = FrameReader::new(BufReader::new(read), MAX_REQUEST_FRAME);
    let mut handshaken = false;
    let requests = tokio_util::task::TaskTracker::new();
    loop {
        let frame = tokio::select! {
            _ = ctx.closing.cancelled() => {
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
                conn.reply(Value::Null, Err(errors::frame_too_large(len)))
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
                conn.reply(Value::Null, Err(errors::parse_error(e))).await;
                continue;
            }
        };
        let req = match serde_json::from_value::<Request>(value.clone()) {
            Ok(r) if r.jsonrpc == "2.0" => r,
            _ => {
                let id = value.get("id").cloned().unwrap_or(Value::Null);
                conn.reply(id, Err(errors::invalid_request())).await;
                continue;
            }
        };
        if !handshaken {
            match handshake(&conn, req).await {
                Handshake::Done => handshaken = true,
                Handshake::Again => {}
                Handshake::Refused => break,
            }
            continue;
        }
        // Requests run in order, so a client that pipelines two sends gets them
        // delivered in the order it wrote them. Only `session.wait` and
        // `sessions.wait_any` may block for long; they run beside the rest.
        let blocking =
            req.method == method::SessionWait::NAME || req.method == method::SessionsWaitAny::NAME;
        let c = conn.clone();
        let run = async move {
            let id = req.id.clone();
            match dispatch::handle(&c, req).await {
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
    ctx.clients.fetch_sub(1, Ordering::Relaxed);
    debug!("client disconnected");
}

/// How a request before the handshake went.
enum Handshake {
    /// `hello` with our version: the connection is open.
    Done,
    /// Another request, or unreadable hello params: still waiting for `hello`.
    Again,
    /// Another protocol version: the connection closes.
    Refused,
}

/// Answers a request that arrives before the handshake.
async fn handshake(conn: &Peer, req: Request) -> Handshake {
    if req.method != method::Hello::NAME {
        conn.reply(req.id, Err(errors::handshake_required())).await;
        return Handshake::Again;
    }
    // Read as given: absent hello params are not taken for `{}`.
    match serde_json::from_value::<<method::Hello as Method>::Params>(req.params) {
        Ok(h) if h.protocol_version == PROTOCOL_VERSION => {
            debug!(client = %h.client, "handshake");
            let hello = HelloResult {
                protocol_version: PROTOCOL_VERSION,
                daemon_version: env!("CARGO_PKG_VERSION").into(),
                pid: std::process::id(),
                home: std::env::var("HOME").ok().filter(|h| !h.is_empty()),
            };
            conn.reply(
                req.id,
                serde_json::to_value(hello).map_err(errors::internal),
            )
            .await;
            Handshake::Done
        }
        Ok(h) => {
            conn.reply(req.id, Err(errors::protocol_mismatch(h.protocol_version)))
                .await;
            Handshake::Refused
        }
        Err(e) => {
            conn.reply(req.id, Err(errors::bad_hello(e))).await;
            Handshake::Again
        }
    }
}
