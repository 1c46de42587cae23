//! Lazy sessions (issue 13): at start only sessions with work get an actor; the
//! others sleep, show in lists exactly as they would awake, wake on first use,
//! and fall asleep again after `[sessions] sleep_after_s`. Recovery is what it
//! was: a turn cut short by `kill -9` resumes among many asleep sessions.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::pretty;
use tether_tests::raw::Raw;
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

async fn status(env: &TestEnv) -> Value {
    serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap()
}

async fn ls(env: &TestEnv) -> Vec<Value> {
    serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap()
}

/// `ls` after a restart. On a fleet (the suite on PostgreSQL) the graceful
/// stop released the leases, and the restarted node takes its sessions back in
/// its first heartbeat, which runs beside the first requests: until then they
/// list with no node, truthfully (nobody holds them). Waits for that.
async fn ls_held_again(env: &TestEnv) -> Vec<Value> {
    if !tether_tests::postgres::suite_on_postgres() {
        return ls(env).await;
    }
    env.wait_until(
        "the restarted node to hold its sessions again",
        T,
        || async { ls(env).await.iter().all(|s| s["node"].is_string()) },
    )
    .await;
    ls(env).await
}

fn log_count(env: &TestEnv, needle: &str) -> usize {
    std::fs::read_to_string(env.state_dir.join("daemon.log"))
        .unwrap_or_default()
        .matches(needle)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_turn_among_asleep_sessions_resumes_and_keeps_work_awake() {
    let (model, mut env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    // A call waiting for approval.
    model.push(Reply::tool_call(
        "call_ok",
        "shell",
        json!({"command": "echo approved > approved.txt"}),
    ));
    env.ok(&["new", "-d", "-n", "waiting", "run it"]).await;
    assert_eq!(env.wait_settled("waiting").await, "awaiting_approval");
    // A turn cut short in its model call, with an input queued behind it.
    model.push(Reply::hang());
    env.ok(&["new", "-d", "-n", "mid", "first question"]).await;
    model.wait_for_requests(2, T).await;
    env.ok(&["send", "mid", "second question"]).await;
    // Sessions with nothing to do.
    for i in 0..20 {
        env.ok(&["new", "-d", "-n", &format!("idle-{i}")]).await;
    }
    env.kill9().await;

    model.push(Reply::text("answer one"));
    model.push(Reply::text("answer two"));
    env.start_daemon().await;
    let st = status(&env).await;
    assert_eq!(st["sessions"], 22, "{st}");
    assert_eq!(
        st["awake_sessions"], 2,
        "only the sessions with work have an actor: {st}"
    );
    assert_eq!(env.wait_settled("mid").await, "idle");
    let evs = env.events("mid").await;
    let types: Vec<&str> = evs.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types.iter().filter(|t| **t == "turn_resumed").count(),
        1,
        "{types:?}"
    );
    let texts: Vec<&str> = evs
        .iter()
        .filter(|e| e["type"] == "assistant_message")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["answer one", "answer two"], "{}", pretty(&evs));

    // The approval is still pending, and deciding it goes on as before.
    let list = ls(&env).await;
    assert_eq!(list.len(), 22);
    let waiting = list.iter().find(|s| s["name"] == "waiting").unwrap();
    assert_eq!(waiting["state"], "awaiting_approval", "{waiting}");
    assert_eq!(waiting["pending_approvals"], json!(["call_ok"]));
    assert!(
        list.iter()
            .filter(|s| s["name"].as_str().unwrap().starts_with("idle-"))
            .all(|s| s["state"] == "idle"),
        "{list:?}"
    );
    model.push(Reply::text("done after approval"));
    env.ok(&["approve", "waiting", "call_ok"]).await;
    assert_eq!(env.wait_settled("waiting").await, "idle");
    assert!(env.work_dir.join("approved.txt").exists());
    // An asleep session wakes for a message, transparently.
    model.push(Reply::text("hello from idle-3"));
    env.ok(&["send", "idle-3", "wake up"]).await;
    assert_eq!(env.wait_settled("idle-3").await, "idle");
    let answers = env.events_of("idle-3", "assistant_message").await;
    assert_eq!(answers[0]["text"], "hello from idle-3");
    assert_eq!(status(&env).await["awake_sessions"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asleep_sessions_list_exactly_as_they_do_once_woken() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    env.start_daemon().await;
    model.push(Reply::text("hi there"));
    env.ok(&["new", "-d", "-n", "chat", "hello"]).await;
    assert_eq!(env.wait_settled("chat").await, "idle");
    model.push(Reply::status(400).with_error_message("no such model"));
    env.ok(&["new", "-d", "-n", "broken", "hello"]).await;
    assert_eq!(env.wait_settled("broken").await, "failed");
    env.ok(&["new", "-d", "-n", "blank", "--instructions", "be brief"])
        .await;
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;

    env.start_daemon().await;
    assert_eq!(status(&env).await["awake_sessions"], 0, "all asleep");
    let asleep = ls_held_again(&env).await;
    let broken = asleep.iter().find(|s| s["name"] == "broken").unwrap();
    assert!(
        broken["last_error"].as_str().unwrap().contains("400"),
        "a failed session shows its error while asleep: {broken}"
    );
    assert!(broken["waiting_since"].is_string(), "{broken}");
    // `logs` and `wait` read without waking.
    let chat = asleep.iter().find(|s| s["name"] == "chat").unwrap();
    assert_eq!(
        env.events("chat").await.len() as u64,
        chat["last_seq"].as_u64().unwrap()
    );
    assert_eq!(env.wait_settled("broken").await, "failed");
    assert_eq!(status(&env).await["awake_sessions"], 0, "still all asleep");

    // Attaching wakes each; detached again, each lists as it did asleep.
    let mut raw = Raw::hello(&env.socket).await;
    for (i, name) in ["chat", "broken", "blank"].iter().enumerate() {
        let r = raw
            .request(10 + i as u64, "session.attach", json!({"session": name}))
            .await;
        assert!(r.get("result").is_some(), "{r}");
        let r = raw
            .request(20 + i as u64, "session.detach", json!({"session": name}))
            .await;
        assert!(r.get("result").is_some(), "{r}");
    }
    assert_eq!(status(&env).await["awake_sessions"], 3, "all woken");
    // The actor counts a detach just after the reply.
    env.wait_until("the detached clients to be counted out", T, || async {
        ls(&env).await.iter().all(|s| s["attached_clients"] == 0)
    })
    .await;
    let woken = ls(&env).await;
    assert_eq!(
        woken,
        asleep,
        "woken:\n{}\nasleep:\n{}",
        pretty(&woken),
        pretty(&asleep)
    );
}

/// The full list cut down to `fields`, each summary keeping only those keys.
fn cut(list: &[Value], fields: &[&str]) -> Vec<Value> {
    list.iter()
        .map(|s| {
            let o = s.as_object().unwrap();
            Value::Object(
                o.iter()
                    .filter(|(k, _)| fields.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_some_fields_is_the_whole_list_cut_to_them_asleep_or_awake() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    env.start_daemon().await;
    model.push(Reply::status(400).with_error_message("no such model"));
    env.ok(&["new", "-d", "-n", "broken", "hello"]).await;
    assert_eq!(env.wait_settled("broken").await, "failed");
    env.ok(&["new", "-d", "-n", "blank", "--instructions", "be brief"])
        .await;
    env.ok(&["new", "-d", "-n", "other"]).await;
    env.ok(&["daemon", "stop"]).await;
    env.wait_daemon_exit().await;
    env.start_daemon().await;
    let mut raw = Raw::hello(&env.socket).await;
    // One awake (attached), the others asleep.
    let r = raw
        .request(1, "session.attach", json!({"session": "blank"}))
        .await;
    assert!(r.get("result").is_some(), "{r}");
    assert_eq!(status(&env).await["awake_sessions"], 1);
    let whole = raw.request(2, "session.list", json!({})).await["result"].clone();
    let whole = whole.as_array().unwrap();
    assert_eq!(whole.len(), 3);
    for fields in [
        vec!["name", "state", "last_error", "instructions", "nonsense"],
        vec!["id", "attached_clients", "pending_approvals", "cost_basis"],
        vec![],
    ] {
        let v = raw
            .request(3, "session.list", json!({"fields": fields}))
            .await;
        assert_eq!(
            v["result"].as_array().unwrap(),
            &cut(whole, &fields),
            "{fields:?}"
        );
    }
    // Not a list of names: the whole summaries, as before.
    let v = raw
        .request(4, "session.list", json!({"fields": "name"}))
        .await;
    assert_eq!(v["result"].as_array().unwrap(), whole);
    // `tether ls` asks for its table's fields only; the table is whole.
    let table = env.ok(&["ls"]).await;
    for name in ["broken", "blank", "other"] {
        assert!(table.lines().any(|l| l.starts_with(name)), "{table}");
    }
    assert!(
        table.contains("failed") && table.contains("idle"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_a_session_falls_asleep_and_wakes_are_all_served() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "[sessions]\nsleep_after_s = 0.005\n");
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "nap"]).await;
    const N: usize = 30;
    for i in 0..N {
        model.push(Reply::text(format!("answer {i}")));
    }
    // Two senders, one on its own connection sending as fast as it can, so
    // messages land at every point of falling asleep and waking.
    let socket = env.socket.clone();
    let fast = tokio::spawn(async move {
        let mut raw = Raw::hello(&socket).await;
        for i in 0..N / 2 {
            let r = raw
                .request(
                    100 + i as u64,
                    "session.send",
                    json!({"session": "nap", "text": format!("fast {i}")}),
                )
                .await;
            assert!(r.get("result").is_some(), "send {i}: {r}");
            let r = raw
                .request(
                    500 + i as u64,
                    "session.wait",
                    json!({"session": "nap", "timeout_s": 20}),
                )
                .await;
            assert!(r.get("result").is_some(), "wait {i}: {r}");
        }
    });
    for i in 0..N / 2 {
        if i % 2 == 0 {
            // Every other message goes to a session known to be asleep (the
            // wake path); the others land wherever falling asleep has got to.
            env.wait_until("the session to fall asleep", T, || async {
                status(&env).await["awake_sessions"] == 0
            })
            .await;
        }
        let out = env.run(&["send", "nap", &format!("cli {i}")]).await;
        assert_eq!(out.code, 0, "send {i}: {}", out.stderr);
    }
    fast.await.unwrap();
    assert_eq!(env.wait_settled("nap").await, "idle");
    let users = env.events_of("nap", "user_message").await;
    let mut texts: Vec<String> = users
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    texts.sort();
    let mut want: Vec<String> = (0..N / 2)
        .flat_map(|i| [format!("cli {i}"), format!("fast {i}")])
        .collect();
    want.sort();
    assert_eq!(texts, want, "every message once, none lost");
    assert_eq!(env.events_of("nap", "assistant_message").await.len(), N);
    assert!(
        log_count(&env, "session asleep") >= N / 4 && log_count(&env, "session woken") >= N / 4,
        "the session slept and woke meanwhile: {} asleep, {} woken",
        log_count(&env, "session asleep"),
        log_count(&env, "session woken")
    );
}
