//! Context that lasts (issue 9): against a scripted model that enforces a window, a
//! long-lived session compacts instead of failing, the log keeps every event, and
//! the facts the user gave survive; `tether compact` makes the next request smaller.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use tether_tests::harness::{mentions, pretty};
use tether_tests::model::{asks_for_summary, count_tokens};
use tether_tests::{ModelServer, Reply, TestEnv};

/// A 4 KiB answer, with a marker to tell it apart.
fn long_answer(i: usize) -> String {
    let mut s = format!("Answer {i}: ");
    while s.len() < 4096 {
        s.push_str("the quick brown fox jumps over the lazy dog. ");
    }
    s
}

/// Feeds `name` a fact, a dozen 4 KiB answers, another fact, then asks for both.
async fn long_conversation(env: &TestEnv, model: &ModelServer, name: &str) {
    model.push(Reply::text("Noted alpha."));
    env.ok(&["new", "-d", "-n", name, "REMEMBER alpha"]).await;
    assert_eq!(env.wait_settled(name).await, "idle");
    for i in 0..12 {
        model.push(Reply::text(long_answer(i)));
        env.ok(&["send", name, &format!("Tell me a long story number {i}.")])
            .await;
        let state = env.wait_settled(name).await;
        assert_eq!(
            state,
            "idle",
            "turn {i}: {}",
            pretty(&env.events(name).await)
        );
    }
    model.push(Reply::text("Noted beta."));
    env.ok(&["send", name, "REMEMBER beta"]).await;
    assert_eq!(env.wait_settled(name).await, "idle");
    model.push(Reply::text("You told me alpha and beta."));
    env.ok(&["send", name, "Which two facts did I ask you to remember?"])
        .await;
    assert_eq!(env.wait_settled(name).await, "idle");
}

/// The last request that was not a summary request.
fn last_turn_request(model: &ModelServer) -> Value {
    model
        .requests()
        .into_iter()
        .rev()
        .find(|r| !asks_for_summary(r))
        .expect("a model request")
        .body
}

async fn check_long_conversation(env: &TestEnv, model: &ModelServer, name: &str, window: u64) {
    let events = env.events(name).await;
    assert!(
        events.iter().all(|e| e["type"] != "turn_failed"),
        "a turn failed: {}",
        pretty(&events)
    );
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "every event from seq 1"
    );
    let compactions = env.events_of(name, "context_compacted").await;
    assert!(
        !compactions.is_empty(),
        "no compaction: {}",
        pretty(&events)
    );
    for c in &compactions {
        assert!(
            c["tokens_after"].as_u64() < c["tokens_before"].as_u64(),
            "{c}"
        );
        assert!(
            ["auto", "overflow"].contains(&c["reason"].as_str().unwrap()),
            "{c}"
        );
    }
    // Every story is still in the log, though not in the context.
    let answers = env.events_of(name, "assistant_message").await;
    assert_eq!(answers.len(), 15, "{}", pretty(&answers));
    let last = last_turn_request(model);
    assert!(
        count_tokens(&last) <= window,
        "{} > {window}",
        count_tokens(&last)
    );
    assert!(mentions(&last, "alpha"), "alpha lost: {last}");
    assert!(mentions(&last, "beta"), "beta lost: {last}");
    assert!(
        mentions(&last, "Which two facts"),
        "the question is missing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_on_a_small_window_compacts_and_keeps_both_facts() {
    let model = ModelServer::start().await;
    model.context_window(6000);
    model.summarise_when(asks_for_summary);
    let mut env = TestEnv::with_model(
        &model,
        "[models.\"mock/test-model\"]\ncontext_window = 6000\n",
    );
    env.start_daemon().await;
    long_conversation(&env, &model, "long").await;
    check_long_conversation(&env, &model, "long", 6000).await;
    assert!(
        model.summaries() > 0,
        "the session's model wrote the summary"
    );
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    let s = &ls.as_array().unwrap()[0];
    assert_eq!(s["context_window"], 6000, "{s}");
    let used = s["context_tokens"].as_u64().unwrap();
    assert!(used > 0 && used < 6000, "{s}");
    // The summary requests reuse the session's prefix: the same system prompt and
    // the same first message as the session's own requests.
    let reqs = model.requests();
    let summary = reqs.iter().find(|r| asks_for_summary(r)).unwrap();
    let turn = reqs.iter().find(|r| !asks_for_summary(r)).unwrap();
    assert_eq!(summary.messages()[0], turn.messages()[0]);

    // A restart rebuilds the same context from the log (from its latest compaction).
    let before = last_turn_request(&model)["messages"].clone();
    env.kill9().await;
    env.start_daemon().await;
    model.push(Reply::text("Still alpha and beta."));
    env.ok(&["send", "long", "And now?"]).await;
    assert_eq!(env.wait_settled("long").await, "idle");
    let after = last_turn_request(&model)["messages"].clone();
    let n = before.as_array().unwrap().len();
    assert_eq!(
        after.as_array().unwrap()[..n],
        before.as_array().unwrap()[..],
        "the context after a restart is the one before it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_window_configured_the_first_overflow_compacts_and_retries() {
    let model = ModelServer::start().await;
    model.context_window(6000);
    model.summarise_when(asks_for_summary);
    let mut env = TestEnv::with_model(&model, "");
    env.start_daemon().await;
    long_conversation(&env, &model, "unknown").await;
    check_long_conversation(&env, &model, "unknown", 6000).await;
    assert!(
        model.overflows() > 0,
        "the endpoint said it was over its window"
    );
    let compactions = env.events_of("unknown", "context_compacted").await;
    assert!(
        compactions.iter().any(|c| c["reason"] == "overflow"),
        "{}",
        pretty(&compactions)
    );
    // The lesson is kept: the window is known from now on, across a restart.
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["context_window"], 6000, "{ls}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auto_off_an_overflow_fails_the_turn_and_says_to_run_compact() {
    let model = ModelServer::start().await;
    model.summarise_when(asks_for_summary);
    let mut env = TestEnv::with_model(&model, "[context]\nauto = false\n");
    env.start_daemon().await;
    model.push(Reply::text(long_answer(0)));
    env.ok(&["new", "-d", "-n", "manual", "REMEMBER alpha"])
        .await;
    assert_eq!(env.wait_settled("manual").await, "idle");
    model.push(Reply::text(long_answer(1)));
    env.ok(&["send", "manual", "more"]).await;
    let st = env.wait_settled("manual").await;
    assert_eq!(st, "idle", "{}", pretty(&env.events("manual").await));
    // The next request, with the second long answer, is over the window.
    let second = count_tokens(&last_turn_request(&model));
    model.context_window(second + 500);
    env.ok(&["send", "manual", "and more"]).await;
    assert_eq!(env.wait_settled("manual").await, "failed");
    let failed = env.events_of("manual", "turn_failed").await;
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.contains("tether compact manual"), "{error}");
    assert!(
        env.events_of("manual", "context_compacted")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tether_compact_makes_the_next_request_smaller_and_keeps_the_facts() {
    let model = ModelServer::start().await;
    model.summarise_when(asks_for_summary);
    let mut env = TestEnv::with_model(&model, "");
    env.start_daemon().await;
    model.push(Reply::text("Noted."));
    env.ok(&["new", "-d", "-n", "c", "REMEMBER the door code is 4711"])
        .await;
    assert_eq!(env.wait_settled("c").await, "idle");
    for i in 0..3 {
        model.push(Reply::text(long_answer(i)));
        env.ok(&["send", "c", &format!("story {i}")]).await;
        assert_eq!(env.wait_settled("c").await, "idle");
    }
    let before = count_tokens(&last_turn_request(&model));
    let out = env.ok(&["compact", "c"]).await;
    assert!(out.contains("compacted"), "{out}");
    // Compacting again right away has nothing to do, and says so, exit 0.
    let again = env.ok(&["compact", "c"]).await;
    assert!(again.contains("nothing to compact"), "{again}");
    let compactions = env.events_of("c", "context_compacted").await;
    assert_eq!(compactions.len(), 1, "{}", pretty(&compactions));
    assert_eq!(compactions[0]["reason"], "manual");
    model.push(Reply::text("4711."));
    env.ok(&["send", "c", "What is the door code?"]).await;
    assert_eq!(env.wait_settled("c").await, "idle");
    let next = last_turn_request(&model);
    let after = count_tokens(&next);
    assert!(after < before, "{after} >= {before}");
    assert!(mentions(&next, "4711"), "the fact was lost: {next}");
    let out = env.run(&["compact", "nope"]).await;
    assert_ne!(out.code, 0);
}
