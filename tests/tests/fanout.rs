//! Fan-out (issue 13): many clients attached to one busy session each get every
//! event in order, with no gap and no duplicate, a client that reads slowly
//! included (it falls behind and is caught up from the store, in pages); and
//! the `session.live` line, encoded once for all clients, is the notification
//! the shared protocol types make.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_shared::protocol::{LiveParams, NotificationMethod, method};
use tether_tests::raw::Raw;
use tether_tests::{Reply, TestEnv};

const T: Duration = Duration::from_secs(60);

/// What one client saw of a turn.
#[derive(Default)]
struct Seen {
    /// Stored events, in arrival order.
    events: Vec<Value>,
    /// The partial answer as the deltas built it, each time an `assistant_message` arrived.
    partials: Vec<String>,
    /// `assistant_reset` messages: a resync restates the partial answer with one.
    resets: usize,
    /// Every `session.live` message, as read.
    lines: Vec<Value>,
}

async fn attach(env: &TestEnv, session: &str) -> (Raw, u64) {
    let mut raw = Raw::hello(&env.socket).await;
    let r = raw
        .request(
            1,
            "session.attach",
            json!({"session": session, "page_size": 0}),
        )
        .await;
    let last = r["result"]["last_seq"].as_u64().expect("attach last_seq");
    (raw, last)
}

/// Reads live messages until `turn_completed`.
async fn read_turn(raw: &mut Raw, keep_lines: bool) -> Seen {
    let mut seen = Seen::default();
    let mut partial = String::new();
    tokio::time::timeout(T, async {
        loop {
            let msg = raw.read().await.expect("the daemon closed the connection");
            if msg["method"] != "session.live" {
                continue;
            }
            let p = &msg["params"];
            match p["kind"].as_str().unwrap() {
                "assistant_delta" => partial.push_str(p["text"].as_str().unwrap()),
                "assistant_reset" => {
                    seen.resets += 1;
                    partial.clear();
                }
                "event" => {
                    let ev = p["event"].clone();
                    if ev["type"] == "assistant_message" {
                        seen.partials.push(std::mem::take(&mut partial));
                    }
                    let done = ev["type"] == "turn_completed";
                    seen.events.push(ev);
                    if done {
                        if keep_lines {
                            seen.lines.push(msg);
                        }
                        return;
                    }
                }
                _ => {}
            }
            if keep_lines {
                seen.lines.push(msg);
            }
        }
    })
    .await
    .expect("turn_completed within 60 s");
    seen
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_and_a_slow_one_get_every_event_in_order() {
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "busy"]).await;
    let mut fast = Vec::new();
    let mut start = 0;
    for _ in 0..12 {
        let (raw, last) = attach(&env, "busy").await;
        start = last;
        fast.push(raw);
    }
    // Attached like the others, then reads nothing until the turn is over: its
    // queue and socket fill, the session's live buffer overruns it, and it must
    // be caught up from the store.
    let (mut slow, slow_start) = attach(&env, "busy").await;
    assert_eq!(slow_start, start);

    // About 8,000 stored events and 3,000 deltas: far more than the live
    // buffer (4,096), the outbox (256 lines) and a socket buffer hold.
    let calls: Vec<(String, String, Value)> = (0..4000)
        .map(|i| (format!("c{i}"), "list_dir".to_string(), json!({})))
        .collect();
    // The tool calls come after 3,000 words, each a delta.
    let answer: String = (0..3000).map(|i| format!(" w{i}")).collect();
    model.push(
        Reply::tool_calls(calls)
            .with_text_prefix(answer.clone())
            .in_one_write(),
    );
    model.push(Reply::text("done").in_one_write());

    let readers: Vec<_> = fast
        .into_iter()
        .map(|mut raw| tokio::spawn(async move { read_turn(&mut raw, false).await }))
        .collect();
    env.ok(&["send", "busy", "go"]).await;
    let mut seen = Vec::new();
    for r in readers {
        seen.push(r.await.unwrap());
    }
    let slow_seen = read_turn(&mut slow, false).await;
    env.wait_settled("busy").await;

    // The log from the first event after the attach up to `turn_completed`
    // (the `state` event after it is not read).
    let mut stored: Vec<Value> = env
        .events("busy")
        .await
        .into_iter()
        .filter(|e| e["seq"].as_u64().unwrap() > start)
        .collect();
    let end = stored
        .iter()
        .position(|e| e["type"] == "turn_completed")
        .unwrap();
    stored.truncate(end + 1);
    assert!(stored.len() > 8000, "{} events stored", stored.len());
    // What the model answered, in order (with the long answer first).
    let answers: Vec<String> = stored
        .iter()
        .filter(|e| e["type"] == "assistant_message")
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(answers.first(), Some(&answer));
    let want = seqs(&stored);
    for (i, s) in seen.iter().chain([&slow_seen]).enumerate() {
        let got = seqs(&s.events);
        let first_off = got.iter().zip(&want).position(|(a, b)| a != b);
        assert!(
            got.len() == want.len() && first_off.is_none(),
            "client {i}: {} events, {} stored; first difference at {first_off:?}",
            got.len(),
            want.len()
        );
        assert!(
            types(&s.events) == types(&stored),
            "client {i}: not the log's events"
        );
        // Deltas a lag skipped are superseded by the stored answer, so the
        // partial answer is always a prefix of it, never a text with a hole.
        assert_eq!(s.partials.len(), answers.len(), "client {i}");
        for (p, a) in s.partials.iter().zip(&answers) {
            assert!(
                a.starts_with(p.as_str()),
                "client {i}: the deltas left a hole"
            );
        }
    }
    // A client that kept up got every delta: they add up to the answers.
    assert!(
        seen.iter().any(|s| s.partials == answers),
        "no client got every delta"
    );
    // The slow client fell behind: its resync restates the partial answer (after
    // the caught-up events when the turn was over by then).
    if slow_seen.resets == 0 {
        tokio::time::timeout(T, async {
            loop {
                let msg = slow.read().await.expect("the daemon closed the connection");
                if msg["params"]["kind"] == "assistant_reset" {
                    return;
                }
            }
        })
        .await
        .expect("the slow client was never resynced: the test did not make it fall behind");
    }
    let log = std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap();
    assert!(log.contains("catching up from the store"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_lines_are_the_notifications_the_protocol_types_make() {
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "wire"]).await;
    let (mut a, _) = attach(&env, "wire").await;
    let (mut b, _) = attach(&env, "wire").await;
    model.push(Reply::tool_call("c1", "list_dir", json!({})));
    model.push(Reply::text("a short answer in words"));
    env.ok(&["send", "wire", "go"]).await;
    let seen_a = read_turn(&mut a, true).await;
    let seen_b = read_turn(&mut b, true).await;
    // Both clients read the same lines (one encoding, shared).
    assert_eq!(seen_a.lines, seen_b.lines);
    let kinds: Vec<&str> = seen_a
        .lines
        .iter()
        .map(|l| l["params"]["kind"].as_str().unwrap())
        .collect();
    for k in ["event", "assistant_delta"] {
        assert!(kinds.contains(&k), "no {k} line in {kinds:?}");
    }
    for line in &seen_a.lines {
        // The line read back into the protocol's types and encoded by them again
        // is the same JSON: the same fields with the same values, nothing more.
        let params: LiveParams = serde_json::from_value(line["params"].clone()).unwrap();
        let again =
            serde_json::to_value(method::SessionLive::notification(&params).unwrap()).unwrap();
        assert_eq!(line, &again);
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["jsonrpc", "method", "params"], "{line}");
    }
}
