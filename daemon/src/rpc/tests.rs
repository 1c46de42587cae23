//! The RPC edge served over an in-memory pipe (`tokio::io::duplex`): no socket,
//! the same bytes a client would send.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tether_shared::framing::{Frame, FrameReader, write_frame};
use tether_shared::protocol::{MAX_RESPONSE_FRAME, METHODS, PROTOCOL_VERSION, code};
use tokio::io::{BufReader, DuplexStream};
use tokio_util::sync::CancellationToken;

use super::connection::serve;
use crate::daemon::{DaemonContext, DaemonOptions};
use crate::session::Registry;
use crate::session::SessionShared;

/// A daemon context over a fresh state dir, with no session and no tool server.
fn context(dir: &std::path::Path) -> Arc<DaemonContext> {
    let shared = SessionShared::for_tests(dir);
    let options = DaemonOptions {
        socket: dir.join("tether.sock"),
        config_dir: dir.to_path_buf(),
        state_dir: dir.to_path_buf(),
        log: None,
    };
    let registry = Registry::new(shared.clone(), CancellationToken::new());
    let ctx = DaemonContext::new(options, registry, shared, CancellationToken::new());
    // Nothing to restore.
    ctx.restored.cancel();
    Arc::new(ctx)
}

struct Pipe {
    reader: FrameReader<BufReader<DuplexStream>>,
}

impl Pipe {
    async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        write_frame(self.reader.get_mut().get_mut(), &req)
            .await
            .unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.reader.next())
                .await
                .unwrap()
                .unwrap();
            let Frame::Line(bytes) = frame else {
                panic!("no reply to {method}: {frame:?}");
            };
            let msg: Value = serde_json::from_slice(&bytes).unwrap();
            if msg.get("id") == Some(&json!(id)) {
                return msg;
            }
        }
    }
}

impl Pipe {
    /// The next notification called `method`, skipping others (10 s limit).
    async fn notification(&mut self, method: &str) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.reader.next())
                .await
                .unwrap_or_else(|_| panic!("no {method} within 10 s"))
                .unwrap();
            let Frame::Line(bytes) = frame else {
                panic!("no {method}: {frame:?}");
            };
            let msg: Value = serde_json::from_slice(&bytes).unwrap();
            if msg["method"] == method {
                return msg["params"].clone();
            }
        }
    }
}

fn served(ctx: Arc<DaemonContext>) -> Pipe {
    let (client, server) = tokio::io::duplex(1 << 16);
    tokio::spawn(serve(server, ctx));
    Pipe {
        reader: FrameReader::new(BufReader::new(client), MAX_RESPONSE_FRAME),
    }
}

#[tokio::test]
async fn a_request_is_served_over_an_in_memory_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipe = served(context(dir.path()));
    let early = pipe.call(1, "session.list", json!({})).await;
    assert_eq!(early["error"]["code"], code::HANDSHAKE_REQUIRED);
    let hello = pipe
        .call(
            2,
            "hello",
            json!({"protocol_version": PROTOCOL_VERSION, "client": "test"}),
        )
        .await;
    assert_eq!(hello["result"]["protocol_version"], PROTOCOL_VERSION);
    assert_eq!(hello["result"]["pid"], std::process::id());
    let list = pipe.call(3, "session.list", json!({})).await;
    assert_eq!(list, json!({"jsonrpc": "2.0", "id": 3, "result": []}));
    let status = pipe.call(4, "daemon.status", Value::Null).await;
    assert_eq!(status["result"]["sessions"], 0);
    assert_eq!(status["result"]["clients"], 1);
    let missing = pipe
        .call(5, "session.get", json!({"session": "nope"}))
        .await;
    assert_eq!(missing["error"]["code"], code::SESSION_NOT_FOUND);
    let unknown = pipe.call(6, "session.teleport", json!({})).await;
    assert_eq!(
        unknown["error"],
        json!({"code": code::METHOD_NOT_FOUND, "message": "unknown method \"session.teleport\""})
    );
}

#[tokio::test]
async fn every_method_of_the_table_has_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipe = served(context(dir.path()));
    let hello = json!({"protocol_version": PROTOCOL_VERSION});
    assert!(pipe.call(1, "hello", hello).await.get("result").is_some());
    // daemon.stop last: after it, every request but daemon.status is refused.
    let mut methods: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
    methods.sort_by_key(|m| *m == "daemon.stop");
    for (id, name) in (2..).zip(methods) {
        if name == "session.attach" {
            // Answered by the handler itself; with no session, an error.
            let r = pipe.call(id, name, json!({"session": "nope"})).await;
            assert_eq!(r["error"]["code"], code::SESSION_NOT_FOUND, "{name}");
            continue;
        }
        // With no session, `sessions.wait_any` would wait for good.
        let params = if name == "sessions.wait_any" {
            json!({"timeout_s": 0})
        } else {
            json!({"session": "nope"})
        };
        let r = pipe.call(id, name, params).await;
        assert_ne!(
            r["error"]["code"],
            code::METHOD_NOT_FOUND,
            "{name} has no handler"
        );
    }
}

/// Issue 13: a delta subscriber is sent the sessions that changed, looked up
/// when sent (one gone by then is a removal); one that falls behind the change
/// broadcast is sent the whole list instead, never a gap.
#[tokio::test]
async fn a_delta_feed_sends_removals_and_resyncs_with_the_whole_list_when_it_lags() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    let mut pipe = served(ctx.clone());
    let hello = json!({"protocol_version": PROTOCOL_VERSION});
    assert!(pipe.call(1, "hello", hello).await.get("result").is_some());
    let r = pipe
        .call(2, "sessions.subscribe", json!({"deltas": true}))
        .await;
    assert_eq!(r["result"], json!([]));
    // A burst for one session is one entry.
    for _ in 0..5 {
        ctx.shared.list_changed("s-gone");
    }
    ctx.shared.list_removed("s-killed");
    let c = pipe.notification("sessions.changed").await;
    assert_eq!(
        c,
        json!({"sessions": [], "removed": ["s-gone", "s-killed"]})
    );
    // More changes than the broadcast holds, with no chance for the feed to run
    // in between (this runtime has one thread): it lags, and resyncs.
    for i in 0..5000 {
        ctx.shared.list_changed(&format!("s-{i}"));
    }
    let u = pipe.notification("sessions.updated").await;
    assert_eq!(u, json!({"sessions": []}));
    // Deltas again after the resync.
    ctx.shared.list_removed("s-after");
    let c = pipe.notification("sessions.changed").await;
    assert_eq!(c["removed"], json!(["s-after"]));
}

/// A subscriber without params is sent whole lists, as before issue 13, and a
/// later subscribe on the same connection switches its one feed to deltas.
#[tokio::test]
async fn a_subscribe_without_params_gets_whole_lists() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    let mut pipe = served(ctx.clone());
    let hello = json!({"protocol_version": PROTOCOL_VERSION});
    assert!(pipe.call(1, "hello", hello).await.get("result").is_some());
    let r = pipe.call(2, "sessions.subscribe", Value::Null).await;
    assert_eq!(r["result"], json!([]));
    ctx.shared.list_changed("s-1");
    let u = pipe.notification("sessions.updated").await;
    assert_eq!(u, json!({"sessions": []}));
    let r = pipe
        .call(3, "sessions.subscribe", json!({"deltas": true}))
        .await;
    assert_eq!(r["result"], json!([]));
    ctx.shared.list_removed("s-2");
    let c = pipe.notification("sessions.changed").await;
    assert_eq!(c["removed"], json!(["s-2"]));
}
