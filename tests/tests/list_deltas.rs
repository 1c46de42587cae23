//! Issue 13: the session list pushed as deltas. A `sessions.subscribe` with
//! `{"deltas": true}` gets the whole list once, then `sessions.changed` with only
//! the sessions that changed (and the ids of those removed), coalesced per
//! client; a subscribe without params still gets whole lists (`sessions.updated`).
//! Raw protocol peers on the real daemon's socket.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::raw::Raw;
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);
const SESSIONS: usize = 30;

/// A daemon with `SESSIONS` idle sessions `s0`, `s1`, ...; their ids by name.
async fn many() -> (ModelServer, TestEnv, Vec<String>) {
    let (model, env) = TestEnv::started("").await;
    let mut raw = Raw::hello(&env.socket).await;
    let mut ids = Vec::new();
    for i in 0..SESSIONS {
        let cwd = env.work_dir.display().to_string();
        let v = raw
            .request(
                i as u64 + 1,
                "session.create",
                json!({"name": format!("s{i}"), "cwd": cwd}),
            )
            .await;
        ids.push(
            v["result"]["id"]
                .as_str()
                .expect("a created session")
                .to_string(),
        );
    }
    (model, env, ids)
}

/// Subscribes with `params` (`None`: no `params` member at all); returns the list.
async fn subscribe(raw: &mut Raw, params: Option<Value>) -> Vec<Value> {
    let mut msg = json!({"jsonrpc": "2.0", "id": 100, "method": "sessions.subscribe"});
    if let Some(p) = params {
        msg["params"] = p;
    }
    let r = raw.call(msg).await;
    r["result"].as_array().expect("the list").clone()
}

/// Reads notifications until `stop` holds for a list push (`sessions.changed` or
/// `sessions.updated`); returns every list push read, the last one included.
async fn pushes_until(raw: &mut Raw, what: &str, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    tokio::time::timeout(T, async {
        loop {
            let m = raw.read().await.expect("a notification, not EOF");
            if m["method"] != "sessions.changed" && m["method"] != "sessions.updated" {
                continue;
            }
            let done = stop(&m);
            seen.push(m);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no list push with {what} within 20 s; read {seen:?}"));
    seen
}

fn ids_in(push: &Value) -> Vec<String> {
    push["params"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_change_to_one_session_among_many_sends_only_that_session() {
    let (model, env, ids) = many().await;
    let mut deltas = Raw::hello(&env.socket).await;
    let list = subscribe(&mut deltas, Some(json!({"deltas": true}))).await;
    assert_eq!(list.len(), SESSIONS, "the whole list first");
    let mut whole = Raw::hello(&env.socket).await;
    assert_eq!(subscribe(&mut whole, Some(json!({}))).await.len(), SESSIONS);

    model.push(Reply::text("done"));
    let mut ctl = Raw::hello(&env.socket).await;
    let r = ctl
        .request(1, "session.send", json!({"session": "s7", "text": "go"}))
        .await;
    assert!(r.get("result").is_some(), "{r}");
    // Until the turn is over: only s7, in every push, once in each.
    let pushes = pushes_until(&mut deltas, "s7 idle after its turn", |m| {
        m["params"]["sessions"].as_array().is_some_and(|l| {
            l.iter()
                .any(|s| s["state"] == "idle" && s["last_seq"].as_u64() > Some(1))
        })
    })
    .await;
    for p in &pushes {
        assert_eq!(p["method"], "sessions.changed", "no whole list: {p}");
        assert_eq!(ids_in(p), [ids[7].clone()], "only s7: {p}");
        assert_eq!(p["params"]["removed"], json!([]), "{p}");
    }
    // The same change costs a whole-list subscriber every session.
    let full = pushes_until(&mut whole, "s7 idle", |m| {
        m["params"]["sessions"][7]["state"] == "idle"
            && m["params"]["sessions"][7]["last_seq"].as_u64() > Some(1)
    })
    .await;
    let last = full.last().unwrap();
    assert_eq!(last["method"], "sessions.updated");
    assert_eq!(ids_in(last).len(), SESSIONS);
    let delta_bytes = pushes.last().unwrap().to_string().len();
    let full_bytes = last.to_string().len();
    assert!(
        delta_bytes * 10 < full_bytes,
        "a delta of one session ({delta_bytes} B) is far smaller than the list ({full_bytes} B)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_is_sent_and_old_subscribers_still_get_whole_lists() {
    let (_model, env, ids) = many().await;
    let mut deltas = Raw::hello(&env.socket).await;
    subscribe(&mut deltas, Some(json!({"deltas": true}))).await;
    // Clients from before issue 13: params `{}`, `null`, or none at all.
    let mut old = Vec::new();
    for params in [Some(json!({})), Some(Value::Null), None] {
        let mut raw = Raw::hello(&env.socket).await;
        assert_eq!(subscribe(&mut raw, params).await.len(), SESSIONS);
        old.push(raw);
    }
    let mut ctl = Raw::hello(&env.socket).await;
    let r = ctl
        .request(1, "session.kill", json!({"session": "s3"}))
        .await;
    assert_eq!(r["result"]["id"], ids[3], "{r}");
    let pushes = pushes_until(&mut deltas, "s3 removed", |m| {
        m["params"]["removed"]
            .as_array()
            .is_some_and(|r| r.iter().any(|id| *id == ids[3]))
    })
    .await;
    for p in &pushes {
        assert_eq!(p["method"], "sessions.changed", "{p}");
        assert!(
            !ids_in(p).contains(&ids[3]),
            "a removed session is not also changed: {p}"
        );
    }
    for raw in &mut old {
        let pushes = pushes_until(raw, "a list without s3", |m| {
            m["method"] == "sessions.updated"
                && m["params"]["sessions"].as_array().unwrap().len() == SESSIONS - 1
        })
        .await;
        for p in &pushes {
            assert_eq!(
                p["method"], "sessions.updated",
                "old clients get no deltas: {p}"
            );
        }
        assert!(!ids_in(pushes.last().unwrap()).contains(&ids[3]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_changes_to_one_session_is_coalesced_into_one_entry() {
    let (_model, env, ids) = many().await;
    let mut deltas = Raw::hello(&env.socket).await;
    subscribe(&mut deltas, Some(json!({"deltas": true}))).await;
    // Twenty budget changes to s5, pipelined in one write.
    const BURST: u64 = 20;
    let mut bytes = Vec::new();
    for i in 1..=BURST {
        let req = json!({"jsonrpc": "2.0", "id": i, "method": "session.budget",
            "params": {"session": "s5", "max_tokens": 1000 + i}});
        bytes.extend(serde_json::to_vec(&req).unwrap());
        bytes.push(b'\n');
    }
    let mut ctl = Raw::hello(&env.socket).await;
    ctl.send_raw(&bytes).await;
    for _ in 1..=BURST {
        let r = ctl.response().await;
        assert!(r.get("result").is_some(), "{r}");
    }
    let pushes = pushes_until(&mut deltas, "s5 at its last budget", |m| {
        m["params"]["sessions"]
            .as_array()
            .is_some_and(|l| l.iter().any(|s| s["budget"]["max_tokens"] == 1000 + BURST))
    })
    .await;
    for p in &pushes {
        // One entry per push, with the latest summary when it was sent.
        assert_eq!(ids_in(p), [ids[5].clone()], "{p}");
    }
    // Each push is at least 100 ms after the one before, so twenty changes
    // made as fast as the daemon can are a few pushes, not twenty.
    assert!(
        (pushes.len() as u64) < BURST / 2,
        "{} pushes for {BURST} changes: {pushes:?}",
        pushes.len()
    );
}
