//! The session list kept from a clean stop to the next start (issue 13): the
//! start serves `tether ls` from it before it has read its index, until the
//! first change to a session, and a crash or a write after it never leaves a
//! stale one to serve.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tether_tests::{ModelServer, Reply, TestEnv};

/// How many lists the daemon answered from the kept list, by its log.
fn served_kept(env: &TestEnv) -> usize {
    std::fs::read_to_string(env.state_dir.join("daemon.log"))
        .unwrap_or_default()
        .matches("from_kept=true")
        .count()
}

async fn stop(env: &mut TestEnv) {
    env.ok(&["daemon", "stop"]).await;
    assert_eq!(env.wait_daemon_exit().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_keeps_the_ls_table_and_the_next_start_serves_it_until_a_change() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    env.start_daemon().await;
    model.push(Reply::text("hi there"));
    env.ok(&["new", "-d", "-n", "chat", "hello"]).await;
    assert_eq!(env.wait_settled("chat").await, "idle");
    model.push(Reply::status(400).with_error_message("no such model"));
    env.ok(&["new", "-d", "-n", "broken", "hello"]).await;
    assert_eq!(env.wait_settled("broken").await, "failed");
    env.ok(&["new", "-d", "-n", "blank"]).await;
    stop(&mut env).await;

    // The first request of the new start is `ls`.
    env.spawn_daemon().await;
    let first = env.ok(&["ls"]).await;
    assert_eq!(served_kept(&env), 1, "served from the kept list:\n{first}");
    for name in ["chat", "broken", "blank"] {
        assert!(first.contains(name), "{first}");
    }
    assert!(first.contains("failed"), "{first}");
    // Restored (`status` waits for it), nothing changed: still the kept list.
    env.ok(&["daemon", "status"]).await;
    assert_eq!(env.ok(&["ls"]).await, first);
    assert_eq!(served_kept(&env), 2);

    // A crash now: the start took the kept list from the store, so the next
    // start has none and makes the list of its index, the very same table.
    env.kill9().await;
    env.spawn_daemon().await;
    assert_eq!(
        env.ok(&["ls"]).await,
        first,
        "the index makes the same table"
    );
    assert_eq!(served_kept(&env), 2, "no kept list after a crash");

    // A change to a session: the list is the table's from then on.
    stop(&mut env).await;
    env.spawn_daemon().await;
    assert_eq!(env.ok(&["ls"]).await, first);
    assert_eq!(served_kept(&env), 3);
    env.ok(&["new", "-d", "-n", "fresh"]).await;
    let after = env.ok(&["ls"]).await;
    assert!(after.contains("fresh"), "{after}");
    assert_eq!(served_kept(&env), 3, "not the kept list after a change");
    // `ls --json` is the table's rows whatever was kept.
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(json.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_after_the_start_means_a_crash_never_shows_the_kept_list() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    env.start_daemon().await;
    env.ok(&["new", "-d", "-n", "one"]).await;
    env.ok(&["new", "-d", "-n", "two"]).await;
    stop(&mut env).await;

    env.spawn_daemon().await;
    env.ok(&["new", "-d", "-n", "three"]).await;
    env.ok(&["kill", "one"]).await;
    env.kill9().await;

    env.spawn_daemon().await;
    let ls = env.ok(&["ls"]).await;
    assert_eq!(served_kept(&env), 0, "{ls}");
    assert!(ls.contains("three") && ls.contains("two"), "{ls}");
    assert!(!ls.contains("one "), "killed before the crash:\n{ls}");
}
