//! Rich MCP content end to end (issue 14, parts 4 and 5), with the real
//! `@modelcontextprotocol/server-everything`: an image a tool returns reaches each
//! model API as an image part (chat completions has its own test in `mcp.rs`), an
//! image past `[tools] max_image_bytes` becomes a note, `structuredContent` is not
//! repeated, a tool's audio reaches a chat model set for audio as `input_audio` (and
//! one that is not gets a note), the resource tools read through a model-driven turn, a subscribed
//! resource's update reaches the model as a note, and `tether prompts` and
//! `tether send --prompt` expand the server's prompts.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::anthropic::{AnthropicReply, AnthropicServer};
use tether_tests::harness::{bad_server, mentions, npm_server};
use tether_tests::responses::{ResponsesReply, ResponsesServer};
use tether_tests::{ModelServer, Reply, TestEnv};

const T: Duration = Duration::from_secs(30);
/// The first bytes of a PNG, base64.
const PNG: &str = "iVBORw0KGgo";

/// Declares the everything server as `ev` in `tools.toml`.
fn with_everything(env: &TestEnv) {
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "[servers.ev]\ncommand = \"{}\"\nargs = [\"stdio\"]\n",
            npm_server("mcp-server-everything")
        ),
    )
    .unwrap();
}

/// Waits until `ev` runs, with its tools listed.
async fn wait_everything(env: &TestEnv) {
    env.wait_until("server ev to be running", T, || async {
        let list: Vec<Value> =
            serde_json::from_str(&env.ok(&["tools", "--json"]).await).unwrap_or_default();
        list.iter()
            .any(|s| s["name"] == "ev" && s["status"] == "running")
    })
    .await;
}

/// The tool result events of a session, by call id.
async fn result_of(env: &TestEnv, session: &str, call_id: &str) -> Value {
    env.events_of(session, "tool_result")
        .await
        .into_iter()
        .find(|e| e["call_id"] == call_id)
        .unwrap_or_else(|| panic!("no tool_result for {call_id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_from_a_tool_reaches_anthropic_inside_its_tool_result() {
    let server = AnthropicServer::start().await;
    let mut env = TestEnv::new();
    env.write_config(&format!(
        "default_model = \"claude/claude-sonnet-4-5\"\n\n[providers.claude]\nkind = \"anthropic\"\n\
         base_url = \"{}\"\napi_key_env = \"TETHER_TEST_KEY\"\n\n[approvals]\ndefault = \"allow\"\n",
        server.base_url()
    ));
    with_everything(&env);
    env.start_daemon().await;
    wait_everything(&env).await;
    server.push(AnthropicReply::tool_use(
        "tu_img",
        "ev__get-tiny-image",
        json!({}),
    ));
    server.push(AnthropicReply::text("a tiny logo"));
    env.ok(&["new", "-d", "-n", "img", "show me the image"])
        .await;
    assert_eq!(env.wait_settled("img").await, "idle");
    let reqs = server.wait_for_requests(2, T).await;
    let result = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .find(|b| b["type"] == "tool_result" && b["tool_use_id"] == "tu_img")
        .unwrap_or_else(|| panic!("no tool_result block: {}", reqs[1].body));
    let image = result["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "image")
        .unwrap_or_else(|| panic!("no image block in the tool result: {result}"));
    assert_eq!(image["source"]["type"], "base64", "{image}");
    assert_eq!(image["source"]["media_type"], "image/png", "{image}");
    assert!(
        image["source"]["data"].as_str().unwrap().starts_with(PNG),
        "{image}"
    );

    // The image is in the log: after a kill -9 and a restart the next request
    // carries the same result, image and all.
    env.kill9().await;
    env.start_daemon().await;
    server.push(AnthropicReply::text("still a logo"));
    env.ok(&["send", "img", "and now?"]).await;
    assert_eq!(env.wait_settled("img").await, "idle");
    let reqs = server.wait_for_requests(3, T).await;
    let again = reqs[2].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .find(|b| b["type"] == "tool_result" && b["tool_use_id"] == "tu_img");
    assert_eq!(
        again.as_ref(),
        Some(&result),
        "the same result after a restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_from_a_tool_reaches_responses_as_an_input_image() {
    let server = ResponsesServer::start().await;
    let mut env = TestEnv::new();
    env.write_config(&format!(
        "default_model = \"r/test-model\"\n\n[providers.r]\nkind = \"openai-responses\"\n\
         base_url = \"{}\"\napi_key_env = \"TETHER_TEST_KEY\"\n\n[approvals]\ndefault = \"allow\"\n",
        server.base_url()
    ));
    with_everything(&env);
    env.start_daemon().await;
    wait_everything(&env).await;
    server.push(ResponsesReply::call("fc_img", "ev__get-tiny-image", "{}"));
    server.push(ResponsesReply::text("a tiny logo"));
    env.ok(&["new", "-d", "-n", "img", "show me the image"])
        .await;
    assert_eq!(env.wait_settled("img").await, "idle");
    let reqs = server.wait_for_requests(2, T).await;
    let input = reqs[1].input();
    let output_at = input
        .iter()
        .position(|i| i["type"] == "function_call_output" && i["call_id"] == "fc_img")
        .unwrap_or_else(|| panic!("no function_call_output: {}", reqs[1].body));
    let image = input[output_at + 1..]
        .iter()
        .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
        .find(|p| p["type"] == "input_image")
        .unwrap_or_else(|| panic!("no input_image after the output: {}", reqs[1].body));
    let url = image["image_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("data:image/png;base64,{PNG}")),
        "{url:.60}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_past_the_cap_is_a_note_and_structured_content_is_not_repeated() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "[tools]\nmax_image_bytes = 100\n");
    with_everything(&env);
    env.start_daemon().await;
    wait_everything(&env).await;
    model.push(Reply::tool_call("c_img", "ev__get-tiny-image", json!({})));
    model.push(Reply::tool_call(
        "c_st",
        "ev__get-structured-content",
        json!({"location": "New York"}),
    ));
    model.push(Reply::text("done"));
    env.ok(&["new", "-d", "-n", "cap", "look"]).await;
    assert_eq!(env.wait_settled("cap").await, "idle");
    let reqs = model.wait_for_requests(3, T).await;
    let tool_text = |req: usize, id: &str| -> String {
        reqs[req]
            .messages()
            .iter()
            .find(|m| m["role"] == "tool" && m["tool_call_id"] == id)
            .and_then(|m| m["content"].as_str().map(String::from))
            .unwrap_or_else(|| panic!("no tool message {id}"))
    };
    let img = tool_text(1, "c_img");
    assert!(
        img.contains("[image: image/png,")
            && img.contains(
                "dropped: the media of one result may take at most 100 bytes ([tools] max_image_bytes)"
            ),
        "{img}"
    );
    assert!(
        !reqs[1].request_text().contains("image_url"),
        "no image sent"
    );
    let stored = result_of(&env, "cap", "c_img").await;
    assert!(stored.get("images").is_none(), "nothing kept: {stored}");

    let st = tool_text(2, "c_st");
    assert_eq!(
        st.matches("temperature").count(),
        1,
        "the text block already holds the structured content: {st}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_lists_and_reads_resources_and_hears_of_an_update() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    with_everything(&env);
    env.start_daemon().await;
    wait_everything(&env).await;
    let uri = "demo://resource/dynamic/text/1";
    model.push(Reply::tool_call(
        "c_ls",
        "mcp_resources",
        json!({"server": "ev"}),
    ));
    model.push(Reply::tool_call(
        "c_rd",
        "mcp_read_resource",
        json!({"server": "ev", "uri": uri}),
    ));
    model.push(Reply::tool_call(
        "c_bad",
        "mcp_read_resource",
        json!({"server": "nope", "uri": uri}),
    ));
    model.push(Reply::text("read"));
    env.ok(&["new", "-d", "-n", "res", "what resources are there?"])
        .await;
    assert_eq!(env.wait_settled("res").await, "idle");
    let reqs = model.wait_for_requests(4, T).await;
    let builtin: Vec<Value> = serde_json::from_str(&env.ok(&["tools", "--json"]).await).unwrap();
    assert!(
        !mentions(&builtin[0]["tools"], "mcp_resources"),
        "without a session, the builtins are the fixed ones: {}",
        builtin[0]
    );
    let offered: Vec<String> = reqs[0]
        .tools()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        offered.contains(&"mcp_resources".to_string())
            && offered.contains(&"mcp_read_resource".to_string()),
        "{offered:?}"
    );
    let listed = result_of(&env, "res", "c_ls").await;
    let listing: Value = serde_json::from_str(listed["output"].as_str().unwrap()).unwrap();
    assert_eq!(listing["server"], "ev");
    assert!(
        mentions(&listing["resources"], "demo://resource/static/document/"),
        "{listing}"
    );
    assert!(
        mentions(
            &listing["resourceTemplates"],
            "demo://resource/dynamic/text/{resourceId}"
        ),
        "{listing}"
    );
    let read = result_of(&env, "res", "c_rd").await;
    let text = read["output"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "[resource: {uri} (text/plain)]\nResource 1: This is a plaintext resource"
        )),
        "{text}"
    );
    assert_eq!(read["is_error"], false);
    let bad = result_of(&env, "res", "c_bad").await;
    assert_eq!(bad["is_error"], true);
    assert!(
        bad["output"]
            .as_str()
            .unwrap()
            .contains("servers with resources: ev"),
        "{bad}"
    );
    assert!(
        reqs[2]
            .request_text()
            .contains("Resource 1: This is a plaintext resource"),
        "the model read it"
    );

    // The read subscribed to the resource. The server sends an update every
    // 5 s once asked to; a call that lasts past the first one comes back with
    // the note, as the first result the session gets after the update.
    model.push(Reply::tool_call(
        "c_on",
        "ev__toggle-subscriber-updates",
        json!({}),
    ));
    model.push(Reply::tool_call(
        "c_long",
        "ev__trigger-long-running-operation",
        json!({"duration": 8, "steps": 2}),
    ));
    model.push(Reply::text("noted"));
    env.ok(&["send", "res", "watch it"]).await;
    assert_eq!(env.wait_settled("res").await, "idle");
    let long = result_of(&env, "res", "c_long").await;
    let out = long["output"].as_str().unwrap();
    assert!(
        out.contains(&format!(
            "[resource updated: {uri} of server \"ev\" changed since you read it; mcp_read_resource"
        )),
        "{out}"
    );
    let reqs = model.wait_for_requests(7, T).await;
    assert!(
        reqs[6].request_text().contains("[resource updated: "),
        "the model sees the note"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_are_listed_and_sent_with_their_arguments() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    with_everything(&env);
    env.start_daemon().await;
    wait_everything(&env).await;
    model.push(Reply::text("hello"));
    env.ok(&["new", "-d", "-n", "p", "hi"]).await;
    assert_eq!(env.wait_settled("p").await, "idle");

    for args in [&["prompts", "--json"][..], &["prompts", "p", "--json"]] {
        let list: Vec<Value> = serde_json::from_str(&env.ok(args).await).unwrap();
        let p = list
            .iter()
            .find(|p| p["server"] == "ev" && p["name"] == "args-prompt")
            .unwrap_or_else(|| panic!("no args-prompt: {list:?}"));
        assert_eq!(p["arguments"][0]["name"], "city", "{p}");
        assert_eq!(p["arguments"][0]["required"], true, "{p}");
        assert_eq!(p["arguments"][1]["required"], false, "{p}");
    }
    let table = env.ok(&["prompts"]).await;
    assert!(
        table.contains("args-prompt") && table.contains("city*,state"),
        "{table}"
    );

    model.push(Reply::text("sunny"));
    env.ok(&[
        "send",
        "p",
        "--prompt",
        "ev/args-prompt",
        "--arg",
        "city=Lyon",
    ])
    .await;
    assert_eq!(env.wait_settled("p").await, "idle");
    let users = env.events_of("p", "user_message").await;
    assert_eq!(users.last().unwrap()["text"], "What's weather in Lyon?");
    let reqs = model.wait_for_requests(2, T).await;
    assert_eq!(
        reqs[1].last_user_text().as_deref(),
        Some("What's weather in Lyon?")
    );

    let missing = env.run(&["send", "p", "--prompt", "ev/args-prompt"]).await;
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing
            .stderr
            .contains("prompt ev/args-prompt needs the argument city: give --arg city=VALUE"),
        "{missing:?}"
    );
    let unknown = env
        .run(&[
            "send",
            "p",
            "--prompt",
            "ev/args-prompt",
            "--arg",
            "city=A",
            "--arg",
            "zip=1",
        ])
        .await;
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("has no argument \"zip\""),
        "{unknown:?}"
    );
    let blob = env
        .run(&[
            "send",
            "p",
            "--prompt",
            "ev/resource-prompt",
            "--arg",
            "resourceType=Blob",
            "--arg",
            "resourceId=1",
        ])
        .await;
    assert_eq!(blob.code, 1, "{blob:?}");
    assert!(
        blob.stderr
            .contains("returns a binary resource, which a message sent with `send` cannot carry"),
        "{blob:?}"
    );
    let bad = env.run(&["send", "p", "--prompt", "args-prompt"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("give SERVER/PROMPT"), "{bad:?}");
    assert_eq!(
        env.events_of("p", "user_message").await.len(),
        2,
        "a failed expansion sends nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_audio_reaches_a_model_set_for_audio_and_is_a_note_for_others() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    let cfg = std::fs::read_to_string(env.config_dir.join("config.toml")).unwrap();
    env.write_config(&cfg.replace(
        "api_key_env = \"TETHER_TEST_KEY\"",
        "api_key_env = \"TETHER_TEST_KEY\"\naudio = true",
    ));
    std::fs::write(
        env.config_dir.join("tools.toml"),
        format!(
            "[servers.bad]\ncommand = \"python3\"\nargs = [\"{}\"]\nenv = {{ BAD_AUDIO = \"1\" }}\n",
            bad_server()
        ),
    )
    .unwrap();
    env.start_daemon().await;
    env.wait_until("server bad to be running", T, || async {
        let list: Vec<Value> =
            serde_json::from_str(&env.ok(&["tools", "--json"]).await).unwrap_or_default();
        list.iter()
            .any(|s| s["name"] == "bad" && s["status"] == "running")
    })
    .await;
    model.push(Reply::tool_call("c_au", "bad__image", json!({})));
    model.push(Reply::text("heard"));
    env.ok(&["new", "-d", "-n", "au", "listen"]).await;
    assert_eq!(env.wait_settled("au").await, "idle");
    let reqs = model.wait_for_requests(2, T).await;
    let msgs = reqs[1].messages();
    let at = msgs
        .iter()
        .position(|m| m["role"] == "tool" && m["tool_call_id"] == "c_au")
        .expect("the tool message");
    let carrier = msgs[at + 1]["content"].as_array().unwrap().clone();
    assert_eq!(
        carrier[0]["text"], "2 attachments returned by tool call c_au:",
        "{carrier:?}"
    );
    assert_eq!(carrier[1]["type"], "image_url", "{carrier:?}");
    assert_eq!(carrier[2]["type"], "input_audio", "{carrier:?}");
    assert_eq!(carrier[2]["input_audio"]["format"], "wav", "{carrier:?}");
    assert!(
        carrier[2]["input_audio"]["data"]
            .as_str()
            .unwrap()
            .starts_with("UklGR"),
        "{carrier:?}"
    );
    let stored = result_of(&env, "au", "c_au").await;
    assert_eq!(stored["images"][1]["mime_type"], "audio/wav", "{stored}");

    // Audio off again: the model gets a note instead of the clip.
    env.write_config(&cfg);
    model.push(Reply::text("no sound"));
    env.ok(&["send", "au", "again"]).await;
    assert_eq!(env.wait_settled("au").await, "idle");
    let reqs = model.wait_for_requests(3, T).await;
    let text = reqs[2].request_text();
    assert!(!text.contains("input_audio"), "{text:.400}");
    assert!(
        text.contains("[1 audio clip not shown: this model is set to take no audio"),
        "{text:.600}"
    );
}
