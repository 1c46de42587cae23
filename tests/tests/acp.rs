//! `tether acp` end to end: the real ACP client SDK from npm drives `tether acp`,
//! which drives the real daemon with a scripted model. Sessions made from the
//! client are ordinary tether sessions, and the CLI acts on them meanwhile.

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::acp::AcpClient;
use tether_tests::harness::npm_server;
use tether_tests::{Reply, TestEnv};

const ASK: &str = "[approvals]\ndefault = \"ask\"\n";

fn kind_of(u: &Value) -> &str {
    u["sessionUpdate"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_initializes_creates_a_session_and_a_prompt_streams_to_end_turn() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("Hello from the scripted model, word by word."));
    let mut acp = AcpClient::start(&env).await;

    let init = acp.initialize().await;
    assert_eq!(init["protocolVersion"], 1, "{init}");
    let caps = &init["agentCapabilities"];
    assert_eq!(caps["loadSession"], true, "{init}");
    assert_eq!(caps["promptCapabilities"]["image"], true, "{init}");
    assert_eq!(
        caps["promptCapabilities"]["embeddedContext"], true,
        "{init}"
    );
    assert_eq!(caps["mcpCapabilities"]["http"], true, "{init}");
    assert_eq!(init["agentInfo"]["name"], "tether", "{init}");

    let sid = acp.new_session(&env.work_dir, json!([])).await;
    acp.prompt_blocks(
        "p1",
        &sid,
        json!([
            {"type": "text", "text": "Say hello. Context:"},
            {"type": "resource", "resource": {"uri": "file:///notes/todo.txt", "mimeType": "text/plain", "text": "buy milk"}},
        ]),
    )
    .await;
    let answer = acp.prompt_answer("p1").await;
    assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
    assert_eq!(
        acp.chunks("agent_message_chunk"),
        "Hello from the scripted model, word by word."
    );
    assert!(
        acp.updates()
            .iter()
            .filter(|u| kind_of(u) == "agent_message_chunk")
            .count()
            > 1,
        "the answer streamed in pieces:\n{}",
        acp.transcript()
    );
    assert!(
        acp.updates()
            .iter()
            .all(|u| kind_of(u) != "user_message_chunk"),
        "the client's own prompt is not echoed back:\n{}",
        acp.transcript()
    );
    // The embedded resource reached the model as text with its URI.
    let asked = model.requests().last().unwrap().last_user_text().unwrap();
    assert!(
        asked.contains("Say hello. Context:")
            && asked.contains("<context uri=\"file:///notes/todo.txt\">\nbuy milk\n</context>"),
        "{asked}"
    );

    // An ordinary tether session: `ls` shows it, named after its directory.
    let ls: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    let listed = ls.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{ls}");
    assert_eq!(listed[0]["id"], sid.as_str(), "{ls}");
    assert_eq!(listed[0]["name"], "work", "{ls}");
    assert_eq!(listed[0]["state"], "idle", "{ls}");
    acp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_a_session_made_by_tether_new_replays_its_history_before_answering() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::tool_call(
        "call_1",
        "shell",
        json!({"command": "echo replayed-output"}),
    ));
    model.push(Reply::text("The command ran."));
    env.ok(&["new", "-d", "-n", "made", "run the command"])
        .await;
    assert_eq!(env.wait_settled("made").await, "idle");

    let mut acp = AcpClient::start(&env).await;
    acp.initialize().await;
    let loaded = acp
        .call("load", json!({"sessionId": "made", "cwd": env.work_dir}))
        .await;
    assert!(loaded.get("error").is_none(), "{loaded}");
    let at = acp.seen.len() - 1;
    let before: Vec<Value> = acp.seen[..at]
        .iter()
        .filter_map(|v| v.get("update").map(|u| u["update"].clone()))
        .collect();
    let kinds: Vec<&str> = before.iter().map(kind_of).collect();
    assert_eq!(
        kinds,
        [
            "user_message_chunk",
            "tool_call",
            "tool_call_update",
            "agent_message_chunk"
        ],
        "the whole history, before the answer:\n{}",
        acp.transcript()
    );
    assert_eq!(before[0]["content"]["text"], "run the command");
    assert_eq!(before[1]["toolCallId"], "call_1");
    assert_eq!(before[1]["kind"], "execute");
    assert_eq!(before[1]["title"], "echo replayed-output");
    assert_eq!(before[2]["status"], "completed");
    assert!(
        before[2]["content"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("replayed-output"),
        "{}",
        before[2]
    );
    assert_eq!(before[3]["content"]["text"], "The command ran.");

    // The loaded session takes prompts under the name it was loaded by.
    model.push(Reply::text("Still here."));
    acp.prompt("p", "made", "are you there?").await;
    let answer = acp.prompt_answer("p").await;
    assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
    let users = env.events_of("made", "user_message").await;
    assert_eq!(users.last().unwrap()["text"], "are you there?");
    acp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_waiting_for_approval_is_a_permission_request_and_the_answer_decides_it() {
    let (model, env) = TestEnv::started(ASK).await;
    model.push(Reply::tool_call(
        "c1",
        "shell",
        json!({"command": "echo approved-run"}),
    ));
    model.push(Reply::text("It ran."));
    model.push(Reply::tool_call(
        "c2",
        "shell",
        json!({"command": "echo never-run"}),
    ));
    model.push(Reply::text("Not run, then."));
    let mut acp = AcpClient::start(&env).await;
    acp.initialize().await;
    let sid = acp.new_session(&env.work_dir, json!([])).await;

    // Allow once.
    acp.prompt("p1", &sid, "run it").await;
    let (asked, key) = acp.permission().await;
    assert_eq!(asked["sessionId"], sid.as_str(), "{asked}");
    let call = &asked["toolCall"];
    assert_eq!(call["toolCallId"], "c1", "{asked}");
    assert_eq!(call["kind"], "execute", "{asked}");
    assert_eq!(call["rawInput"]["command"], "echo approved-run", "{asked}");
    assert!(
        call["content"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("echo approved-run"),
        "the person deciding sees the whole command: {asked}"
    );
    let options: Vec<(&str, &str)> = asked["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["optionId"].as_str().unwrap(), o["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        options,
        [
            ("allow_once", "allow_once"),
            ("allow_always", "allow_always"),
            ("reject_once", "reject_once")
        ],
        "{asked}"
    );
    assert_eq!(
        asked["options"][1]["name"],
        "Always allow shell commands starting with \"echo\" in this session"
    );
    let waiting: Value = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    assert_eq!(waiting[0]["pending_approvals"], json!(["c1"]), "{waiting}");
    acp.choose(key, "allow_once").await;
    let answer = acp.prompt_answer("p1").await;
    assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
    let done = acp
        .updates()
        .into_iter()
        .find(|u| u["toolCallId"] == "c1" && u["status"] == "completed")
        .unwrap_or_else(|| panic!("c1 completed:\n{}", acp.transcript()));
    assert!(
        done["content"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("approved-run")
    );
    let decided = env.events_of(&sid, "approval_decided").await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert_eq!(decided[0]["call_id"], "c1");
    assert_eq!(decided[0]["decision"], "approved");
    assert!(
        env.events_of(&sid, "approval_rule_added").await.is_empty(),
        "allow once adds no rule"
    );

    // Reject.
    acp.prompt("p2", &sid, "and this one").await;
    let (asked, key) = acp.permission().await;
    assert_eq!(asked["toolCall"]["toolCallId"], "c2", "{asked}");
    acp.choose(key, "reject_once").await;
    let answer = acp.prompt_answer("p2").await;
    assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
    assert!(
        acp.updates()
            .iter()
            .any(|u| u["toolCallId"] == "c2" && u["status"] == "failed"),
        "c2 failed:\n{}",
        acp.transcript()
    );
    let decided = env.events_of(&sid, "approval_decided").await;
    assert_eq!(decided.last().unwrap()["call_id"], "c2");
    assert_eq!(decided.last().unwrap()["decision"], "denied");
    let results = env.events_of(&sid, "tool_result").await;
    let c2 = results.iter().find(|r| r["call_id"] == "c2").unwrap();
    assert_eq!(c2["is_error"], true, "{c2}");
    assert!(
        !c2["output"].as_str().unwrap().contains("never-run"),
        "{c2}"
    );
    acp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_always_adds_a_session_rule_and_the_next_such_call_does_not_ask() {
    let (model, env) = TestEnv::started(ASK).await;
    model.push(Reply::tool_call(
        "a1",
        "shell",
        json!({"command": "echo one"}),
    ));
    model.push(Reply::tool_call(
        "a2",
        "shell",
        json!({"command": "echo two"}),
    ));
    model.push(Reply::text("Both ran."));
    let mut acp = AcpClient::start(&env).await;
    acp.initialize().await;
    let sid = acp.new_session(&env.work_dir, json!([])).await;
    acp.prompt("p", &sid, "echo twice").await;
    let (asked, key) = acp.permission().await;
    assert_eq!(asked["toolCall"]["toolCallId"], "a1");
    acp.choose(key, "allow_always").await;
    let answer = acp.prompt_answer("p").await;
    assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
    assert_eq!(
        acp.seen
            .iter()
            .filter(|v| v.get("permission").is_some())
            .count(),
        1,
        "the second call ran by the rule:\n{}",
        acp.transcript()
    );
    let rules: Value = serde_json::from_str(&env.ok(&["approvals", &sid, "--json"]).await).unwrap();
    assert_eq!(rules[0]["scope"], "session", "{rules}");
    assert_eq!(rules[0]["tool"], "shell", "{rules}");
    assert_eq!(rules[0]["prefix"], "echo", "{rules}");
    let calls = env.events_of(&sid, "tool_call").await;
    assert!(
        calls
            .iter()
            .any(|c| c["call_id"] == "a2" && c["rule"].is_u64()),
        "{calls:?}"
    );
    acp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_decided_in_the_cli_withdraws_the_request_and_the_late_answer_decides_nothing() {
    let (model, env) = TestEnv::started(ASK).await;
    model.push(Reply::tool_call(
        "c1",
        "shell",
        json!({"command": "echo from-cli"}),
    ));
    model.push(Reply::text("Done."));
    let mut acp = AcpClient::start(&env).await;
    acp.initialize().await;
    let sid = acp.new_session(&env.work_dir, json!([])).await;
    acp.prompt("p", &sid, "run it").await;
    let (_, key) = acp.permission().await;
    // Another client decides while the editor's request is open.
    env.ok(&["approve", &sid, "c1"]).await;
    acp.wait_for("the request withdrawn", |v| v["withdrawn"] == key)
        .await;
    // The editor's late answer (here: reject) changes nothing.
    acp.choose(key, "reject_once").await;
    let answer = acp.prompt_answer("p").await;
    assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
    let decided = env.events_of(&sid, "approval_decided").await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert_eq!(decided[0]["decision"], "approved");
    let result = &env.events_of(&sid, "tool_result").await[0];
    assert_eq!(result["is_error"], false, "{result}");
    acp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_interrupts_a_slow_turn_and_the_prompt_stops_cancelled() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::endless(Duration::from_millis(50)));
    let mut acp = AcpClient::start(&env).await;
    acp.initialize().await;
    let sid = acp.new_session(&env.work_dir, json!([])).await;
    acp.prompt("p", &sid, "talk forever").await;
    acp.wait_for("the answer streaming", |v| {
        v["update"]["update"]["sessionUpdate"] == "agent_message_chunk"
    })
    .await;
    acp.send(json!({"op": "cancel", "sessionId": sid})).await;
    let answer = acp.prompt_answer("p").await;
    assert_eq!(answer["result"]["stopReason"], "cancelled", "{answer}");
    let interrupted = env.events_of(&sid, "turn_interrupted").await;
    assert_eq!(interrupted.len(), 1, "{interrupted:?}");
    assert_eq!(env.wait_settled(&sid).await, "idle");
    acp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_mcp_servers_are_the_sessions_own_and_survive_a_daemon_restart() {
    let (model, mut env) = TestEnv::started("").await;
    let mut acp = AcpClient::start(&env).await;
    acp.initialize().await;
    let server = json!([{
        "name": "everything",
        "command": npm_server("mcp-server-everything"),
        "args": [],
        "env": [{"name": "LOG_LEVEL", "value": "warn"}],
    }]);
    let sid = acp.new_session(&env.work_dir, server).await;
    let listed = format!("everything (session {sid})");
    let running = |out: &str| {
        serde_json::from_str::<Value>(out)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .any(|s| {
                s["name"] == listed.as_str()
                    && s["source"] == "session.create"
                    && s["status"] == "running"
                    && s["tools"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|t| t == "everything__echo")
            })
    };
    env.wait_until(
        "the session's own server running",
        Duration::from_secs(30),
        || async { running(&env.ok(&["tools", "--json"]).await) },
    )
    .await;
    // The model is offered its tools.
    model.push(Reply::text("I see them."));
    acp.prompt("p", &sid, "which tools?").await;
    acp.prompt_answer("p").await;
    let tools = model.requests().last().unwrap().tools();
    assert!(
        tools
            .iter()
            .any(|t| t["function"]["name"] == "everything__echo"),
        "{tools:?}"
    );
    acp.close().await;

    // Kept with the session: back after a kill -9, once the session is used
    // (an idle session sleeps after a restart and starts its servers on waking).
    env.kill9().await;
    env.start_daemon().await;
    model.push(Reply::text("Awake."));
    env.ok(&["send", &sid, "wake up"]).await;
    env.ok(&["wait", &sid]).await;
    env.wait_until(
        "the server back after the restart",
        Duration::from_secs(30),
        || async { running(&env.ok(&["tools", "--json"]).await) },
    )
    .await;
    model.push(Reply::text("Still here."));
    env.ok(&["send", &sid, "still there?"]).await;
    env.ok(&["wait", &sid]).await;
    let tools = model.requests().last().unwrap().tools();
    assert!(
        tools
            .iter()
            .any(|t| t["function"]["name"] == "everything__echo"),
        "the woken session is offered its own server's tools: {tools:?}"
    );
    // And stopped with it.
    env.ok(&["kill", &sid]).await;
    let out = env.ok(&["tools", "--json"]).await;
    assert!(!out.contains(&listed), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loaded_session_asks_about_its_waiting_call_and_shows_what_the_cli_sends() {
    let (model, env) = TestEnv::started(ASK).await;
    model.push(Reply::tool_call(
        "w1",
        "shell",
        json!({"command": "echo waited"}),
    ));
    model.push(Reply::text("It ran after the load."));
    env.ok(&["new", "-d", "-n", "waits", "run it"]).await;
    assert_eq!(env.wait_settled("waits").await, "awaiting_approval");

    let mut acp = AcpClient::start(&env).await;
    acp.initialize().await;
    let loaded = acp
        .call("load", json!({"sessionId": "waits", "cwd": env.work_dir}))
        .await;
    assert!(loaded.get("error").is_none(), "{loaded}");
    let at = acp.seen.len();
    let (asked, key) = acp.permission().await;
    assert!(
        acp.seen[..at].iter().all(|v| v.get("permission").is_none()),
        "asked only once the load was answered:\n{}",
        acp.transcript()
    );
    assert_eq!(asked["toolCall"]["toolCallId"], "w1", "{asked}");
    acp.choose(key, "allow_once").await;
    acp.wait_for("the answer after the approval", |v| {
        v["update"]["update"]["content"]["text"]
            .as_str()
            .is_some_and(|t| t.ends_with("load."))
    })
    .await;
    assert!(
        acp.chunks("agent_message_chunk")
            .ends_with("It ran after the load.")
    );
    assert_eq!(env.wait_settled("waits").await, "idle");

    // Another client's message and its turn show in the editor.
    model.push(Reply::text("Answer to the CLI."));
    env.ok(&["send", "waits", "from the cli"]).await;
    acp.wait_for("the CLI's message", |v| {
        v["update"]["update"]["sessionUpdate"] == "user_message_chunk"
            && v["update"]["update"]["content"]["text"] == "from the cli"
    })
    .await;
    acp.wait_for("its answer", |v| {
        v["update"]["update"]["content"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("CLI"))
    })
    .await;
    acp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_cut_at_the_token_limit_is_max_tokens_and_a_failed_turn_an_error() {
    let (model, env) = TestEnv::started("").await;
    model.push(Reply::text("This answer is cut").with_finish_reason("length"));
    for _ in 0..3 {
        model.push(Reply::status(500).with_error_message("the model is down"));
    }
    let mut acp = AcpClient::start(&env).await;
    acp.initialize().await;
    let sid = acp.new_session(&env.work_dir, json!([])).await;
    acp.prompt("cut", &sid, "write a lot").await;
    let answer = acp.prompt_answer("cut").await;
    assert_eq!(answer["result"]["stopReason"], "max_tokens", "{answer}");

    acp.prompt("down", &sid, "again").await;
    let answer = acp.prompt_answer("down").await;
    let message = answer["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(
        message.starts_with("the turn failed: ") && message.contains("the model is down"),
        "{answer}"
    );
    // The session takes the next prompt as usual.
    model.push(Reply::text("Back."));
    acp.prompt("back", &sid, "and now?").await;
    let answer = acp.prompt_answer("back").await;
    assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
    acp.close().await;
}
