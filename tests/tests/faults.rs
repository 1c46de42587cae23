//! Failing model endpoints: retries with backoff, honest failure, a usable session.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::Value;
use tether_tests::harness::pretty;
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_its_retry_after() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::status(429).retry_after(1));
    model.push(Reply::text("after the rate limit"));
    env.ok(&["new", "-d", "-n", "rl", "hi"]).await;
    assert_eq!(env.wait_settled("rl").await, "idle");
    let errors = env.events_of("rl", "error").await;
    assert_eq!(errors.len(), 1, "{}", pretty(&errors));
    let msg = errors[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("429") && msg.contains("retrying in 1.0s"),
        "Retry-After honoured: {msg}"
    );
    assert_eq!(
        env.events_of("rl", "assistant_message").await[0]["text"],
        "after the rate limit"
    );
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_5xx_fails_the_turn_and_the_session_stays_usable() {
    let (model, env) = TestEnv::started("").await;
    for _ in 0..3 {
        model.push(Reply::status(503).with_error_message("upstream overloaded"));
    }
    env.ok(&["new", "-d", "-n", "down", "hi"]).await;
    assert_eq!(env.wait_settled("down").await, "failed");
    assert_eq!(
        model.requests().len(),
        3,
        "max_attempts = 3 in the test config"
    );
    let failed = env.events_of("down", "turn_failed").await;
    let error = failed[0]["error"].as_str().unwrap();
    assert!(
        error.contains("503") && error.contains("upstream overloaded"),
        "{error}"
    );
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["state"], "failed");
    assert!(ls[0]["last_error"].as_str().unwrap().contains("503"));

    model.push(Reply::text("back up"));
    env.ok(&["send", "down", "again"]).await;
    assert_eq!(env.wait_settled("down").await, "idle");
    let reqs = model.wait_for_requests(4, T).await;
    let users: Vec<_> = reqs[3]
        .messages()
        .into_iter()
        .filter(|m| m["role"] == "user")
        .collect();
    assert_eq!(users.len(), 2, "the failed turn's message stays in context");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_before_finish_reason_is_retried_not_taken_as_the_answer() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::truncated("half an ans"));
    model.push(Reply::text("the whole answer"));
    env.ok(&["new", "-d", "-n", "cut", "hi"]).await;
    assert_eq!(env.wait_settled("cut").await, "idle");
    let answers = env.events_of("cut", "assistant_message").await;
    assert_eq!(answers.len(), 1, "{}", pretty(&answers));
    assert_eq!(answers[0]["text"], "the whole answer");
    let errors = env.events_of("cut", "error").await;
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("finish_reason"),
        "{}",
        pretty(&errors)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_is_cut_and_retried() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::new();
    env.write_config(
        &tether_tests::harness::config_for(&model, "")
            .replace("stall_timeout_s = 3", "stall_timeout_s = 0.5"),
    );
    env.start_daemon().await;
    model.push(Reply::hang());
    model.push(Reply::text("not stalled"));
    env.ok(&["new", "-d", "-n", "stall", "hi"]).await;
    assert_eq!(env.wait_settled("stall").await, "idle");
    assert_eq!(
        env.events_of("stall", "assistant_message").await[0]["text"],
        "not stalled"
    );
    assert!(
        env.events_of("stall", "error").await[0]["message"]
            .as_str()
            .unwrap()
            .contains("no response")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_error_is_not_retried_and_an_unreachable_endpoint_is() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::status(401).with_error_message("invalid api key"));
    env.ok(&["new", "-d", "-n", "auth", "hi"]).await;
    assert_eq!(env.wait_settled("auth").await, "failed");
    assert_eq!(model.requests().len(), 1, "401 is not retried");
    let e = &env.events_of("auth", "turn_failed").await[0];
    assert!(
        e["error"].as_str().unwrap().contains("invalid api key"),
        "{e}"
    );

    // A provider nobody listens on: connection errors are retried, then the turn fails.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let cfg = std::fs::read_to_string(env.config_dir.join("config.toml")).unwrap();
    env.write_config(&format!(
        "{cfg}\n[providers.dead]\nbase_url = \"http://127.0.0.1:{port}/v1\"\n"
    ));
    env.ok(&["new", "-d", "-n", "dead", "-m", "dead/m", "hi"])
        .await;
    assert_eq!(env.wait_settled("dead").await, "failed");
    let errors = env.events_of("dead", "error").await;
    assert_eq!(
        errors.len(),
        2,
        "two retries before the third attempt fails: {}",
        pretty(&errors)
    );
    let e = &env.events_of("dead", "turn_failed").await[0];
    assert!(e["error"].as_str().unwrap().contains("cannot reach"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_only_stream_is_cut_by_the_stall_timeout() {
    // The test config has stall_timeout_s = 3; keep-alives arrive every 200 ms.
    let (model, env) = TestEnv::started("").await;
    for _ in 0..3 {
        model.push(Reply::keep_alive_only(Duration::from_millis(200)));
    }
    let started = std::time::Instant::now();
    env.ok(&["new", "-d", "-n", "ka", "hi"]).await;
    env.wait_event("ka", "the first retry after a stall", |e| {
        e["type"] == "error"
    })
    .await;
    let first_retry = started.elapsed();
    assert!(
        first_retry < Duration::from_secs(10),
        "the first stall was noticed after {first_retry:?}"
    );
    let state = env.wait_settled("ka").await;
    assert_eq!(state, "failed");
    let errors = env.events_of("ka", "error").await;
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("no progress for 3s"),
        "{}",
        pretty(&errors)
    );
    let failed = &env.events_of("ka", "turn_failed").await[0];
    assert!(
        failed["error"].as_str().unwrap().contains("stalled"),
        "{failed}"
    );
    assert_eq!(model.requests().len(), 3, "retried like any stall");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_advancing_stream_is_cut_by_the_request_timeout_and_retried() {
    let (model, env) = TestEnv::started("").await;
    let cfg = std::fs::read_to_string(env.config_dir.join("config.toml")).unwrap();
    env.write_config(&cfg.replace(
        "stall_timeout_s = 3",
        "stall_timeout_s = 3\nrequest_timeout_s = 1.5",
    ));
    model.push(Reply::endless(Duration::from_millis(100)));
    model.push(Reply::text("finally finished"));
    env.ok(&["new", "-d", "-n", "endless", "hi"]).await;
    assert_eq!(env.wait_settled("endless").await, "idle");
    let errors = env.events_of("endless", "error").await;
    assert_eq!(errors.len(), 1, "{}", pretty(&errors));
    let msg = errors[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("request_timeout_s") && msg.contains("1.5s"),
        "{msg}"
    );
    let answers = env.events_of("endless", "assistant_message").await;
    assert_eq!(answers.len(), 1, "{}", pretty(&answers));
    assert_eq!(answers[0]["text"], "finally finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_stream_true_is_read_as_its_json_answer() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::tool_call("call_ls", "list_dir", serde_json::json!({})).ignoring_stream());
    model.push(Reply::text("one body, one answer").ignoring_stream());
    env.ok(&["new", "-d", "-n", "json", "hi"]).await;
    assert_eq!(env.wait_settled("json").await, "idle");
    let errors = env.events_of("json", "error").await;
    assert!(errors.is_empty(), "{}", pretty(&errors));
    let results = env.events_of("json", "tool_result").await;
    assert_eq!(results.len(), 1, "the tool call in the JSON body ran");
    assert_eq!(results[0]["call_id"], "call_ls");
    let answers = env.events_of("json", "assistant_message").await;
    assert_eq!(answers[1]["text"], "one body, one answer");
    let reqs = model.wait_for_requests(2, T).await;
    assert_eq!(
        reqs[0].body["stream"], true,
        "tether still asks for a stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_409_is_retried() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::status(409).with_error_message("request conflict"));
    model.push(Reply::text("after the conflict"));
    env.ok(&["new", "-d", "-n", "conflict", "hi"]).await;
    assert_eq!(env.wait_settled("conflict").await, "idle");
    let errors = env.events_of("conflict", "error").await;
    assert!(
        errors[0]["message"].as_str().unwrap().contains("409"),
        "{}",
        pretty(&errors)
    );
    assert_eq!(
        env.events_of("conflict", "assistant_message").await[0]["text"],
        "after the conflict"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_cut_at_the_token_limit_is_recorded_and_shown() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("a long answer that stops mid").with_finish_reason("length"));
    model.push(Reply::text("a whole answer"));
    env.ok(&["new", "-d", "-n", "len", "hi"]).await;
    assert_eq!(env.wait_settled("len").await, "idle");
    let answers = env.events_of("len", "assistant_message").await;
    assert_eq!(
        answers[0]["finish_reason"],
        "length",
        "{}",
        pretty(&answers)
    );
    env.ok(&["send", "len", "again"]).await;
    assert_eq!(env.wait_settled("len").await, "idle");
    let answers = env.events_of("len", "assistant_message").await;
    assert_eq!(answers[1]["finish_reason"], "stop");
    let text = env.ok(&["logs", "len"]).await;
    let cut: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("answer cut at the token limit"))
        .collect();
    assert_eq!(cut.len(), 1, "{text}");
    assert!(cut[0].contains("stops mid"), "{text}");
}
