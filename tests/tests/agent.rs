//! The agent loop end to end: context across tasks, tools, approvals, delivery.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::json;
use tether_tests::harness::{TEST_API_KEY, mentions, pretty};
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_is_kept_across_tasks_and_a_kill_9() {
    let (model, mut env) = TestEnv::started("").await;
    model.push(Reply::text("Noted, your dog is called Biscuit."));
    let name = env
        .ok(&["new", "-d", "-n", "ctx", "My dog is called Biscuit."])
        .await;
    assert_eq!(name.trim(), "ctx");
    assert_eq!(env.wait_settled("ctx").await, "idle");

    model.push(Reply::text("It is Biscuit."));
    env.ok(&["send", "ctx", "What is my dog called?"]).await;
    assert_eq!(env.wait_settled("ctx").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    let second = &reqs[1];
    assert!(
        mentions(&second.body, "My dog is called Biscuit."),
        "first fact missing: {}",
        second.request_text()
    );
    assert!(
        mentions(&second.body, "Noted, your dog is called Biscuit."),
        "first answer missing"
    );
    assert_eq!(
        second.authorization().as_deref(),
        Some(format!("Bearer {TEST_API_KEY}").as_str())
    );
    assert_eq!(second.model().as_deref(), Some("test-model"));

    env.kill9().await;
    env.start_daemon().await;
    model.push(Reply::text("Still Biscuit."));
    env.ok(&["send", "ctx", "And now?"]).await;
    assert_eq!(env.wait_settled("ctx").await, "idle");
    let reqs = model.wait_for_requests(3, T).await;
    assert!(
        mentions(&reqs[2].body, "My dog is called Biscuit."),
        "context lost across kill -9"
    );
    assert!(mentions(&reqs[2].body, "It is Biscuit."));

    // The key is sent, never stored.
    for (path, bytes) in env.state_files() {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(TEST_API_KEY),
            "API key written to {}",
            path.display()
        );
    }
    let answers = env.events_of("ctx", "assistant_message").await;
    assert_eq!(answers.len(), 3, "{}", pretty(&answers));
    assert_eq!(answers[2]["text"], "Still Biscuit.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_builtin_tool_call_round_trips() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    std::fs::write(
        env.work_dir.join("notes.txt"),
        "the secret word is pumpernickel\n",
    )
    .unwrap();
    env.start_daemon().await;
    model.push(Reply::tool_call(
        "call_read",
        "read_file",
        json!({"path": "notes.txt"}),
    ));
    model.push(Reply::text("The word is pumpernickel."));
    env.ok(&["new", "-d", "-n", "tools", "What is the secret word?"])
        .await;
    assert_eq!(env.wait_settled("tools").await, "idle");

    let calls = env.events_of("tools", "tool_call").await;
    assert_eq!(calls.len(), 1, "{}", pretty(&calls));
    assert_eq!(calls[0]["call_id"], "call_read");
    assert_eq!(calls[0]["tool"], "read_file");
    assert_eq!(calls[0]["arguments"], json!({"path": "notes.txt"}));
    let results = env.events_of("tools", "tool_result").await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["is_error"], false);
    assert!(
        results[0]["output"]
            .as_str()
            .unwrap()
            .contains("pumpernickel")
    );

    let reqs = model.wait_for_requests(2, T).await;
    let tools_offered: Vec<String> = reqs[0]
        .tools()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    for t in ["shell", "read_file", "write_file", "edit_file", "list_dir"] {
        assert!(
            tools_offered.contains(&t.to_string()),
            "tool {t} not offered: {tools_offered:?}"
        );
    }
    let msgs = reqs[1].messages();
    let tool_msg = msgs
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("a tool message in the next request");
    assert_eq!(tool_msg["tool_call_id"], "call_read");
    assert!(
        tool_msg["content"]
            .as_str()
            .unwrap()
            .contains("pumpernickel")
    );
    let usage_seen = env
        .events_of("tools", "assistant_message")
        .await
        .iter()
        .any(|e| e["usage"]["prompt_tokens"].as_u64().is_some());
    assert!(usage_seen, "token usage recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_tool_calls_all_run_and_all_results_go_back() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::tool_calls([
        ("c1", "shell", json!({"command": "echo one"})),
        ("c2", "shell", json!({"command": "echo two"})),
        (
            "c3",
            "write_file",
            json!({"path": "out.txt", "content": "three"}),
        ),
    ]));
    model.push(Reply::text("done"));
    env.ok(&["new", "-d", "-n", "par", "go"]).await;
    assert_eq!(env.wait_settled("par").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    let tool_msgs: Vec<_> = reqs[1]
        .messages()
        .into_iter()
        .filter(|m| m["role"] == "tool")
        .collect();
    assert_eq!(tool_msgs.len(), 3);
    assert!(
        tool_msgs
            .iter()
            .any(|m| m["content"].as_str().unwrap().contains("one"))
    );
    assert!(
        tool_msgs
            .iter()
            .any(|m| m["content"].as_str().unwrap().contains("two"))
    );
    assert_eq!(
        std::fs::read_to_string(env.work_dir.join("out.txt")).unwrap(),
        "three"
    );
}

const ASK: &str = "[approvals]\ndefault = \"ask\"\nallow = [\"read_file\", \"list_dir\"]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_runs_the_call_exactly_once_even_across_a_kill_9() {
    let (model, mut env) = TestEnv::started(ASK).await;
    model.push(Reply::tool_call(
        "call_sh",
        "shell",
        json!({"command": "echo ran >> ran.txt"}),
    ));
    model.push(Reply::text("it ran"));
    env.ok(&["new", "-d", "-n", "ask", "run it"]).await;
    assert_eq!(env.wait_settled("ask").await, "awaiting_approval");
    let ls: serde_json::Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["state"], "awaiting_approval");
    assert_eq!(ls[0]["pending_approvals"], json!(["call_sh"]));
    assert!(
        !env.work_dir.join("ran.txt").exists(),
        "ran before approval"
    );

    env.kill9().await;
    env.start_daemon().await;
    assert_eq!(
        env.wait_settled("ask").await,
        "awaiting_approval",
        "approval must survive kill -9"
    );
    let ls: serde_json::Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(ls[0]["pending_approvals"], json!(["call_sh"]));

    let out = env.ok(&["approve", "ask"]).await;
    assert_eq!(out.trim(), "call_sh");
    assert_eq!(env.wait_settled("ask").await, "idle");
    assert_eq!(
        std::fs::read_to_string(env.work_dir.join("ran.txt")).unwrap(),
        "ran\n",
        "ran exactly once"
    );
    let again = env.run(&["approve", "ask", "call_sh"]).await;
    assert_eq!(again.code, 1, "nothing left to approve");
    assert!(again.stderr.contains("call_sh"), "{}", again.stderr);
    let decided = env.events_of("ask", "approval_decided").await;
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0]["decision"], "approved");
    let reqs = model.wait_for_requests(2, T).await;
    assert!(
        reqs[1]
            .messages()
            .iter()
            .any(|m| m["role"] == "tool" && mentions(m, "exit code: 0"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_allow_list_read_only_tools_ask_outside_the_session_directory() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "[approvals]\ndefault = \"ask\"\n");
    std::fs::write(env.work_dir.join("inside.txt"), "inside words\n").unwrap();
    let outside = env.root.path().join("outside.txt");
    std::fs::write(&outside, "outside words\n").unwrap();
    // A symlink in the session directory that leads out of it is outside too.
    std::os::unix::fs::symlink(&outside, env.work_dir.join("link.txt")).unwrap();
    env.start_daemon().await;
    model.push(Reply::tool_calls([
        ("c_in", "read_file", json!({"path": "inside.txt"})),
        (
            "c_out",
            "read_file",
            json!({"path": outside.to_str().unwrap()}),
        ),
        ("c_link", "read_file", json!({"path": "link.txt"})),
        ("c_up", "list_dir", json!({"path": "../"})),
        ("c_here", "list_dir", json!({})),
    ]));
    model.push(Reply::text("read them"));
    env.ok(&["new", "-d", "-n", "scope", "read"]).await;
    assert_eq!(env.wait_settled("scope").await, "awaiting_approval");

    let asked: Vec<String> = env
        .events_of("scope", "approval_requested")
        .await
        .iter()
        .map(|e| e["call_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(asked, ["c_out", "c_link", "c_up"]);
    // The calls that need no approval run beside the waiting ones: the session
    // may say `awaiting_approval` before they have finished.
    env.wait_until(
        "the two calls inside the directory to finish",
        T,
        || async { env.events_of("scope", "tool_result").await.len() >= 2 },
    )
    .await;
    let mut ran: Vec<String> = env
        .events_of("scope", "tool_result")
        .await
        .iter()
        .map(|e| e["call_id"].as_str().unwrap().to_string())
        .collect();
    ran.sort();
    assert_eq!(
        ran,
        ["c_here", "c_in"],
        "calls inside the directory run at once"
    );
    assert_eq!(
        model.requests().len(),
        1,
        "the step waits for the approvals"
    );

    env.ok(&["approve", "scope", "--all"]).await;
    assert_eq!(env.wait_settled("scope").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    let told = reqs[1].request_text();
    assert!(
        told.contains("inside words") && told.contains("outside words"),
        "{told}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_never_runs_the_call_and_the_model_is_told_why() {
    let (model, env) = TestEnv::started(ASK).await;
    model.push(Reply::tool_call(
        "call_rm",
        "shell",
        json!({"command": "touch should-not-exist"}),
    ));
    model.push(Reply::text("ok, I will not"));
    env.ok(&["new", "-d", "-n", "deny", "clean up"]).await;
    assert_eq!(env.wait_settled("deny").await, "awaiting_approval");
    env.ok(&["deny", "deny", "call_rm", "--reason", "not on my machine"])
        .await;
    assert_eq!(env.wait_settled("deny").await, "idle");
    assert!(!env.work_dir.join("should-not-exist").exists());
    let result = &env.events_of("deny", "tool_result").await[0];
    assert_eq!(result["is_error"], true);
    let reqs = model.wait_for_requests(2, T).await;
    let told = reqs[1]
        .messages()
        .into_iter()
        .find(|m| m["role"] == "tool")
        .unwrap();
    let content = told["content"].as_str().unwrap();
    assert!(
        content.contains("denied") && content.contains("not on my machine"),
        "{content}"
    );
    let decided = &env.events_of("deny", "approval_decided").await[0];
    assert_eq!(decided["decision"], "denied");
    assert_eq!(decided["reason"], "not on my machine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_policy_and_approval_errors() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(
        &model,
        "[approvals]\ndefault = \"allow\"\ndeny = [\"sh*\"]\n",
    );
    env.start_daemon().await;
    model.push(Reply::tool_call(
        "c",
        "shell",
        json!({"command": "touch nope"}),
    ));
    model.push(Reply::text("fine"));
    env.ok(&["new", "-d", "-n", "pol", "try"]).await;
    assert_eq!(env.wait_settled("pol").await, "idle");
    assert!(!env.work_dir.join("nope").exists());
    let r = &env.events_of("pol", "tool_result").await[0];
    assert!(
        r["output"]
            .as_str()
            .unwrap()
            .contains("denied by the approval policy"),
        "{r}"
    );
    let out = env.run(&["approve", "pol"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("tether: no tool call is waiting"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_delivery_stops_a_slow_answer_and_the_new_message_is_answered() {
    let (model, env) = TestEnv::started("").await;
    let long: String = (0..400).map(|i| format!("word{i} ")).collect();
    model.push(Reply::text(long).slow(Duration::from_millis(50)));
    model.push(Reply::text("answer to the second"));
    env.ok(&["new", "-d", "-n", "intr", "tell me a long story"])
        .await;
    model.wait_for_requests(1, T).await;
    env.ok(&["send", "intr", "--interrupt", "stop, answer this instead"])
        .await;
    assert_eq!(env.wait_settled("intr").await, "idle");
    let evs = env.events("intr").await;
    let kinds: Vec<&str> = evs.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let interrupted = kinds
        .iter()
        .position(|k| *k == "turn_interrupted")
        .expect("turn_interrupted");
    let completed = kinds
        .iter()
        .rposition(|k| *k == "turn_completed")
        .expect("turn_completed");
    assert!(interrupted < completed, "{kinds:?}");
    let last_answer = evs
        .iter()
        .rev()
        .find(|e| e["type"] == "assistant_message")
        .unwrap();
    assert_eq!(last_answer["text"], "answer to the second");
    let user = env.events_of("intr", "user_message").await;
    assert_eq!(user[1]["delivery"], "interrupt");
    // The slow stream was cut: the daemon hung up on it long before 400 words.
    model.wait_for_disconnects(1, T).await;
    let reqs = model.wait_for_requests(2, T).await;
    assert!(mentions(&reqs[1].body, "stop, answer this instead"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tether_interrupt_leaves_the_session_idle_and_kills_the_shell() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::tool_call(
        "c",
        "shell",
        json!({"command": "echo started; sleep 30; echo finished > finished.txt"}),
    ));
    env.ok(&["new", "-d", "-n", "stop", "work"]).await;
    env.wait_event("stop", "the shell call", |e| e["type"] == "tool_call")
        .await;
    let out = env.ok(&["interrupt", "stop"]).await;
    assert!(out.is_empty());
    assert_eq!(env.wait_settled("stop").await, "idle");
    let r = &env.events_of("stop", "tool_result").await[0];
    assert_eq!(r["is_error"], true);
    assert!(r["output"].as_str().unwrap().contains("interrupted"));
    assert!(env.events_of("stop", "turn_interrupted").await.len() == 1);
    let out = env.run(&["interrupt", "stop"]).await;
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("nothing was running"));
    // The next message works.
    model.push(Reply::text("back"));
    env.ok(&["send", "stop", "hello again"]).await;
    assert_eq!(env.wait_settled("stop").await, "idle");
    assert!(
        !env.work_dir.join("finished.txt").exists(),
        "the process group was killed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_run_in_order_and_send_then_wait_waits_for_them() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("first answer").delay_first(Duration::from_millis(300)));
    model.push(Reply::text("second answer"));
    model.push(Reply::text("third answer"));
    env.ok(&["new", "-d", "-n", "q", "one"]).await;
    env.ok(&["send", "q", "two"]).await;
    env.ok(&["send", "q", "three"]).await;
    assert_eq!(env.wait_settled("q").await, "idle");
    let users: Vec<String> = env
        .events_of("q", "user_message")
        .await
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(users, ["one", "two", "three"]);
    assert_eq!(
        env.events_of("q", "turn_completed").await.len(),
        3,
        "each queued input is a turn"
    );
    let reqs = model.wait_for_requests(3, T).await;
    // Turn 2's request has turn 1 complete and not "three".
    assert!(mentions(&reqs[1].body, "first answer") && !mentions(&reqs[1].body, "three"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steer_joins_the_running_turn_at_its_next_step() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::tool_call(
        "c",
        "shell",
        json!({"command": "sleep 0.5; echo slept"}),
    ));
    model.push(Reply::text("adjusted"));
    env.ok(&["new", "-d", "-n", "steer", "do the thing"]).await;
    env.wait_event("steer", "the tool call", |e| e["type"] == "tool_call")
        .await;
    env.ok(&["send", "steer", "--steer", "use the blue one"])
        .await;
    assert_eq!(env.wait_settled("steer").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    assert_eq!(
        reqs.len(),
        2,
        "steer joins the turn, it does not start another"
    );
    let msgs = reqs[1].messages();
    let last = msgs.last().unwrap();
    assert_eq!(last["role"], "user");
    assert_eq!(last["content"], "use the blue one");
    assert_eq!(env.events_of("steer", "turn_started").await.len(), 1);
}
