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
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(20);
const ASK: &str = "[approvals]\ndefault = \"ask\"\n";

/// Runs `tether ARGS` with `input` on stdin, closed after it, as a pipe would;
/// returns its output once it exits (within [`T`]).
async fn piped(env: &TestEnv, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = env
        .cli(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    tokio::time::timeout(T, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("tether {args:?} did not exit when its input ended"))
        .unwrap()
}

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
    // Inputs acknowledged just before a kill become messages once restored.
    assert_eq!(env.wait_settled("race").await, "idle");
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

/// Reads `lines` until one contains `needle`; returns every line read.
async fn read_until(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<impl tokio::io::AsyncRead + Unpin>>,
    needle: &str,
    seen: &mut Vec<String>,
) {
    let found = tokio::time::timeout(T, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let hit = line.contains(needle);
            seen.push(line);
            if hit {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "timed out or output ended waiting for {needle:?}; got:\n{}",
        seen.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_on_a_session_killed_meanwhile_exits_1_with_a_message() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::hang());
    env.ok(&["new", "-d", "-n", "w", "take your time"]).await;
    let waiter = env
        .cli(&["wait", "w"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The waiter is connected once the daemon counts it beside our status call.
    env.wait_until("the waiter to connect", T, || async {
        let s: Value =
            serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
        s["clients"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    env.ok(&["kill", "w"]).await;
    let out = tokio::time::timeout(T, waiter.wait_with_output())
        .await
        .expect("wait returns once the session is killed")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("killed"), "says why: {stderr}");
    assert!(out.stdout.is_empty(), "prints no state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_attach_ends_with_its_input_once_the_turn_is_over_and_prints_the_answer_once() {
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "lm"]).await;
    model.push(Reply::text("Hello there, dear friend"));
    let out = piped(&env, &["attach", "lm"], b"hi\n").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.matches("Hello there, dear friend").count(),
        1,
        "the answer once: {stdout}"
    );
    assert!(
        stdout.contains("turn completed"),
        "ends after the turn: {stdout}"
    );
    let messages = env.events_of("lm", "user_message").await;
    assert_eq!(messages.len(), 1, "{}", pretty(&messages));
    assert_eq!(messages[0]["text"], "hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_without_a_terminal_answers_and_exits() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("The answer is 42"));
    // `run` gives the CLI /dev/null as stdin.
    let out = env.run(&["new", "-n", "nd", "what is the answer?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.matches("The answer is 42").count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(env.wait_settled("nd").await, "idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_mode_decides_approvals_with_slash_commands_and_never_sends_a_bare_y() {
    let (model, env) = TestEnv::started(ASK).await;
    env.ok(&["new", "-d", "-n", "ap"]).await;
    model.push(Reply::tool_call(
        "call_1",
        "shell",
        serde_json::json!({"command": "echo ran > ran.txt"}),
    ));
    model.push(Reply::text("done"));
    let mut child = env
        .cli(&["attach", "ap"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    stdin.write_all(b"run it\n").await.unwrap();
    read_until(&mut lines, "/approve", &mut seen).await;
    stdin.write_all(b"y\n").await.unwrap();
    stdin.write_all(b"/approve\n").await.unwrap();
    read_until(&mut lines, "assistant: done", &mut seen).await;
    drop(stdin);
    while lines.next_line().await.unwrap().is_some() {}
    let out = tokio::time::timeout(T, child.wait_with_output())
        .await
        .expect("line mode exits")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("not sent"),
        "the bare y is refused: {stderr}"
    );
    let texts: Vec<Value> = env
        .events_of("ap", "user_message")
        .await
        .into_iter()
        .map(|e| e["text"].clone())
        .collect();
    assert_eq!(
        texts,
        vec![Value::from("run it")],
        "y never reached the model"
    );
    let decided = env.events_of("ap", "approval_decided").await;
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0]["decision"], "approved");
    assert!(env.work_dir.join("ran.txt").exists(), "the call ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_mode_shows_a_waiting_call_whole_with_the_daemons_diff() {
    let (model, env) = TestEnv::started(ASK).await;
    std::fs::write(env.work_dir.join("plan.txt"), "keep\nold line\n").unwrap();
    env.ok(&["new", "-d", "-n", "wh"]).await;
    let command = format!(
        "{} && rm -rf ./precious-dir",
        "echo a-long-harmless-looking-prefix; ".repeat(8)
    );
    model.push(Reply::tool_calls([
        ("call_s", "shell", serde_json::json!({ "command": command })),
        (
            "call_f",
            "write_file",
            serde_json::json!({"path": "plan.txt", "content": "keep\nnew line\n"}),
        ),
    ]));
    env.ok(&["send", "wh", "go"]).await;
    assert_eq!(env.wait_settled("wh").await, "awaiting_approval");
    // Piped: input ends at once; line mode prints the transcript and exits.
    let out = env.run(&["attach", "wh"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("    $ {command}\n")),
        "the command whole: {}",
        out.stdout
    );
    assert!(out.stdout.contains("    file plan.txt\n"), "{}", out.stdout);
    let asked = env.events_of("wh", "approval_requested").await;
    let diff = asked
        .iter()
        .find(|e| e["call_id"] == "call_f")
        .and_then(|e| e["diff"].as_str())
        .expect("the daemon sent a diff for write_file")
        .to_string();
    assert!(
        diff.contains("-old line") && diff.contains("+new line"),
        "{diff}"
    );
    for line in diff.lines() {
        assert!(
            out.stdout.contains(&format!("    {line}\n")),
            "diff line {line:?} shown: {}",
            out.stdout
        );
    }
    let hint = out.stdout.rfind("/approve").expect("the hint");
    assert!(out.stdout.find("precious-dir").unwrap() < hint);
    assert!(out.stdout.find("+new line").unwrap() < hint);
    assert_eq!(
        std::fs::read_to_string(env.work_dir.join("plan.txt")).unwrap(),
        "keep\nold line\n",
        "nothing ran before a decision"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_mode_shows_waiting_calls_whole_when_their_tool_call_is_older_than_the_page() {
    let (model, env) = TestEnv::started(ASK).await;
    env.ok(&["new", "-d", "-n", "many"]).await;
    // One answer asking for 150 calls: 150 tool_call events, then 150
    // approval_requested ones; line mode's page of the latest 200 events starts
    // after most tool_call events.
    model.push(Reply::tool_calls((0..150).map(|i| {
        (
            format!("call_{i}"),
            "shell",
            serde_json::json!({ "command": format!("echo number-{i}-of-many") }),
        )
    })));
    env.ok(&["send", "many", "go"]).await;
    assert_eq!(env.wait_settled("many").await, "awaiting_approval");
    let calls = env.events_of("many", "tool_call").await;
    let last = env.events("many").await.last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert!(
        calls[0]["seq"].as_u64().unwrap() + 200 <= last,
        "the first call is older than the page"
    );
    let out = env.run(&["attach", "many"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for i in 0..150 {
        assert!(
            out.stdout
                .contains(&format!("    $ echo number-{i}-of-many\n")),
            "call_{i} shown whole: {}",
            out.stdout
        );
    }
    assert!(
        !out.stdout.contains("not in the session's log"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_attach_ending_while_a_call_waits_says_so() {
    let (model, env) = TestEnv::started(ASK).await;
    env.ok(&["new", "-d", "-n", "aw"]).await;
    model.push(Reply::tool_call(
        "call_w",
        "shell",
        serde_json::json!({"command": "true"}),
    ));
    let out = piped(&env, &["attach", "aw"], b"go\n").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("waits for approval of call_w") && stderr.contains("tether approve aw"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_dash_reads_the_message_from_stdin() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "st"]).await;
    let mut child = env
        .cli(&["send", "st", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"line one\nline two\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.wait_settled("st").await, "idle");
    let messages = env.events_of("st", "user_message").await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "line one\nline two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_survives_a_kill_9_without_repeats_and_says_when_the_daemon_stops() {
    let (model, mut env) = TestEnv::started("").await;
    model.push(Reply::text("answer one"));
    env.ok(&["new", "-d", "-n", "f", "first"]).await;
    assert_eq!(env.wait_settled("f").await, "idle");
    let mut child = env
        .cli(&["logs", "f", "--follow", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    read_until(&mut lines, "answer one", &mut seen).await;
    env.kill9().await;
    model.push(Reply::text("answer two"));
    env.ok(&["send", "f", "second"]).await;
    read_until(&mut lines, "answer two", &mut seen).await;
    env.ok(&["daemon", "stop"]).await;
    while let Some(line) = lines.next_line().await.unwrap() {
        seen.push(line);
    }
    let out = tokio::time::timeout(T, child.wait_with_output())
        .await
        .expect("the follower exits when the daemon stops")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("reconnecting"),
        "says it reconnected: {stderr}"
    );
    assert!(
        stderr.contains("the daemon stopped"),
        "says it stopped: {stderr}"
    );
    let seqs: Vec<u64> = seen
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "no event twice, none out of order: {seqs:?}"
    );
    assert_eq!(seqs.first(), Some(&1));
    let all = env.events("f").await;
    assert_eq!(seqs.len(), all.len(), "none skipped: {}", seen.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_to_no_such_session_fails_on_the_command_line_with_exit_1() {
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "real"]).await;
    // Without a terminal (line mode) and in one (where the TUI would open).
    let piped = env.run(&["attach", "nosuch"]).await;
    assert_eq!(piped.code, 1, "{}", piped.stderr);
    let expected = "tether: no session named \"nosuch\"; `tether ls` lists the sessions";
    assert_eq!(piped.stderr.trim(), expected);
    tether_tests::tmux::require();
    let pane = tether_tests::tmux::Pane::start(&env, "nosuch", &["attach", "nosuch"], 100, 20);
    assert_eq!(pane.wait_exit().await, "exit=1", "{}", pane.screen());
    let screen = pane.wait_text("DETACHED-SHELL").await;
    let lines: Vec<&str> = screen.lines().filter(|l| l.contains("nosuch")).collect();
    assert_eq!(lines, [expected], "one line, on stderr: {screen}");
    // A session that exists still opens the TUI.
    let ok = tether_tests::tmux::Pane::start(&env, "real", &["attach", "real"], 100, 20);
    ok.wait_text("session created").await;
    assert_eq!(ok.format("#{alternate_on}"), "1");
}
