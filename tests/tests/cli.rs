//! The CLI as scripts use it: idempotent retries (`--key`), exit codes that tell
//! the truth, line mode (`attach` without a terminal) and reading a message from
//! standard input.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tether_tests::harness::pretty;
use tether_tests::{Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

/// The pid of whichever daemon serves now (the test's own or one the CLI
/// started), starting one when none runs.
async fn serving_pid(env: &TestEnv) -> i32 {
    env.ok(&["ls"]).await;
    let status: Value = serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await)
        .expect("daemon status --json");
    status["pid"].as_i64().expect("a pid") as i32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_twice_is_one_session_and_one_input_even_across_a_kill_9() {
    let (model, mut env) = TestEnv::started("").await;
    let first = env.run(&["new", "-d", "-n", "k", "--key", "new-1"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout.trim(), "k");
    let again = env.run(&["new", "-d", "-n", "k", "--key", "new-1"]).await;
    assert_eq!(again.code, 0, "a retried `new` succeeds: {}", again.stderr);
    assert_eq!(again.stdout, first.stdout, "and prints the same");

    model.push(Reply::text("one answer"));
    let sent = env.run(&["send", "k", "--key", "send-1", "hi"]).await;
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    assert_eq!(env.wait_settled("k").await, "idle");
    let resent = env.run(&["send", "k", "--key", "send-1", "hi"]).await;
    assert_eq!(resent.code, 0, "{}", resent.stderr);
    assert_eq!(
        (resent.stdout.as_str(), resent.stderr.as_str()),
        (sent.stdout.as_str(), sent.stderr.as_str())
    );

    // The keys are durable: a daemon killed with -9 still knows them.
    env.kill9().await;
    env.start_daemon().await;
    let after = env.run(&["send", "k", "--key", "send-1", "hi"]).await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(after.stdout, sent.stdout);
    let new_after = env.run(&["new", "-d", "-n", "k", "--key", "new-1"]).await;
    assert_eq!(new_after.code, 0, "{}", new_after.stderr);
    assert_eq!(new_after.stdout, first.stdout);
    assert_eq!(env.wait_settled("k").await, "idle");

    let messages = env.events_of("k", "user_message").await;
    assert_eq!(messages.len(), 1, "one input: {}", pretty(&messages));
    assert_eq!(messages[0]["text"], "hi");
    let list: Vec<Value> = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(list.len(), 1, "one session: {list:?}");
    assert_eq!(model.requests().len(), 1, "one model call");

    // A key names one request: reusing it for another is refused, and does nothing.
    let other = env.run(&["send", "k", "--key", "send-1", "bye"]).await;
    assert_eq!(other.code, 1);
    assert!(
        other.stderr.contains("already used"),
        "says why: {}",
        other.stderr
    );
    assert_eq!(env.events_of("k", "user_message").await.len(), 1);

    // Without --key, each command is its own request.
    env.ok(&["send", "k", "hi"]).await;
    env.ok(&["send", "k", "hi"]).await;
    assert_eq!(env.wait_settled("k").await, "idle");
    assert_eq!(env.events_of("k", "user_message").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_session_is_killed_once_and_its_retry_says_the_same() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "gone"]).await;
    let first = env.run(&["kill", "gone", "--key", "kill-1"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let retry = env.run(&["kill", "gone", "--key", "kill-1"]).await;
    assert_eq!(
        retry.code, 0,
        "the retry gets the first answer: {}",
        retry.stderr
    );
    let fresh = env.run(&["kill", "gone"]).await;
    assert_eq!(fresh.code, 1, "a new kill finds nothing");
    assert!(
        fresh.stderr.contains("no session named"),
        "{}",
        fresh.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_racing_a_kill_9_are_delivered_once_or_say_the_outcome_is_unknown() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "race"]).await;
    let mut failed = Vec::new();
    for i in 0..16u64 {
        let pid = serving_pid(&env).await;
        let child = env
            .cli(&["send", "race", &format!("message {i}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Fault injection, not a wait: the kill lands at a different point of the
        // command's life each round (before it connects, mid-request, after).
        tokio::time::sleep(Duration::from_millis(i * 3)).await;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let out = tokio::time::timeout(T, child.wait_with_output())
            .await
            .expect("send finishes")
            .unwrap();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                err.contains("unknown") && err.contains("tether logs race"),
                "a failed send says its outcome is unknown and how to check: {err}"
            );
            failed.push(i);
        }
    }
    let texts: Vec<String> = env
        .events_of("race", "user_message")
        .await
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    for i in 0..16u64 {
        let n = texts
            .iter()
            .filter(|t| **t == format!("message {i}"))
            .count();
        if failed.contains(&i) {
            assert!(n <= 1, "message {i} delivered {n} times: {texts:?}");
        } else {
            assert_eq!(
                n, 1,
                "acknowledged message {i} delivered {n} times: {texts:?}"
            );
        }
    }
}
