//! `tether fork` (issue 9, item 8): a new session with another's history up to a
//! seq, whose context is exactly the original's at that seq; the original untouched;
//! a fork cut in the middle of a turn settled and idle, also across a `kill -9`.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::pretty;
use tether_tests::{Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

fn last_seq(events: &[Value]) -> u64 {
    events.last().unwrap()["seq"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_knows_what_came_before_its_seq_and_not_after() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("Noted: the door code is 4711."));
    env.ok(&[
        "new",
        "-d",
        "-n",
        "orig",
        "--instructions",
        "Answer like a lighthouse keeper.",
        "REMEMBER alpha: the door code is 4711.",
    ])
    .await;
    assert_eq!(env.wait_settled("orig").await, "idle");
    let at = last_seq(&env.events("orig").await);

    model.push(Reply::text("Noted: the cat is called Ziggy."));
    env.ok(&["send", "orig", "REMEMBER beta: the cat is called Ziggy."])
        .await;
    assert_eq!(env.wait_settled("orig").await, "idle");
    let original = env.events("orig").await;
    assert!(last_seq(&original) > at, "{}", pretty(&original));

    let out = env
        .ok(&[
            "fork",
            "orig",
            "-n",
            "branch",
            "--at",
            &at.to_string(),
            "--json",
        ])
        .await;
    let info: Value = serde_json::from_str(out.trim()).expect("fork --json prints one object");
    let orig_info: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await)
        .map(|l: Value| l[0].clone())
        .unwrap();
    assert_eq!(info["name"], "branch");
    assert_eq!(info["state"], "idle");
    assert_ne!(info["id"], orig_info["id"]);
    for same in ["model", "cwd", "instructions"] {
        assert_eq!(info[same], orig_info[same], "{same}");
    }
    // Nothing was open at `at`: the copy, then the note, nothing else.
    assert_eq!(info["last_seq"], at + 1, "{info}");

    let forked = env.events("branch").await;
    assert_eq!(forked[0]["seq"], 1);
    assert_eq!(forked[0]["type"], "session_created");
    assert_eq!(forked[0]["name"], "branch");
    assert_eq!(
        forked[1..at as usize],
        original[1..at as usize],
        "events 2..=at are the original's, verbatim, with their seqs"
    );
    let note = &forked[at as usize];
    assert_eq!(
        (&note["type"], &note["from"], &note["from_id"], &note["at"]),
        (
            &json!("session_forked"),
            &json!("orig"),
            &orig_info["id"],
            &json!(at)
        ),
        "{note}"
    );

    model.push(Reply::text("The door code is 4711; I know of no cat."));
    env.ok(&["send", "branch", "What do you remember?"]).await;
    assert_eq!(env.wait_settled("branch").await, "idle");
    let reqs = model.wait_for_requests(3, T).await;
    let asked = reqs[2].request_text();
    assert!(asked.contains("What do you remember?"), "{asked}");
    assert!(
        asked.contains("the door code is 4711"),
        "fact A missing: {asked}"
    );
    assert!(
        asked.contains("Answer like a lighthouse keeper."),
        "the fork keeps the instructions: {asked}"
    );
    assert!(
        !asked.contains("Ziggy"),
        "fact B came after the fork's seq: {asked}"
    );
    assert!(
        !asked.contains("session_forked") && !asked.contains("forked from"),
        "the note is not part of the model's context: {asked}"
    );

    assert_eq!(
        env.events("orig").await,
        original,
        "the original's log is unchanged"
    );
    // Without --json, the new name (as `new -d` prints it); without --at, all of it.
    let out = env.ok(&["fork", "orig", "-n", "whole"]).await;
    assert_eq!(out.trim(), "whole");
    let whole = env.events("whole").await;
    assert_eq!(whole[1..original.len()], original[1..]);
    assert_eq!(whole.last().unwrap()["type"], "session_forked");
    assert_eq!(whole.last().unwrap()["at"], last_seq(&original));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_cut_mid_turn_is_idle_and_a_restart_resumes_nothing_in_it() {
    let (model, mut env) = TestEnv::started("").await;
    model.push(Reply::tool_call(
        "call_slow",
        "shell",
        json!({"command": "echo run >> runs.txt; sleep 30"}),
    ));
    env.ok(&["new", "-d", "-n", "busy", "run the slow thing"])
        .await;
    let runs = env.work_dir.join("runs.txt");
    env.wait_until("the shell command to start", T, || async { runs.exists() })
        .await;

    // The call is running in `busy`: its turn is open, the call has no result.
    let out = env.ok(&["fork", "busy", "-n", "cut", "--json"]).await;
    let info: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(info["state"], "idle", "{info}");
    assert_eq!(env.wait_settled("cut").await, "idle");
    let before = env.events("cut").await;
    let closing: Vec<&Value> = before
        .iter()
        .skip_while(|e| e["type"] != "session_forked")
        .collect();
    let types: Vec<&str> = closing
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["session_forked", "tool_result", "turn_interrupted", "state"],
        "{}",
        pretty(&before)
    );
    assert_eq!(closing[1]["call_id"], "call_slow");
    assert_eq!(closing[1]["is_error"], true);
    assert!(
        closing[1]["output"]
            .as_str()
            .unwrap()
            .starts_with("not run"),
        "{}",
        closing[1]
    );
    assert_eq!(closing[2]["reason"], "forked mid-turn");
    assert_eq!(closing[3]["state"], "idle");

    // The original's turn resumes after the crash; the fork has nothing to resume.
    model.push(Reply::text("the command was interrupted, moving on"));
    env.kill9().await;
    env.start_daemon().await;
    assert_eq!(env.wait_settled("busy").await, "idle");
    assert_eq!(env.wait_settled("cut").await, "idle");
    assert_eq!(
        env.events_of("busy", "turn_resumed").await.len(),
        1,
        "the original recovers as usual"
    );
    assert_eq!(
        env.events("cut").await,
        before,
        "the restart recorded nothing in the fork: nothing resumed, nothing re-run"
    );
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "run\n",
        "the call ran once, in the original only"
    );

    // The fork's context is a valid conversation: the cut call has its result.
    let n = model.wait_for_requests(2, T).await.len();
    model.push(Reply::text("I will check what ran first."));
    env.ok(&["send", "cut", "carry on"]).await;
    assert_eq!(env.wait_settled("cut").await, "idle");
    let reqs = model.wait_for_requests(n + 1, T).await;
    let msgs = reqs[n].messages();
    let tool = msgs
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap_or_else(|| panic!("no tool message: {msgs:?}"));
    assert_eq!(tool["tool_call_id"], "call_slow");
    assert!(
        tool["content"]
            .as_str()
            .unwrap()
            .contains("not run: the session was forked"),
        "{tool}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_refuses_bad_input_clearly_and_changes_nothing() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("hello"));
    env.ok(&["new", "-d", "-n", "src", "hi"]).await;
    env.ok(&["new", "-d", "-n", "taken"]).await;
    assert_eq!(env.wait_settled("src").await, "idle");
    let last = last_seq(&env.events("src").await);
    let too_far = (last + 1).to_string();
    let cases: [(&[&str], &str); 5] = [
        (&["fork", "ghost", "-n", "x"], "no session named \"ghost\""),
        (
            &["fork", "src", "-n", "taken"],
            "a session named \"taken\" already exists",
        ),
        (&["fork", "src", "--name=-bad"], "invalid session name"),
        (
            &["fork", "src", "-n", "x", "--at", "0"],
            "session \"src\" has no event 0",
        ),
        (
            &["fork", "src", "-n", "x", "--at", &too_far],
            &format!("its events are seq 1 to {last}"),
        ),
    ];
    for (args, says) in cases {
        let out = env.run(args).await;
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "one line: {}",
            out.stderr
        );
    }
    let usage = env.run(&["fork", "src"]).await;
    assert_eq!(usage.code, 2, "-n is required: {}", usage.stderr);
    // A retried fork (same key) forks once and prints the same.
    let first = env
        .ok(&["fork", "src", "-n", "once", "--key", "fork-1"])
        .await;
    let again = env
        .ok(&["fork", "src", "-n", "once", "--key", "fork-1"])
        .await;
    assert_eq!((first.trim(), again.trim()), ("once", "once"));
    let reused = env
        .run(&["fork", "src", "-n", "other", "--key", "fork-1"])
        .await;
    assert_eq!(reused.code, 1, "{}", reused.stderr);
    assert!(reused.stderr.contains("already used"), "{}", reused.stderr);
    env.ok(&["kill", "once"]).await;
    let names: Vec<String> = serde_json::from_str::<Vec<Value>>(&env.ok(&["ls", "--json"]).await)
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["src", "taken"]);
}
