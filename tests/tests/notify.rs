//! Issue 11, item 1: headless notifications (`[notify] command`, run by the daemon
//! with the event as JSON on its stdin) and `tether wait --any`, against the real
//! daemon and a scripted model.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tether_tests::harness::pretty;
use tether_tests::{ModelServer, Reply, TestEnv};

/// The acceptance's bound: a notification within 2 s of the state it reports.
const PROMPT: Duration = Duration::from_secs(2);
const T: Duration = Duration::from_secs(20);

/// A config for `model` with one attempt per model call (a 500 fails the turn
/// at once), `approvals` and `notify` as given.
fn config(model: &ModelServer, approvals: &str, notify: &str) -> String {
    format!(
        "default_model = \"mock/test-model\"\n\n[providers.mock]\nkind = \"openai\"\n\
         base_url = \"{}\"\napi_key_env = \"TETHER_TEST_KEY\"\n\n[retry]\nmax_attempts = 1\n\
         initial_backoff_ms = 20\nmax_backoff_ms = 200\nstall_timeout_s = 3\n\n\
         [approvals]\n{approvals}\n\n[notify]\n{notify}\n",
        model.base_url()
    )
}

/// Approvals that ask for every tool.
const ASK: &str = "default = \"ask\"\nallow = []";
/// Approvals that ask for nothing.
const ALLOW: &str = "default = \"allow\"";

/// Where [`appender`]'s script writes.
fn out_of(env: &TestEnv) -> PathBuf {
    env.root.path().join("notified.jsonl")
}

/// A notify script that appends its stdin (one JSON line) to [`out_of`].
fn appender(env: &TestEnv) -> String {
    let out = out_of(env);
    let script = env.root.path().join("notify.sh");
    std::fs::write(&script, format!("#!/bin/sh\ncat >> '{}'\n", out.display())).unwrap();
    let mut perm = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).unwrap();
    format!("command = [\"{}\"]", script.display())
}

/// The notifications written to `out` so far.
fn received(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Waits until `out` holds `n` notifications matching `pred`, for at most
/// `timeout`; returns them all.
async fn wait_for(
    env: &TestEnv,
    out: &Path,
    what: &str,
    timeout: Duration,
    n: usize,
    pred: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = received(out);
        if got.iter().filter(|v| pred(v)).count() >= n {
            return got;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}; notifications:\n{}\ndaemon.log:\n{}",
                pretty(&got),
                log(env)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn log(env: &TestEnv) -> String {
    std::fs::read_to_string(env.state_dir.join("daemon.log")).unwrap_or_default()
}

/// Waits until `daemon.log` has `n` lines containing every one of `needles`.
async fn wait_log(env: &TestEnv, n: usize, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    env.wait_until(&format!("{n} log line(s) with {needles:?}"), T, || {
        found = log(env)
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
            .collect();
        let ok = found.len() >= n;
        async move { ok }
    })
    .await;
    found
}

async fn session_id(env: &TestEnv, name: &str) -> String {
    let list: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no session {name} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn started(
    approvals: &str,
    notify: impl FnOnce(&TestEnv) -> String,
) -> (ModelServer, TestEnv) {
    let model = ModelServer::start().await;
    let mut env = TestEnv::new();
    let notify = notify(&env);
    env.write_config(&config(&model, approvals, &notify));
    env.start_daemon().await;
    (model, env)
}

fn is(event: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["event"] == event
}

/// True while process `pid` runs (a zombie has ended).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

fn pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awaiting_approval_and_a_failed_turn_notify_within_two_seconds() {
    let (model, env) = started(ASK, appender).await;
    let out = out_of(&env);
    model.push(Reply::tool_call(
        "call_1",
        "shell",
        json!({"command": "rm -rf build"}),
    ));
    env.ok(&["new", "-d", "-n", "alpha", "clean up"]).await;
    assert_eq!(env.wait_settled("alpha").await, "awaiting_approval");
    let got = wait_for(
        &env,
        &out,
        "awaiting_approval",
        PROMPT,
        1,
        is("awaiting_approval"),
    )
    .await;
    let n = got.iter().find(|v| is("awaiting_approval")(v)).unwrap();
    assert_eq!(n["name"], "alpha", "{n}");
    assert_eq!(
        n["session"],
        session_id(&env, "alpha").await.as_str(),
        "{n}"
    );
    assert_eq!(n["state"], "awaiting_approval", "{n}");
    assert_eq!(n["tool"], "shell", "{n}");
    assert_eq!(n["call_id"], "call_1", "{n}");
    assert_eq!(
        n["calls"],
        json!([{"call_id": "call_1", "tool": "shell"}]),
        "{n}"
    );
    assert_eq!(n["summary"], "wants to run shell: rm -rf build", "{n}");
    assert_eq!(n["count"], 1, "{n}");
    assert!(n["ts"].as_str().is_some_and(|t| t.ends_with('Z')), "{n}");

    // Denied, the turn goes on to its next model call, which fails.
    model.push(Reply::status(500).with_error_message("upstream exploded"));
    env.ok(&["deny", "alpha"]).await;
    assert_eq!(env.wait_settled("alpha").await, "failed");
    let got = wait_for(&env, &out, "turn_failed", PROMPT, 1, is("turn_failed")).await;
    let f = got.iter().find(|v| is("turn_failed")(v)).unwrap();
    assert_eq!(f["name"], "alpha", "{f}");
    assert_eq!(f["state"], "failed", "{f}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("turn failed: ") && summary.contains("500"),
        "{f}"
    );
    assert!(f.get("tool").is_none() && f.get("calls").is_none(), "{f}");
    assert_eq!(got.len(), 2, "one notification each: {}", pretty(&got));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_the_first_and_a_trailing_notification_and_no_event_type_is_swallowed() {
    let (model, env) = started(ASK, |env| format!("{}\ndebounce_ms = 3000", appender(env))).await;
    let out = out_of(&env);
    // The first answer takes a moment, so every message is queued before the
    // first turn ends and the five turns end back to back.
    model.push(Reply::text("answer 1").delay_first(Duration::from_millis(1500)));
    for i in 2..=5 {
        model.push(Reply::text(format!("answer {i}")));
    }
    model.push(Reply::tool_call(
        "call_9",
        "shell",
        json!({"command": "make"}),
    ));
    env.ok(&["new", "-d", "-n", "burst", "m1"]).await;
    for i in 2..=6 {
        env.ok(&["send", "burst", &format!("m{i}")]).await;
    }
    assert_eq!(env.wait_settled("burst").await, "awaiting_approval");
    assert_eq!(env.events_of("burst", "turn_completed").await.len(), 5);
    // The approval is another event type: it goes out at once, inside the
    // turn_completed window.
    wait_for(
        &env,
        &out,
        "awaiting_approval",
        PROMPT,
        1,
        is("awaiting_approval"),
    )
    .await;
    // The window ends: the trailing notification carries the last answer and
    // counts the four it stands for.
    let got = wait_for(
        &env,
        &out,
        "the trailing turn_completed",
        T,
        2,
        is("turn_completed"),
    )
    .await;
    let events: Vec<&str> = got.iter().map(|v| v["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["turn_completed", "awaiting_approval", "turn_completed"],
        "{}",
        pretty(&got)
    );
    assert_eq!(got[0]["summary"], "turn completed: answer 1", "{}", got[0]);
    assert_eq!(got[0]["count"], 1);
    assert_eq!(got[2]["summary"], "turn completed: answer 5", "{}", got[2]);
    assert_eq!(got[2]["count"], 4, "first + 4 coalesced = the 5 turns");
    assert_eq!(got[1]["tool"], "shell");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_command_never_slows_the_session_and_is_killed_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let hang = |timeout: &str| {
        format!(
            "command = [\"sh\", \"-c\", \"echo $$ >> '{}'; exec sleep 1000\"]\n\
             debounce_ms = 0\ntimeout_s = {timeout}",
            pid_file.display()
        )
    };
    let (model, env) = started(ALLOW, |_| hang("600")).await;
    // Each turn's notification hangs for good: the turns still complete, one
    // after another, while every command still runs.
    env.ok(&["new", "-d", "-n", "busy", "one"]).await;
    assert_eq!(env.wait_settled("busy").await, "idle");
    for msg in ["two", "three"] {
        env.ok(&["send", "busy", msg]).await;
        assert_eq!(env.wait_settled("busy").await, "idle");
    }
    assert_eq!(env.events_of("busy", "turn_completed").await.len(), 3);
    env.wait_until("3 notify commands to start", T, || {
        let n = pids(&pid_file).len();
        async move { n == 3 }
    })
    .await;
    let hanging = pids(&pid_file);
    assert!(hanging.iter().all(|p| alive(*p)), "all three still hang");
    assert_eq!(model.requests().len(), 3);

    // A config edit applies live: with timeout_s = 1 the next one is killed.
    env.write_config(&config(&model, ALLOW, &hang("1")));
    env.ok(&["send", "busy", "four"]).await;
    assert_eq!(env.wait_settled("busy").await, "idle");
    env.wait_until("the 4th notify command to start", T, || {
        let n = pids(&pid_file).len();
        async move { n == 4 }
    })
    .await;
    let fourth = pids(&pid_file)[3];
    wait_log(
        &env,
        1,
        &[
            "notify command still running after 1s",
            "killed its process group",
        ],
    )
    .await;
    env.wait_until("the killed command to be gone", T, || async move {
        !alive(fourth)
    })
    .await;
    assert!(
        hanging.iter().all(|p| alive(*p)),
        "the others keep their own limit"
    );
    // And the session keeps working.
    env.ok(&["send", "busy", "five"]).await;
    assert_eq!(env.wait_settled("busy").await, "idle");
    assert_eq!(env.events_of("busy", "turn_completed").await.len(), 5);
    // The daemon kills them when it stops; a test's daemon may be killed instead.
    for p in hanging {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_program_or_a_failing_command_is_logged_and_nothing_breaks() {
    let (model, env) = started(ALLOW, |_| {
        "command = [\"/nonexistent/tether-notifier\", \"x\"]\ndebounce_ms = 0".to_string()
    })
    .await;
    env.ok(&["new", "-d", "-n", "m", "hi"]).await;
    assert_eq!(env.wait_settled("m").await, "idle");
    let lines = wait_log(
        &env,
        1,
        &[
            "notify command could not start",
            "/nonexistent/tether-notifier",
        ],
    )
    .await;
    assert!(lines[0].contains("No such file"), "{}", lines[0]);
    assert!(lines[0].contains("turn_completed"), "{}", lines[0]);

    // A command that fails says so with its stderr's first line.
    let failing =
        "command = [\"sh\", \"-c\", \"echo 'ntfy: 403 forbidden' >&2; exit 7\"]\ndebounce_ms = 0";
    env.write_config(&config(&model, ALLOW, failing));
    env.ok(&["send", "m", "again"]).await;
    assert_eq!(env.wait_settled("m").await, "idle");
    wait_log(
        &env,
        1,
        &["notify command failed: exit status 7: ntfy: 403 forbidden"],
    )
    .await;
    assert_eq!(env.events_of("m", "turn_completed").await.len(), 2);
    let status = env.ok(&["daemon", "status"]).await;
    assert!(!status.contains("config error"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_limits_the_events_that_notify() {
    let (model, env) = started(ASK, |env| {
        format!("{}\non = [\"turn_failed\"]\ndebounce_ms = 0", appender(env))
    })
    .await;
    let out = out_of(&env);
    // A completed turn, a call waiting for approval, a failed turn.
    model.push(Reply::text("fine"));
    env.ok(&["new", "-d", "-n", "only", "one"]).await;
    assert_eq!(env.wait_settled("only").await, "idle");
    model.push(Reply::tool_call(
        "call_1",
        "shell",
        json!({"command": "ls"}),
    ));
    env.ok(&["send", "only", "two"]).await;
    assert_eq!(env.wait_settled("only").await, "awaiting_approval");
    model.push(Reply::status(500));
    env.ok(&["deny", "only"]).await;
    assert_eq!(env.wait_settled("only").await, "failed");
    let got = wait_for(&env, &out, "turn_failed", PROMPT, 1, is("turn_failed")).await;
    // The events before it were handled first (one queue, in order): had they
    // notified, they would be here.
    assert_eq!(got.len(), 1, "{}", pretty(&got));
    assert_eq!(got[0]["name"], "only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_any_returns_at_once_blocks_until_one_waits_and_times_out() {
    let (model, mut env) = started(ASK, |_| String::new()).await;
    // Nothing needs a person: the timeout passes.
    let out = env.run(&["wait", "--any", "--timeout", "0.3"]).await;
    assert_eq!(out.code, 124, "{out:?}");
    assert_eq!(out.stdout, "");
    model.push(Reply::text("hello"));
    env.ok(&["new", "-d", "-n", "quiet", "hi"]).await;
    assert_eq!(env.wait_settled("quiet").await, "idle");
    let out = env.run(&["wait", "--any", "--timeout", "0.3"]).await;
    assert_eq!(out.code, 124, "an idle session needs nobody: {out:?}");

    // Blocks until a session starts waiting.
    let mut waiter = env
        .cli(&["wait", "--any", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Its request is with the daemon once the daemon counts the client in.
    env.wait_until("the waiter to connect", T, || async {
        let s: Value =
            serde_json::from_str(&env.ok(&["daemon", "status", "--json"]).await).unwrap();
        s["clients"].as_u64().unwrap() >= 2
    })
    .await;
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "wait --any returned with nothing waiting"
    );
    model.push(Reply::tool_call(
        "call_7",
        "shell",
        json!({"command": "rm -rf /tmp/x"}),
    ));
    env.ok(&["new", "-d", "-n", "first", "go"]).await;
    let done = tokio::time::timeout(T, waiter.wait_with_output())
        .await
        .expect("wait --any returns once a session waits")
        .unwrap();
    assert_eq!(done.status.code(), Some(0), "{done:?}");
    let w: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(w["name"], "first", "{w}");
    assert_eq!(w["session"], session_id(&env, "first").await.as_str());
    assert_eq!(w["state"], "awaiting_approval");
    assert_eq!(w["event"], "awaiting_approval");
    assert_eq!(w["call_ids"], json!(["call_7"]));
    assert!(w["since"].as_str().is_some_and(|t| t.ends_with('Z')), "{w}");

    // Returns at once when one waits already: the one that has waited longest.
    model.push(Reply::status(500));
    env.ok(&["new", "-d", "-n", "second", "go"]).await;
    assert_eq!(env.wait_settled("second").await, "failed");
    let out = env.run(&["wait", "--any", "--timeout", "5"]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "first awaiting_approval\n"),
        "{out:?}"
    );
    // The order, and since when, survive a kill -9 of the daemon.
    let before = env.ok(&["wait", "--any", "--json", "--timeout", "5"]).await;
    env.kill9().await;
    env.start_daemon().await;
    let after = env.ok(&["wait", "--any", "--json", "--timeout", "5"]).await;
    assert_eq!(after, before);
    env.ok(&["approve", "first"]).await;
    assert_eq!(env.wait_settled("first").await, "idle");
    let out = env
        .run(&["wait", "--any", "--json", "--timeout", "5"])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let w: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (w["name"].as_str(), w["event"].as_str()),
        (Some("second"), Some("turn_failed")),
        "{w}"
    );
    assert_eq!(w["call_ids"], json!([]));

    // ls --json says since when a session waits.
    let list: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    let by = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by("second")["waiting_since"], w["since"]);
    assert!(by("first").get("waiting_since").is_none(), "{list}");

    // Bad usage.
    let out = env.run(&["wait"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let out = env.run(&["wait", "first", "--any"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let out = env.run(&["wait", "--any", "--timeout", "-1"]).await;
    assert_eq!(out.code, 2, "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_event_in_notify_on_is_a_config_error_naming_the_valid_ones() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::new();
    env.write_config(&config(
        &model,
        ALLOW,
        "command = [\"true\"]\non = [\"bogus\"]",
    ));
    env.start_daemon().await;
    let status = env.ok(&["daemon", "status"]).await;
    let line = status
        .lines()
        .find(|l| l.starts_with("config error: "))
        .unwrap_or_else(|| panic!("no config error in:\n{status}"));
    let path = env.config_dir.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let row = text.lines().position(|l| l.starts_with("on = ")).unwrap() + 1;
    assert!(
        line.contains(&format!(
            "{}:{row}:7: [notify] on: unknown event \"bogus\"",
            path.display()
        )),
        "{line}"
    );
    assert!(
        line.ends_with(
            "(valid: \"awaiting_approval\", \"turn_failed\", \"turn_completed\", \"budget_exhausted\")"
        ),
        "{line}"
    );
}
