//! DESIGN.md guarantee 3: after `kill -9` of the daemon, recovery is honest.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::json;
use tether_tests::harness::pretty;
use tether_tests::{Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_shell_call_records_an_error_and_does_not_rerun_it() {
    let (model, mut env) = TestEnv::started("").await;
    model.push(Reply::tool_call(
        "call_slow",
        "shell",
        json!({"command": "echo $$ > pid.txt; echo run >> runs.txt; sleep 30; echo late >> runs.txt"}),
    ));
    model.push(Reply::text("the command was interrupted, moving on"));
    env.ok(&["new", "-d", "-n", "crash", "run the slow thing"])
        .await;
    let runs = env.work_dir.join("runs.txt");
    env.wait_until("the shell command to start", T, || async { runs.exists() })
        .await;
    let log = env.state_dir.join("daemon.log");
    env.wait_until("the shell's process group to be recorded", T, || async {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("tool process group recorded")
    })
    .await;
    let pid: i32 = std::fs::read_to_string(env.work_dir.join("pid.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    env.kill9().await;
    let alive = |pid: i32| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    assert!(alive(pid), "kill -9 of the daemon leaves its shell running");
    env.start_daemon().await;
    assert_eq!(env.wait_settled("crash").await, "idle");

    let results = env.events_of("crash", "tool_result").await;
    assert_eq!(results.len(), 1, "{}", pretty(&results));
    assert_eq!(results[0]["call_id"], "call_slow");
    assert_eq!(results[0]["is_error"], true);
    let output = results[0]["output"].as_str().unwrap();
    assert!(
        output.starts_with("interrupted: daemon restarted"),
        "the recorded reason keeps its words: {output}"
    );
    assert_eq!(env.events_of("crash", "turn_resumed").await.len(), 1);
    let answer = env.events_of("crash", "assistant_message").await;
    assert_eq!(
        answer.last().unwrap()["text"],
        "the command was interrupted, moving on"
    );
    env.wait_until(
        "the leftover shell to be stopped by the restarted daemon",
        T,
        || async { !alive(pid) },
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "run\n",
        "the command must not run again"
    );
    let reqs = model.wait_for_requests(2, T).await;
    let told = reqs[1]
        .messages()
        .into_iter()
        .find(|m| m["role"] == "tool")
        .expect("the interrupted call's result goes to the model");
    let told = told["content"].as_str().unwrap();
    assert!(
        told.starts_with("error: interrupted: daemon restarted"),
        "marked as an error: {told}"
    );
    assert!(
        told.contains("may have completed") && told.contains("before running it again"),
        "the model is told the call may have run and to check first: {told}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_model_call_resumes_the_turn_and_keeps_queued_inputs() {
    let (model, mut env) = TestEnv::started("").await;
    model.push(Reply::hang());
    env.ok(&["new", "-d", "-n", "mid", "first question"]).await;
    model.wait_for_requests(1, T).await;
    env.ok(&["send", "mid", "second question"]).await;
    env.kill9().await;

    model.push(Reply::text("answer one"));
    model.push(Reply::text("answer two"));
    env.start_daemon().await;
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
    assert_eq!(
        texts,
        ["answer one", "answer two"],
        "the queued input survived and ran after the resumed turn"
    );
    let users: Vec<&str> = evs
        .iter()
        .filter(|e| e["type"] == "user_message")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["first question", "second question"]);
    let seqs: Vec<u64> = evs.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seq strictly increasing without gaps: {seqs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_resumes_at_most_three_times() {
    let (model, mut env) = TestEnv::started("").await;
    model.push(Reply::hang());
    env.ok(&["new", "-d", "-n", "loop", "hang forever"]).await;
    for n in 1..=3 {
        model.wait_for_requests(n, T).await;
        env.kill9().await;
        model.push(Reply::hang());
        env.start_daemon().await;
    }
    model.wait_for_requests(4, T).await;
    env.kill9().await;
    env.start_daemon().await;
    assert_eq!(env.wait_settled("loop").await, "failed");
    assert_eq!(env.events_of("loop", "turn_resumed").await.len(), 3);
    let failed = env.events_of("loop", "turn_failed").await;
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("not resuming"),
        "{}",
        pretty(&failed)
    );
    assert_eq!(model.requests().len(), 4, "no fifth model call");
    // Failed is not stuck: the next message tries again.
    model.push(Reply::text("fresh start"));
    env.ok(&["send", "loop", "try again"]).await;
    assert_eq!(env.wait_settled("loop").await, "idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_recovery_leaves_the_turn_interrupted() {
    let (model, mut env) = TestEnv::started("[recovery]\nresume = \"manual\"\n").await;
    model.push(Reply::hang());
    env.ok(&["new", "-d", "-n", "man", "question"]).await;
    model.wait_for_requests(1, T).await;
    env.kill9().await;
    env.start_daemon().await;
    assert_eq!(env.wait_settled("man").await, "idle");
    let i = env.events_of("man", "turn_interrupted").await;
    assert_eq!(i.len(), 1);
    assert_eq!(i[0]["reason"], "daemon restarted");
    assert!(env.events_of("man", "turn_resumed").await.is_empty());
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_persists_and_the_turn_resumes_on_start() {
    let (model, mut env) = TestEnv::started("").await;
    model.push(Reply::hang());
    env.ok(&["new", "-d", "-n", "grace", "question"]).await;
    model.wait_for_requests(1, T).await;
    env.ok(&["daemon", "stop"]).await;
    assert_eq!(env.wait_daemon_exit().await, 0);
    assert!(!env.socket.exists(), "socket removed on stop");
    model.push(Reply::text("resumed answer"));
    env.start_daemon().await;
    assert_eq!(env.wait_settled("grace").await, "idle");
    let a = env.events_of("grace", "assistant_message").await;
    assert_eq!(a.last().unwrap()["text"], "resumed answer");
}
