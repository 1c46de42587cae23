//! Issue 11's reading methods against the real daemon: `session.search` over a
//! session's whole stored log, and queued inputs, which attached clients see
//! (`queued` in the attach reply, `queued` live messages) and can cancel with
//! `session.cancel_input` until the agent takes them.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::raw::Raw;
use tether_tests::{Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

/// Reads notifications until a `queued` live message whose inputs' texts are
/// `texts`; returns its inputs.
async fn queue_becomes(raw: &mut Raw, texts: &[&str]) -> Vec<Value> {
    let mut seen = Vec::new();
    let out = tokio::time::timeout(T, async {
        loop {
            let msg = raw.read().await.expect("the daemon closed the connection");
            let p = &msg["params"];
            if msg["method"] != "session.live" || p["kind"] != "queued" {
                continue;
            }
            let inputs = p["inputs"].as_array().unwrap().clone();
            let now: Vec<&str> = inputs.iter().map(|i| i["text"].as_str().unwrap()).collect();
            seen.push(format!("{now:?}"));
            if now == texts {
                return inputs;
            }
        }
    })
    .await;
    out.unwrap_or_else(|_| panic!("no queued message with {texts:?}; saw {seen:?}"))
}

fn seqs(r: &Value) -> Vec<u64> {
    r["result"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits in {r}"))
        .iter()
        .map(|h| h["seq"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_every_stored_event_newest_first_with_the_last_word_a_prefix() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::tool_call(
        "c_build",
        "shell",
        json!({"command": "echo 'error: linker cc not found'"}),
    ));
    model.push(Reply::text("The linker is missing."));
    env.ok(&["new", "-d", "-n", "find", "why does the build fail?"])
        .await;
    assert_eq!(env.wait_settled("find").await, "idle");
    for i in 0..30 {
        model.push(Reply::text(format!("filler answer {i}")));
        env.ok(&["send", "find", &format!("filler question {i}")])
            .await;
        assert_eq!(env.wait_settled("find").await, "idle");
    }
    // Another session's words are never found from this one.
    model.push(Reply::text("noted"));
    env.ok(&["new", "-d", "-n", "other", "the linker of other"])
        .await;
    assert_eq!(env.wait_settled("other").await, "idle");

    let events = env.events("find").await;
    let seq_of = |pred: &dyn Fn(&Value) -> bool| -> u64 {
        events.iter().find(|e| pred(e)).unwrap()["seq"]
            .as_u64()
            .unwrap()
    };
    let result = seq_of(&|e| e["type"] == "tool_result");
    let answer =
        seq_of(&|e| e["type"] == "assistant_message" && e["text"] == "The linker is missing.");
    let call = seq_of(&|e| e["type"] == "tool_call");

    let mut raw = Raw::hello(&env.socket).await;
    let r = raw
        .request(
            1,
            "session.search",
            json!({"session": "find", "query": "LINK"}),
        )
        .await;
    assert_eq!(
        seqs(&r),
        [answer, result, call],
        "newest first, a prefix, any case: {r}"
    );
    assert_eq!(r["result"]["more"], false, "{r}");
    let hit = &r["result"]["hits"][1];
    assert_eq!(hit["type"], "tool_result", "{hit}");
    assert_eq!(hit["tool"], "shell", "{hit}");
    assert!(
        hit["excerpt"].as_str().unwrap().contains("linker cc"),
        "{hit}"
    );

    // Every word is needed; the oldest hits are left out past the limit, and said so.
    let r = raw
        .request(
            2,
            "session.search",
            json!({"session": "find", "query": "linker missing"}),
        )
        .await;
    assert_eq!(seqs(&r), [answer], "{r}");
    let r = raw
        .request(
            3,
            "session.search",
            json!({"session": "find", "query": "filler", "limit": 5}),
        )
        .await;
    let got = seqs(&r);
    assert_eq!(got.len(), 5, "{r}");
    assert!(got.windows(2).all(|w| w[0] > w[1]), "{got:?}");
    let newest = events
        .iter()
        .rev()
        .find(|e| e["type"] == "assistant_message")
        .unwrap();
    assert_eq!(newest["text"], "filler answer 29");
    assert_eq!(got[0], newest["seq"].as_u64().unwrap(), "the newest: {r}");
    assert_eq!(r["result"]["more"], true, "{r}");

    // Nothing found is an empty answer, as are a query of no words and operators.
    for q in ["zebra", "", "( ) * -", "\"", "NEAR("] {
        let r = raw
            .request(4, "session.search", json!({"session": "find", "query": q}))
            .await;
        assert_eq!(seqs(&r), Vec::<u64>::new(), "{q:?}: {r}");
    }
    let r = raw
        .request(
            5,
            "session.search",
            json!({"session": "nosuch", "query": "linker"}),
        )
        .await;
    assert_eq!(r["error"]["code"], -32001, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_input_is_shown_until_taken_and_cancelled_only_while_queued() {
    let (model, mut env) = TestEnv::started("").await;
    // The first turn's model call hangs: what is sent meanwhile waits.
    model.push(Reply::hang());
    env.ok(&["new", "-d", "-n", "q", "start working"]).await;
    model.wait_for_requests(1, T).await;

    let mut raw = Raw::hello(&env.socket).await;
    let a = raw
        .request(1, "session.attach", json!({"session": "q"}))
        .await;
    assert_eq!(a["result"]["queued"], json!([]), "{a}");
    let send =
        |text: &str, delivery: &str| json!({"session": "q", "text": text, "delivery": delivery});
    let first = raw
        .request(2, "session.send", send("second task", "queue"))
        .await;
    let first = first["result"]["input_id"].as_i64().unwrap();
    let inputs = queue_becomes(&mut raw, &["second task"]).await;
    assert_eq!(inputs[0]["input_id"], first);
    assert_eq!(inputs[0]["delivery"], "queue");
    let doomed = raw
        .request(3, "session.send", send("never mind", "queue"))
        .await;
    let doomed = doomed["result"]["input_id"].as_i64().unwrap();
    queue_becomes(&mut raw, &["second task", "never mind"]).await;

    // A client attaching now gets the queue in its reply.
    let mut other = Raw::hello(&env.socket).await;
    let b = other
        .request(1, "session.attach", json!({"session": "q"}))
        .await;
    let texts: Vec<&str> = b["result"]["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["second task", "never mind"], "{b}");
    // A read-only client may not cancel.
    let mut watcher = Raw::hello(&env.socket).await;
    watcher
        .request(
            1,
            "session.attach",
            json!({"session": "q", "read_only": true}),
        )
        .await;
    let r = watcher
        .request(
            2,
            "session.cancel_input",
            json!({"session": "q", "input_id": doomed}),
        )
        .await;
    assert_eq!(r["error"]["code"], -32009, "{r}");

    // Cancelled while queued: gone for every client, and durably.
    let r = raw
        .request(
            4,
            "session.cancel_input",
            json!({"session": "q", "input_id": doomed}),
        )
        .await;
    assert_eq!(r["result"], json!({"cancelled": true}), "{r}");
    queue_becomes(&mut raw, &["second task"]).await;
    queue_becomes(&mut other, &["second task"]).await;
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["queued_inputs"], 1, "{ls}");
    let again = raw
        .request(
            5,
            "session.cancel_input",
            json!({"session": "q", "input_id": doomed}),
        )
        .await;
    assert_eq!(again["result"], json!({"cancelled": false}), "{again}");

    // Taken by the agent (the hanging turn is interrupted, the next input starts
    // its own): cancelling it now says so and changes nothing.
    model.push(Reply::text("did the second task"));
    let i = raw
        .request(6, "session.interrupt", json!({"session": "q"}))
        .await;
    assert_eq!(i["result"]["interrupted"], true, "{i}");
    queue_becomes(&mut raw, &[]).await;
    let late = raw
        .request(
            7,
            "session.cancel_input",
            json!({"session": "q", "input_id": first}),
        )
        .await;
    assert_eq!(late["result"], json!({"cancelled": false}), "{late}");
    assert_eq!(env.wait_settled("q").await, "idle");
    let users: Vec<Value> = env
        .events_of("q", "user_message")
        .await
        .into_iter()
        .map(|e| e["text"].clone())
        .collect();
    assert_eq!(users, [json!("start working"), json!("second task")]);
    assert!(
        env.events_of("q", "assistant_message")
            .await
            .iter()
            .any(|e| e["text"] == "did the second task")
    );

    // A cancelled input stays cancelled across a `kill -9` of the daemon.
    drop((raw, other, watcher));
    model.push(Reply::hang());
    env.ok(&["send", "q", "third"]).await;
    model.wait_for_requests(3, T).await;
    env.ok(&["send", "q", "fourth, cancelled"]).await;
    let mut raw = Raw::hello(&env.socket).await;
    let a = raw
        .request(1, "session.attach", json!({"session": "q"}))
        .await;
    let id = a["result"]["queued"][0]["input_id"].as_i64().unwrap();
    assert_eq!(a["result"]["queued"][0]["text"], "fourth, cancelled", "{a}");
    let r = raw
        .request(
            2,
            "session.cancel_input",
            json!({"session": "q", "input_id": id}),
        )
        .await;
    assert_eq!(r["result"]["cancelled"], true, "{r}");
    drop(raw);
    env.kill9().await;
    model.push(Reply::text("resumed"));
    env.start_daemon().await;
    assert_eq!(env.wait_settled("q").await, "idle");
    let users: Vec<Value> = env
        .events_of("q", "user_message")
        .await
        .into_iter()
        .map(|e| e["text"].clone())
        .collect();
    assert_eq!(
        users,
        [json!("start working"), json!("second task"), json!("third")],
        "the cancelled input came back"
    );
}
