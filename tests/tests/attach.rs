//! Attaching: pages from a seq, live events in order for every client, the partial
//! answer for a client that attaches mid-stream, and catch-up for a stalled client.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::raw::Raw;
use tether_tests::{Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

/// Reads live notifications until `until` matches one; returns the stored events seen.
async fn events_until(raw: &mut Raw, until: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut events = Vec::new();
    tokio::time::timeout(T, async {
        loop {
            let msg = raw.read().await.expect("the daemon closed the connection");
            if msg["method"] != "session.live" {
                continue;
            }
            let p = &msg["params"];
            if p["kind"] == "event" {
                let ev = p["event"].clone();
                let stop = until(&ev);
                events.push(ev);
                if stop {
                    return;
                }
            }
        }
    })
    .await
    .expect("the awaited event within 20 s");
    events
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_see_the_same_events_in_the_same_order() {
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "multi"]).await;
    let mut a = Raw::hello(&env.socket).await;
    let mut b = Raw::hello(&env.socket).await;
    for raw in [&mut a, &mut b] {
        let r = raw
            .request(1, "session.attach", json!({"session": "multi"}))
            .await;
        assert_eq!(r["result"]["info"]["name"], "multi", "{r}");
    }
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["attached_clients"], 2);
    model.push(Reply::tool_call("c", "list_dir", json!({})));
    model.push(Reply::text("two steps done"));
    let sent = a
        .request(2, "session.send", json!({"session": "multi", "text": "go"}))
        .await;
    assert!(sent["result"]["input_id"].as_i64().is_some(), "{sent}");
    let done = |e: &Value| e["type"] == "turn_completed";
    let ea = events_until(&mut a, done).await;
    let eb = events_until(&mut b, done).await;
    assert_eq!(ea, eb, "both clients saw the same events");
    let s = seqs(&ea);
    assert!(s.windows(2).all(|w| w[1] == w[0] + 1), "no gaps: {s:?}");
    let types: Vec<&str> = ea.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for t in [
        "user_message",
        "turn_started",
        "tool_call",
        "tool_result",
        "assistant_message",
        "turn_completed",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    drop(a);
    env.wait_until("the detached client to be counted out", T, || async {
        let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
        ls[0]["attached_clients"] == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_returns_a_page_from_a_seq() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "paged", "one"]).await;
    env.wait_settled("paged").await;
    env.ok(&["send", "paged", "two"]).await;
    env.wait_settled("paged").await;
    let all = env.events("paged").await;
    let last = all.last().unwrap()["seq"].as_u64().unwrap();
    assert!(last > 8, "{last}");

    let mut raw = Raw::hello(&env.socket).await;
    let r = raw
        .request(
            1,
            "session.attach",
            json!({"session": "paged", "page_size": 3}),
        )
        .await;
    let res = &r["result"];
    assert_eq!(
        seqs(res["events"].as_array().unwrap()),
        vec![last - 2, last - 1, last],
        "the newest page"
    );
    assert_eq!(res["truncated"], true);
    assert_eq!(res["last_seq"], last);
    let r = raw
        .request(
            2,
            "session.attach",
            json!({"session": "paged", "from_seq": last - 2, "page_size": 100}),
        )
        .await;
    assert_eq!(
        seqs(r["result"]["events"].as_array().unwrap()),
        vec![last - 1, last]
    );
    assert_eq!(r["result"]["truncated"], false);
    let r = raw
        .request(
            3,
            "session.logs",
            json!({"session": "paged", "before": last - 2, "limit": 2}),
        )
        .await;
    assert_eq!(
        seqs(r["result"]["events"].as_array().unwrap()),
        vec![last - 4, last - 3],
        "paging backwards"
    );
    assert_eq!(r["result"]["more"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_attaching_mid_stream_sees_the_partial_answer() {
    let (model, env) = TestEnv::started("").await;
    let text: String = (0..200).map(|i| format!("w{i} ")).collect();
    model.push(Reply::text(text.clone()).slow(Duration::from_millis(20)));
    env.ok(&["new", "-d", "-n", "mid", "talk"]).await;
    model.wait_for_requests(1, T).await;
    let mut raw = Raw::hello(&env.socket).await;
    let mut partial = String::new();
    env.wait_until("some streamed text", T, || async {
        let mut r = Raw::hello(&env.socket).await;
        let v = r
            .request(
                1,
                "session.attach",
                json!({"session": "mid", "page_size": 0}),
            )
            .await;
        !v["result"]["partial"]["assistant_text"]
            .as_str()
            .unwrap()
            .is_empty()
    })
    .await;
    let r = raw
        .request(
            1,
            "session.attach",
            json!({"session": "mid", "page_size": 0}),
        )
        .await;
    partial.push_str(r["result"]["partial"]["assistant_text"].as_str().unwrap());
    assert!(!partial.is_empty());
    // Deltas after the attach continue the partial text exactly.
    tokio::time::timeout(T, async {
        loop {
            let m = raw.read().await.unwrap();
            let p = &m["params"];
            if p["kind"] == "assistant_delta" {
                partial.push_str(p["text"].as_str().unwrap());
            }
            if p["kind"] == "event" && p["event"]["type"] == "assistant_message" {
                assert_eq!(
                    p["event"]["text"].as_str().unwrap(),
                    partial,
                    "partial + deltas = the answer"
                );
                return;
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_caught_up_without_gaps_and_does_not_slow_the_agent() {
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "busy"]).await;
    let mut stalled = Raw::hello(&env.socket).await;
    stalled
        .request(
            1,
            "session.attach",
            json!({"session": "busy", "page_size": 0}),
        )
        .await;
    // A long answer streams many thousands of deltas while this client reads nothing.
    let big: String = (0..30_000).map(|i| format!("token{i} ")).collect();
    model.push(Reply::text(big));
    for i in 0..5 {
        model.push(Reply::text(format!("short {i}")));
    }
    env.ok(&["send", "busy", "long one"]).await;
    for i in 0..5 {
        env.ok(&["send", "busy", &format!("q{i}")]).await;
    }
    // The agent finishes everything although one client never read.
    assert_eq!(env.wait_settled("busy").await, "idle");
    let stored = env.events("busy").await;
    let last = stored.last().unwrap()["seq"].as_u64().unwrap();
    // Now the stalled client reads: every event after its attach, in order, no gaps.
    let seen = events_until(&mut stalled, |e| e["seq"] == last).await;
    let s = seqs(&seen);
    assert_eq!(
        s,
        (2..=last).collect::<Vec<_>>(),
        "caught up without gaps or duplicates"
    );
    let log = std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap();
    assert!(
        log.contains("catching up from the store"),
        "the feed lagged and was resynced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_sends_keep_their_order_and_a_kill_closes_the_feed() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "pipe"]).await;
    let mut raw = Raw::hello(&env.socket).await;
    raw.request(
        1,
        "session.attach",
        json!({"session": "pipe", "page_size": 0}),
    )
    .await;
    // Many sends written at once, without waiting for replies.
    let mut burst = Vec::new();
    for i in 0..20 {
        let msg = json!({"jsonrpc": "2.0", "id": 100 + i, "method": "session.send",
                         "params": {"session": "pipe", "text": format!("m{i}")}});
        burst.extend(serde_json::to_vec(&msg).unwrap());
        burst.push(b'\n');
    }
    raw.send_raw(&burst).await;
    // Replies come in the order the requests were written. Only an acknowledged
    // input is promised to count for `wait`, so the wait starts after the last
    // acknowledgement (not merely after the bytes were written).
    let mut input_ids = Vec::new();
    for i in 0..20 {
        let r = raw.response().await;
        assert_eq!(r["id"], 100 + i, "replies in request order: {r}");
        input_ids.push(
            r["result"]["input_id"]
                .as_i64()
                .unwrap_or_else(|| panic!("send m{i} acknowledged: {r}")),
        );
    }
    assert!(
        input_ids.windows(2).all(|w| w[0] < w[1]),
        "inputs stored in order: {input_ids:?}"
    );
    // Every acknowledged input counts at once: the wait returns only after all
    // 20 turns are over.
    assert_eq!(env.wait_settled("pipe").await, "idle");
    let answered = env.events_of("pipe", "turn_completed").await.len();
    assert_eq!(
        answered, 20,
        "wait returned before every acknowledged turn ended"
    );
    let users: Vec<String> = env
        .events_of("pipe", "user_message")
        .await
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(users, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());

    env.ok(&["kill", "pipe"]).await;
    let closed = tokio::time::timeout(T, async {
        loop {
            let m = raw.read().await.expect("a notification before EOF");
            if m["method"] == "session.closed" {
                return m;
            }
        }
    })
    .await
    .expect("session.closed within 20 s");
    assert_eq!(closed["params"]["name"], "pipe");
    let v = raw.request(2, "session.list", json!({})).await;
    assert_eq!(v["result"], json!([]), "the connection stays usable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_list_is_pushed_when_it_changes() {
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    let mut raw = Raw::hello(&env.socket).await;
    let r = raw.request(1, "sessions.subscribe", json!({})).await;
    assert_eq!(r["result"], json!([]));
    async fn until(raw: &mut Raw, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        tokio::time::timeout(T, async {
            loop {
                let m = raw.read().await.expect("a notification");
                if m["method"] == "sessions.updated" && pred(&m["params"]["sessions"]) {
                    return m["params"]["sessions"].clone();
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no sessions.updated with {what} within 20 s"))
    }
    env.ok(&["new", "-d", "-n", "pushed"]).await;
    until(&mut raw, "the new session", |l| {
        l.as_array().unwrap().iter().any(|s| s["name"] == "pushed")
    })
    .await;
    model.push(Reply::tool_call("c", "shell", json!({"command": "true"})));
    env.ok(&["send", "pushed", "go"]).await;
    let l = until(&mut raw, "awaiting_approval", |l| {
        l[0]["state"] == "awaiting_approval"
    })
    .await;
    assert_eq!(l[0]["pending_approvals"], json!(["c"]));
    env.ok(&["kill", "pushed"]).await;
    until(&mut raw, "an empty list", |l| {
        l.as_array().unwrap().is_empty()
    })
    .await;
}
