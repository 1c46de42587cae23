//! Fleets on a real PostgreSQL (issue 16): two daemons A and B on one machine
//! (separate sockets and state dirs, nodes `a` and `b`, `lease_s = 2`) sharing
//! one database of the suite's private server. A session is taken over after
//! A's `kill -9` (the cut tool call failed, not re-run, the turn resumed), the
//! fence holds against a paused A that comes back, `move` hands over at a step
//! boundary, and `new --node b` through A places a session on B.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

use serde_json::{Value, json};
use tether_tests::harness::pretty;
use tether_tests::{ModelServer, Reply, TestEnv, postgres};

const T: Duration = Duration::from_secs(30);

/// Daemons A and B on one fresh database, both with the same scripted model,
/// with leases of 2 s (take-overs are quick).
async fn fleet() -> (ModelServer, TestEnv, TestEnv) {
    fleet_with(2).await
}

/// [`fleet`] with leases of `lease_s`: a long one where no take-over is meant
/// to happen (on a loaded machine a 2 s lease may run out).
async fn fleet_with(lease_s: u32) -> (ModelServer, TestEnv, TestEnv) {
    fleet_config(lease_s, "").await
}

/// [`fleet_with`], with `extra` in both daemons' config.toml.
async fn fleet_config(lease_s: u32, extra: &str) -> (ModelServer, TestEnv, TestEnv) {
    let url = postgres::server().fresh_db();
    let model = ModelServer::start().await;
    let node = |n: &str| format!("{extra}[fleet]\nnode = \"{n}\"\nlease_s = {lease_s}\n");
    let mut a = TestEnv::with_model(&model, &node("a")).use_store(&url);
    let mut b = TestEnv::with_model(&model, &node("b")).use_store(&url);
    a.start_daemon().await;
    b.start_daemon().await;
    (model, a, b)
}

async fn ls(env: &TestEnv) -> Vec<Value> {
    serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap()
}

async fn node_of(env: &TestEnv, name: &str) -> Option<String> {
    ls(env)
        .await
        .into_iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["node"].as_str().map(str::to_string))
}

async fn wait_node(env: &TestEnv, name: &str, node: &str) {
    env.wait_until(
        &format!("session {name} to run on node {node}"),
        T,
        || async { node_of(env, name).await.as_deref() == Some(node) },
    )
    .await;
}

/// Waits (through `env`) until the session's log has an event of type `ty`
/// whose fields hold `fields`.
async fn wait_for(env: &TestEnv, name: &str, ty: &str, fields: Value) -> Value {
    let want = fields.as_object().cloned().unwrap_or_default();
    let deadline = Instant::now() + T;
    loop {
        let all = env.events(name).await;
        if let Some(e) = all
            .iter()
            .find(|e| e["type"] == ty && want.iter().all(|(k, v)| &e[k] == v))
        {
            return e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {ty} {fields} in {name}:\n{}",
            pretty(&all)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn seqs_are_whole(events: &[Value]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["seq"],
            i as u64 + 1,
            "a gap or a repeat:\n{}",
            pretty(events)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_of_a_is_listed_answered_and_attached_through_b_and_placed_with_node() {
    let (model, a, b) = fleet_with(20).await;
    model.push(Reply::text("hello from a"));
    a.ok(&["new", "-d", "-n", "one", "hi"]).await;
    assert_eq!(a.wait_settled("one").await, "idle");
    // B lists it, on A, and reads the same log in the same order.
    wait_node(&b, "one", "a").await;
    b.wait_until("B to see the whole log", T, || async {
        b.events("one").await == a.events("one").await
    })
    .await;
    let status = b.ok(&["daemon", "status"]).await;
    assert!(status.contains("node:    b (lease 20s)"), "{status}");
    let status: Value = serde_json::from_str(&b.ok(&["daemon", "status", "--json"]).await).unwrap();
    assert_eq!(
        (&status["node"], &status["lease_s"]),
        (&json!("b"), &json!(20.0))
    );
    let table = b.ok(&["ls"]).await;
    assert!(table.contains("NODE") && table.contains(" a "), "{table}");

    // Attached through B (a follower), answered through B: A runs the turn.
    let mut follower = b
        .cli(&["logs", "one", "--follow", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    model.push(Reply::text("second answer"));
    b.ok(&["send", "one", "more"]).await;
    assert_eq!(b.wait_settled("one").await, "idle");
    wait_for(
        &a,
        "one",
        "assistant_message",
        json!({"text": "second answer"}),
    )
    .await;
    let through_a = a.events("one").await;
    seqs_are_whole(&through_a);
    assert_eq!(
        b.events("one").await,
        through_a,
        "the same log, in the same order"
    );
    // The follower on B saw every event, in A's order.
    let mut seen = Vec::new();
    while seen.len() < through_a.len() {
        let line = tokio::time::timeout(T, lines.next_line())
            .await
            .expect("the follower on B prints each event")
            .unwrap()
            .expect("the follower keeps going");
        seen.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    assert_eq!(seen, through_a);
    assert_eq!(
        node_of(&b, "one").await.as_deref(),
        Some("a"),
        "it stayed on A"
    );

    // Placed on B through A: B takes it and its first message.
    model.push(Reply::text("hello from b"));
    let name = a
        .ok(&["new", "-d", "-n", "placed", "--node", "b", "hi b"])
        .await;
    assert_eq!(name.trim(), "placed");
    wait_node(&a, "placed", "b").await;
    wait_node(&b, "placed", "b").await;
    wait_for(
        &b,
        "placed",
        "assistant_message",
        json!({"text": "hello from b"}),
    )
    .await;
    assert_eq!(b.wait_settled("placed").await, "idle");
    assert_eq!(a.events("placed").await, b.events("placed").await);
    // A node nobody runs is refused, and nothing is created.
    let out = a
        .run(&["new", "-d", "-n", "lost", "--node", "nowhere"])
        .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("no node named \"nowhere\" is up"),
        "{}",
        out.stderr
    );
    assert_eq!(ls(&a).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_mid_tool_call_b_takes_over_and_the_turn_resumes() {
    let (model, mut a, b) = fleet().await;
    let marker = a.work_dir.join("ran.txt");
    model.push(Reply::tool_call(
        "call_slow",
        "shell",
        json!({"command": format!("echo once >> {}; sleep 30", marker.display())}),
    ));
    a.ok(&["new", "-d", "-n", "job", "run it"]).await;
    a.wait_until("the tool call to run", T, || async { marker.exists() })
        .await;
    wait_node(&b, "job", "a").await;
    model.push(Reply::text("resumed and done"));
    a.kill9().await;
    let cut = Instant::now();
    wait_node(&b, "job", "b").await;
    let took = cut.elapsed();
    eprintln!(
        "take-over after kill -9 (lease_s = 2): {:.2} s",
        took.as_secs_f64()
    );

    let result = wait_for(&b, "job", "tool_result", json!({"call_id": "call_slow"})).await;
    assert_eq!(result["is_error"], true, "{result}");
    assert!(
        result["output"]
            .as_str()
            .unwrap()
            .starts_with("interrupted: daemon restarted"),
        "{result}"
    );
    wait_for(&b, "job", "turn_resumed", json!({})).await;
    wait_for(
        &b,
        "job",
        "assistant_message",
        json!({"text": "resumed and done"}),
    )
    .await;
    assert_eq!(b.wait_settled("job").await, "idle");
    let events = b.events("job").await;
    seqs_are_whole(&events);
    let calls = events.iter().filter(|e| e["type"] == "tool_call").count();
    let results = events.iter().filter(|e| e["type"] == "tool_result").count();
    assert_eq!((calls, results), (1, 1), "{}", pretty(&events));
    // Never re-run: the command ran once.
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "once\n");
    assert!(took < Duration::from_secs(2 + 8), "take-over took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_a_that_comes_back_writes_nothing_and_its_client_hears_where() {
    let (model, a, b) = fleet().await;
    let marker = a.work_dir.join("started.txt");
    model.push(Reply::tool_call(
        "call_slow",
        "shell",
        json!({"command": format!("touch {}; sleep 30", marker.display())}),
    ));
    a.ok(&["new", "-d", "-n", "job", "run it"]).await;
    a.wait_until("the tool call to run", T, || async { marker.exists() })
        .await;
    // A client of A, following the session.
    let follower = a
        .cli(&["logs", "job", "--follow"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_for(&a, "job", "tool_call", json!({"call_id": "call_slow"})).await;
    model.push(Reply::text("b finished it"));
    let pid = a.daemon_pid().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_node(&b, "job", "b").await;
    wait_for(
        &b,
        "job",
        "assistant_message",
        json!({"text": "b finished it"}),
    )
    .await;
    assert_eq!(b.wait_settled("job").await, "idle");
    let before = b.events("job").await;
    seqs_are_whole(&before);

    assert!(
        std::process::Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );
    // A's client is told where the session went.
    let out = tokio::time::timeout(T, follower.wait_with_output())
        .await
        .expect("A's follower ends once A finds the session gone")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("session \"job\" moved to node \"b\"; attach again"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // A shows it on B, and refuses what needs its agent.
    wait_node(&a, "job", "b").await;
    // The fence held: nothing more was stored for the session.
    let after = b.events("job").await;
    assert_eq!(after, before, "A wrote after losing the lease");
    let log = std::fs::read_to_string(a.state_dir.join("daemon.log")).unwrap_or_default();
    assert!(
        log.contains("lease lost") || log.contains("the lease is lost"),
        "A says it lost the lease"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_hands_a_running_session_over_at_its_next_step() {
    let (model, a, b) = fleet().await;
    let gate = a.work_dir.join("go");
    model.push(Reply::tool_call(
        "call_wait",
        "shell",
        json!({"command": format!("while [ ! -e {} ]; do sleep 0.05; done; echo finished", gate.display())}),
    ));
    a.ok(&["new", "-d", "-n", "job", "run it"]).await;
    wait_for(&a, "job", "tool_call", json!({"call_id": "call_wait"})).await;
    let out = a.ok(&["move", "job", "--node", "b"]).await;
    assert_eq!(out.trim(), "job: a -> b (at its next step boundary)");
    // Not before the step ends: the tool call runs to its end on A.
    assert_eq!(node_of(&a, "job").await.as_deref(), Some("a"));
    model.push(Reply::text("answered on b"));
    std::fs::write(&gate, "").unwrap();
    wait_node(&a, "job", "b").await;
    wait_node(&b, "job", "b").await;
    let result = wait_for(&b, "job", "tool_result", json!({"call_id": "call_wait"})).await;
    assert_eq!(result["is_error"], false, "{result}");
    wait_for(
        &b,
        "job",
        "assistant_message",
        json!({"text": "answered on b"}),
    )
    .await;
    assert_eq!(b.wait_settled("job").await, "idle");
    seqs_are_whole(&b.events("job").await);
    // It runs on B now: B takes its messages.
    model.push(Reply::text("second"));
    b.ok(&["send", "job", "again"]).await;
    wait_for(&b, "job", "assistant_message", json!({"text": "second"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_of_a_lets_b_take_its_sessions_at_once() {
    // Leases of 20 s: a take-over within them is the release, not an expiry.
    let (model, mut a, b) = fleet_with(20).await;
    model.push(Reply::text("first"));
    a.ok(&["new", "-d", "-n", "kept", "hi"]).await;
    assert_eq!(a.wait_settled("kept").await, "idle");
    wait_node(&b, "kept", "a").await;
    a.ok(&["daemon", "stop"]).await;
    assert_eq!(a.wait_daemon_exit().await, 0);
    let stopped = Instant::now();
    wait_node(&b, "kept", "b").await;
    assert!(
        stopped.elapsed() < Duration::from_secs(15),
        "taken {:?} after the stop: the lease was not released",
        stopped.elapsed()
    );
    model.push(Reply::text("second, on b"));
    b.ok(&["send", "kept", "again"]).await;
    wait_for(
        &b,
        "kept",
        "assistant_message",
        json!({"text": "second, on b"}),
    )
    .await;
    seqs_are_whole(&b.events("kept").await);
}

/// Reads `lines` (a `logs --follow --json`) until an event of type `ty` with
/// `text`, within `within`; returns the events read.
async fn follow_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    ty: &str,
    text: &str,
    within: Duration,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = tokio::time::timeout(left, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {ty} {text:?} within {within:?}:\n{}", pretty(&seen)))
            .unwrap()
            .expect("the follower keeps going");
        let e: Value = serde_json::from_str(&line).unwrap();
        let done = e["type"] == ty && e["text"] == text;
        seen.push(e);
        if done {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_through_b_is_answered_by_a_at_once_through_listen_notify() {
    // Leases of 60 s: a heartbeat every 20 s, so it cannot be what delivers
    // the input to A or A's events to B within the few seconds allowed.
    let (model, a, b) = fleet_with(60).await;
    model.push(Reply::text("hello from a"));
    a.ok(&["new", "-d", "-n", "one", "hi"]).await;
    assert_eq!(a.wait_settled("one").await, "idle");
    wait_node(&b, "one", "a").await;
    let mut follower = b
        .cli(&["logs", "one", "--follow", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    follow_until(&mut lines, "assistant_message", "hello from a", T).await;
    for answer in ["second answer", "third answer"] {
        model.push(Reply::text(answer));
        let sent = Instant::now();
        b.ok(&["send", "one", "more"]).await;
        let seen = follow_until(
            &mut lines,
            "assistant_message",
            answer,
            Duration::from_secs(8),
        )
        .await;
        eprintln!(
            "send through B to {answer:?} seen through B: {:?} ({} events)",
            sent.elapsed(),
            seen.len()
        );
        assert!(
            seen.iter().any(|e| e["type"] == "user_message"),
            "the follower on B saw the input taken:\n{}",
            pretty(&seen)
        );
    }
    assert_eq!(a.wait_settled("one").await, "idle");
    let through_a = a.events("one").await;
    seqs_are_whole(&through_a);
    assert_eq!(b.events("one").await, through_a, "the same log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_through_b_are_made_by_a_the_session_s_node() {
    let ask = "[approvals]\ndefault = \"ask\"\n";
    let (model, a, b) = fleet_config(20, ask).await;
    // A call that needs a person's approval, decided through B.
    model.push(Reply::tool_call(
        "call_sh",
        "shell",
        json!({"command": "echo ran >> ran.txt"}),
    ));
    model.push(Reply::text("it ran"));
    a.ok(&["new", "-d", "-n", "ask", "run it"]).await;
    assert_eq!(a.wait_settled("ask").await, "awaiting_approval");
    wait_node(&b, "ask", "a").await;
    let t0 = Instant::now();
    let out = b.ok(&["approve", "ask"]).await;
    // The figure docs/benchmarks.md quotes: the CLI's whole run through B.
    eprintln!("approve through b, relayed to a: {:?}", t0.elapsed());
    assert_eq!(out.trim(), "call_sh", "B answers with A's result");
    wait_for(&b, "ask", "assistant_message", json!({"text": "it ran"})).await;
    assert_eq!(
        std::fs::read_to_string(a.work_dir.join("ran.txt")).unwrap(),
        "ran\n",
        "ran once, on A"
    );
    let decided = a.events_of("ask", "approval_decided").await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert_eq!(decided[0]["decision"], "approved");
    // A's refusal reaches B's client as A said it.
    let again = b.run(&["approve", "ask", "call_sh"]).await;
    assert_eq!(again.code, 1, "nothing left to approve");
    assert!(again.stderr.contains("call_sh"), "{}", again.stderr);
    assert_eq!(node_of(&a, "ask").await.as_deref(), Some("a"), "not moved");
    // The session's tool servers are A's: B asks A.
    let mut raw = tether_tests::raw::Raw::hello(&b.socket).await;
    let r = raw
        .request(1, "tools.list", json!({"session": "ask"}))
        .await;
    assert_eq!(r["result"][0]["name"], "builtin", "{r}");

    // Denied through B, with its reason.
    model.push(Reply::tool_call(
        "call_rm",
        "shell",
        json!({"command": "rm -rf somewhere"}),
    ));
    model.push(Reply::text("not run"));
    b.ok(&["send", "ask", "clean up"]).await;
    b.wait_until("B to see the call waiting", T, || async {
        b.events_of("ask", "tool_call")
            .await
            .iter()
            .any(|e| e["call_id"] == "call_rm")
            && ls(&b)
                .await
                .iter()
                .any(|s| s["name"] == "ask" && s["pending_approvals"] == json!(["call_rm"]))
    })
    .await;
    b.ok(&["deny", "ask", "call_rm", "--reason", "not here"])
        .await;
    wait_for(&a, "ask", "assistant_message", json!({"text": "not run"})).await;
    let decided = a.events_of("ask", "approval_decided").await;
    assert_eq!(decided[1]["decision"], "denied", "{decided:?}");

    // Interrupted through B: A kills the running shell.
    model.push(Reply::tool_call(
        "call_wait",
        "shell",
        json!({"command": "echo started; sleep 30; echo finished > finished.txt"}),
    ));
    b.ok(&["send", "ask", "wait a while"]).await;
    wait_for(&b, "ask", "tool_call", json!({"call_id": "call_wait"})).await;
    // Approved through B, then interrupted through B while it runs.
    b.ok(&["approve", "ask", "call_wait"]).await;
    wait_for(
        &b,
        "ask",
        "approval_decided",
        json!({"call_id": "call_wait", "decision": "approved"}),
    )
    .await;
    b.ok(&["interrupt", "ask"]).await;
    let r = wait_for(&b, "ask", "tool_result", json!({"call_id": "call_wait"})).await;
    assert_eq!(r["is_error"], true, "{r}");
    assert!(!a.work_dir.join("finished.txt").exists());
    assert_eq!(a.wait_settled("ask").await, "idle");

    // A budget set through B is A's; a kill through B ends it on A.
    b.ok(&["budget", "ask", "--tokens", "5000"]).await;
    let on_a = ls(&a)
        .await
        .into_iter()
        .find(|s| s["name"] == "ask")
        .unwrap();
    assert_eq!(on_a["budget"]["max_tokens"], 5000, "{on_a}");
    b.ok(&["kill", "ask"]).await;
    a.wait_until("A to have killed it", T, || async {
        ls(&a).await.iter().all(|s| s["name"] != "ask")
    })
    .await;
    b.wait_until("B to list it no more", T, || async {
        ls(&b).await.iter().all(|s| s["name"] != "ask")
    })
    .await;
}
