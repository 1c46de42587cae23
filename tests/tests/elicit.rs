//! A tool server's questions and sampling requests (issue 14), end to end: a
//! real MCP server (tests/fixtures/mcp/asking_server.mjs, on the official SDK)
//! asks during a tool call, the session waits in `awaiting_approval`, and
//! another CLI call answers; the server's tool result says what it got.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::harness::{mcp_fixtures, pretty};
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(30);

/// A daemon whose tools.toml starts the asking server as `ask`.
async fn env_with_asking_server(model: &ModelServer, extra: &str) -> TestEnv {
    let mut env = TestEnv::with_model(model, extra);
    let script = mcp_fixtures().join("asking_server.mjs");
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "[servers.ask]\ncommand = \"node\"\nargs = [\"{}\"]\n",
            script.display()
        ),
    )
    .unwrap();
    env.start_daemon().await;
    env.wait_until("the asking server to run", T, || async {
        let tools: Vec<Value> = serde_json::from_str(&env.ok(&["tools", "--json"]).await).unwrap();
        tools
            .iter()
            .any(|s| s["name"] == "ask" && s["status"] == "running")
    })
    .await;
    env
}

async fn ls_entry(env: &TestEnv, name: &str) -> Value {
    let all: Vec<Value> = serde_json::from_str(&env.ok(&["ls", "--json"]).await).unwrap();
    all.into_iter().find(|s| s["name"] == name).unwrap()
}

async fn tool_output(env: &TestEnv, name: &str) -> String {
    let results = env.events_of(name, "tool_result").await;
    assert_eq!(results.len(), 1, "{}", pretty(&env.events(name).await));
    results[0]["output"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_waits_until_tether_answer_sends_the_values() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call("c1", "ask__ask_name", json!({})));
    model.push(Reply::text("deployed"));
    let env = env_with_asking_server(&model, "").await;
    env.ok(&["new", "-d", "-n", "q", "deploy it"]).await;
    assert_eq!(env.wait_settled("q").await, "awaiting_approval");

    let asked = env
        .wait_event("q", "input_requested", |e| e["type"] == "input_requested")
        .await;
    assert_eq!(asked["server"], "ask");
    assert_eq!(asked["call_id"], "c1");
    assert_eq!(asked["message"], "Who is deploying, and in which colour?");
    assert_eq!(asked["schema"]["required"], json!(["name"]));
    let id = asked["request_id"].as_str().unwrap().to_string();
    let entry = ls_entry(&env, "q").await;
    assert_eq!(entry["state"], "awaiting_approval");
    assert_eq!(entry["pending_inputs"], json!([id]));
    assert_eq!(entry["pending_approvals"], json!([]));

    // A bad answer names its field and sends nothing.
    let bad = env.run(&["answer", "q", "--json", "{}"]).await;
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("\"name\" is required"),
        "{}",
        bad.stderr
    );
    let bad = env
        .run(&[
            "answer",
            "q",
            &id,
            "--json",
            r#"{"name": "Ana", "count": 12}"#,
        ])
        .await;
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("\"count\" must be at most 9"),
        "{}",
        bad.stderr
    );
    let bad = env.run(&["answer", "q", "--json", "[1]"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(
        env.events_of("q", "input_answered").await,
        Vec::<Value>::new()
    );
    assert_eq!(ls_entry(&env, "q").await["state"], "awaiting_approval");

    let answer = [
        "answer",
        "q",
        "--key",
        "k-1",
        "--json",
        r#"{"name": "Ana", "color": "blue"}"#,
    ];
    let out = env.ok(&answer).await;
    assert_eq!(out.trim(), format!("{id} accept"));
    assert_eq!(env.wait_settled("q").await, "idle");
    // A retry with the same key acts once and says the same.
    assert_eq!(env.ok(&answer).await, out);
    let output = tool_output(&env, "q").await;
    assert_eq!(
        output,
        r#"action=accept content={"color":"blue","count":3,"name":"Ana","notify":false}"#
    );
    let answered = env.events_of("q", "input_answered").await;
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0]["request_id"], id.as_str());
    assert_eq!(answered[0]["action"], "accept");
    assert_eq!(answered[0]["content"]["count"], 3);
    assert!(ls_entry(&env, "q").await.get("pending_inputs").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_question_reaches_the_server_as_decline_and_a_url_one_carries_its_url() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call("c1", "ask__ask_name", json!({})));
    model.push(Reply::tool_call("c2", "ask__open_page", json!({})));
    model.push(Reply::text("ok"));
    let env = env_with_asking_server(&model, "").await;
    env.ok(&["new", "-d", "-n", "d", "go"]).await;
    assert_eq!(env.wait_settled("d").await, "awaiting_approval");
    env.ok(&["answer", "d", "--decline"]).await;

    let url = env
        .wait_event("d", "the url question", |e| {
            e["type"] == "input_requested" && e["url"].is_string()
        })
        .await;
    assert_eq!(url["url"], "https://example.com/sign?x=1");
    assert_eq!(env.wait_settled("d").await, "awaiting_approval");
    env.ok(&["answer", "d", "--json", "{}"]).await;
    assert_eq!(env.wait_settled("d").await, "idle");

    let results = env.events_of("d", "tool_result").await;
    assert_eq!(results[0]["output"], "action=decline content=null");
    assert_eq!(results[1]["output"], "action=accept");
    let answered = env.events_of("d", "input_answered").await;
    assert_eq!(answered[0]["action"], "decline");
    assert_eq!(answered[1]["action"], "accept");
    assert!(answered[1].get("content").is_none(), "{}", answered[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_a_question_waits_answers_cancel_with_a_note() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call("c1", "ask__ask_name", json!({})));
    model.push(Reply::text("the call was interrupted"));
    let mut env = env_with_asking_server(&model, "").await;
    env.ok(&["new", "-d", "-n", "r", "go"]).await;
    assert_eq!(env.wait_settled("r").await, "awaiting_approval");
    env.kill9().await;
    env.start_daemon().await;
    assert_eq!(env.wait_settled("r").await, "idle");

    let answered = env.events_of("r", "input_answered").await;
    assert_eq!(answered.len(), 1, "{}", pretty(&env.events("r").await));
    assert_eq!(answered[0]["action"], "cancel");
    assert!(
        answered[0]["note"]
            .as_str()
            .unwrap()
            .contains("daemon restarted"),
        "{}",
        answered[0]
    );
    let output = tool_output(&env, "r").await;
    assert!(
        output.starts_with("interrupted: daemon restarted"),
        "{output}"
    );
    assert_eq!(env.events_of("r", "turn_resumed").await.len(), 1);
    let bad = env
        .run(&["answer", "r", "--json", r#"{"name": "x"}"#])
        .await;
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("no question is waiting"),
        "{}",
        bad.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_sampling_is_served_by_the_sessions_model() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call(
        "c1",
        "ask__summarize",
        json!({"text": "the build is green"}),
    ));
    model.push(Reply::text("Green build.").usage(700, 11));
    model.push(Reply::text("summarised"));
    let env = env_with_asking_server(&model, "").await;
    env.ok(&["new", "-d", "-n", "s", "summarise"]).await;
    // Sampling asks whatever [approvals] default says (the tests' is allow).
    assert_eq!(env.wait_settled("s").await, "awaiting_approval");
    let asked = env.events_of("s", "sampling_requested").await;
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["server"], "ask");
    assert_eq!(asked[0]["system_prompt"], "You write one line.");
    assert_eq!(asked[0]["max_tokens"], 50);
    assert_eq!(
        asked[0]["messages"],
        json!([{"role": "user", "text": "Summarise: the build is green"}])
    );
    let id = asked[0]["request_id"].as_str().unwrap().to_string();
    assert_eq!(ls_entry(&env, "s").await["pending_inputs"], json!([id]));
    assert_eq!(
        model.requests().len(),
        1,
        "nothing reached the model before the approval"
    );

    let out = env.ok(&["approve", "s"]).await;
    assert_eq!(out.trim(), id);
    assert_eq!(env.wait_settled("s").await, "idle");
    let reqs = model.wait_for_requests(3, T).await;
    let sampling = &reqs[1];
    assert_eq!(
        sampling.messages(),
        vec![
            json!({"role": "system", "content": "You write one line."}),
            json!({"role": "user", "content": "Summarise: the build is green"}),
        ]
    );
    assert!(sampling.tools().is_empty());
    // The request's maxTokens reaches the endpoint (chat completions, not at
    // api.openai.com: `max_tokens`); the session's own turns carry none.
    assert_eq!(sampling.body["max_tokens"], 50, "{}", sampling.body);
    assert!(reqs[0].body.get("max_tokens").is_none(), "{}", reqs[0].body);
    assert_eq!(
        tool_output(&env, "s").await,
        "model mock/test-model said: Green build."
    );
    let answered = env.events_of("s", "sampling_answered").await;
    assert_eq!(answered[0]["text"], "Green build.");
    assert_eq!(answered[0]["usage"]["prompt_tokens"], 700);
    assert_eq!(answered[0]["usage"]["completion_tokens"], 11);
    // Counted in the session's usage with its model calls'.
    let usage = &ls_entry(&env, "s").await["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() >= 700, "{usage}");
    assert!(
        usage["completion_tokens"].as_u64().unwrap() >= 11,
        "{usage}"
    );
    let decided = env.events_of("s", "sampling_decided").await;
    assert_eq!(decided[0]["decision"], "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_sampling_is_an_error_to_the_server_and_a_policy_can_decide() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call(
        "c1",
        "ask__summarize",
        json!({"text": "x"}),
    ));
    model.push(Reply::text("refused"));
    let env = env_with_asking_server(&model, "").await;
    env.ok(&["new", "-d", "-n", "n", "summarise"]).await;
    assert_eq!(env.wait_settled("n").await, "awaiting_approval");
    let id = env.events_of("n", "sampling_requested").await[0]["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    env.ok(&["deny", "n", &id, "--reason", "not now"]).await;
    assert_eq!(env.wait_settled("n").await, "idle");
    let output = tool_output(&env, "n").await;
    assert!(
        output.starts_with("client error:")
            && output.contains("the user denied this sampling request: not now"),
        "{output}"
    );
    assert_eq!(
        model.requests().len(),
        2,
        "the sampling request never reached the model"
    );

    // With the glob in [approvals] deny, nobody is asked.
    let model = ModelServer::start().await;
    model.push(Reply::tool_call(
        "c1",
        "ask__summarize",
        json!({"text": "x"}),
    ));
    model.push(Reply::text("refused"));
    let env = env_with_asking_server(
        &model,
        "[approvals]\ndefault = \"allow\"\ndeny = [\"sampling:ask\"]\n",
    )
    .await;
    env.ok(&["new", "-d", "-n", "p", "summarise"]).await;
    assert_eq!(env.wait_settled("p").await, "idle");
    let decided = env.events_of("p", "sampling_decided").await;
    assert_eq!(decided[0]["by_policy"], true);
    assert_eq!(decided[0]["decision"], "denied");
    assert!(
        tool_output(&env, "p")
            .await
            .contains("denied by the approval policy")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_while_a_question_waits_answers_cancel_and_nothing_is_left_waiting() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call("c1", "ask__ask_name", json!({})));
    let env = env_with_asking_server(&model, "").await;
    env.ok(&["new", "-d", "-n", "i", "go"]).await;
    assert_eq!(env.wait_settled("i").await, "awaiting_approval");
    env.ok(&["interrupt", "i"]).await;
    assert_eq!(env.wait_settled("i").await, "idle");
    let answered = env.events_of("i", "input_answered").await;
    assert_eq!(answered.len(), 1, "{}", pretty(&env.events("i").await));
    assert_eq!(answered[0]["action"], "cancel");
    assert_eq!(answered[0]["note"], "interrupted by the user");
    assert!(ls_entry(&env, "i").await.get("pending_inputs").is_none());
    // The server got its answer: the next call to it is served at once.
    model.push(Reply::tool_call("c2", "ask__ask_name", json!({})));
    model.push(Reply::text("asked again"));
    env.ok(&["send", "i", "again"]).await;
    assert_eq!(env.wait_settled("i").await, "awaiting_approval");
    env.ok(&["answer", "i", "--json", r#"{"name": "Bo"}"#])
        .await;
    assert_eq!(env.wait_settled("i").await, "idle");
    let results = env.events_of("i", "tool_result").await;
    assert_eq!(results[0]["output"], "interrupted by the user");
    assert!(
        results[1]["output"]
            .as_str()
            .unwrap()
            .contains(r#""name":"Bo""#),
        "{}",
        results[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_while_a_question_waits_answers_cancel_before_it_goes() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call("c1", "ask__ask_name", json!({})));
    model.push(Reply::text("resumed"));
    let mut env = env_with_asking_server(&model, "").await;
    env.ok(&["new", "-d", "-n", "g", "go"]).await;
    assert_eq!(env.wait_settled("g").await, "awaiting_approval");
    env.ok(&["daemon", "stop"]).await;
    assert_eq!(env.wait_daemon_exit().await, 0);
    env.start_daemon().await;
    assert_eq!(env.wait_settled("g").await, "idle");
    let answered = env.events_of("g", "input_answered").await;
    assert_eq!(answered.len(), 1, "{}", pretty(&env.events("g").await));
    assert_eq!(answered[0]["action"], "cancel");
    assert!(
        answered[0]["note"]
            .as_str()
            .unwrap()
            .contains("daemon stopped"),
        "{}",
        answered[0]
    );
    assert_eq!(tool_output(&env, "g").await, "interrupted: daemon stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_is_refused_once_the_sessions_budget_is_reached() {
    let model = ModelServer::start().await;
    model.push(Reply::tool_call("c1", "ask__summarize", json!({"text": "x"})).usage(200, 5));
    let env = env_with_asking_server(&model, "").await;
    env.ok(&["new", "-d", "-n", "b", "--max-tokens", "100", "summarise"])
        .await;
    assert_eq!(env.wait_settled("b").await, "awaiting_approval");
    env.ok(&["approve", "b"]).await;
    assert_eq!(env.wait_settled("b").await, "budget_exhausted");
    let answered = env.events_of("b", "sampling_answered").await;
    assert!(
        answered[0]["error"]
            .as_str()
            .unwrap()
            .contains("budget is exhausted"),
        "{}",
        answered[0]
    );
    assert!(tool_output(&env, "b").await.contains("budget is exhausted"));
    assert_eq!(
        model.requests().len(),
        1,
        "the sampling request never reached the model"
    );
}
