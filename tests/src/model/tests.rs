//! The scripted model's own tests: what a client sees on the wire.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

const WAIT: Duration = Duration::from_secs(10);

async fn post(server: &ModelServer, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", server.base_url()))
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .expect("request to the scripted model server failed")
}

fn chat_body(prompt: &str) -> Value {
    json!({
        "model": "gpt-test",
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": prompt}],
    })
}

/// Reads the body to its end (or a transport error) and returns the `data:` payloads.
async fn read_events(mut response: reqwest::Response) -> Vec<String> {
    let mut raw = Vec::new();
    while let Ok(Some(bytes)) = response.chunk().await {
        raw.extend_from_slice(&bytes);
    }
    let raw = String::from_utf8(raw).unwrap();
    raw.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| event.strip_prefix("data: ").unwrap().to_owned())
        .collect()
}

fn chunks(events: &[String]) -> Vec<Value> {
    events
        .iter()
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

fn content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

fn finish_reasons(chunks: &[Value]) -> Vec<String> {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn text_reply_streams_in_pieces_and_reassembles() {
    let server = ModelServer::start().await;
    server.push(Reply::text("hello streaming world"));

    let response = post(&server, chat_body("hi")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "SSE content type"
    );
    let events = read_events(response).await;
    let chunks = chunks(&events);

    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(content(&chunks), "hello streaming world");
    let content_chunks = chunks
        .iter()
        .filter(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        })
        .count();
    assert_eq!(content_chunks, 3, "one chunk per word");
    assert_eq!(finish_reasons(&chunks), ["stop"]);
    let usage = chunks.iter().find(|c| c.get("usage").is_some()).unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"]["total_tokens"].as_u64(),
        Some(
            usage["usage"]["prompt_tokens"].as_u64().unwrap()
                + usage["usage"]["completion_tokens"].as_u64().unwrap()
        )
    );
    assert!(chunks.iter().all(|c| c["model"] == "gpt-test"));
    assert_eq!(server.pending_replies(), 0);
}

#[tokio::test]
async fn empty_queue_answers_ok_and_requests_are_recorded() {
    let server = ModelServer::start().await;

    let events = read_events(post(&server, chat_body("first question")).await).await;
    assert_eq!(content(&chunks(&events)), "ok");

    let requests = server.wait_for_requests(1, WAIT).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.authorization().as_deref(), Some("Bearer sk-test"));
    assert_eq!(request.header("Content-Type"), Some("application/json"));
    assert_eq!(request.model().as_deref(), Some("gpt-test"));
    assert_eq!(request.messages()[0]["content"], "first question");
    assert!(request.request_text().contains("first question"));
    assert!(server.request_text().contains("first question"));
}

#[tokio::test]
async fn parallel_tool_call_arguments_split_mid_token_and_reassemble() {
    let server = ModelServer::start().await;
    let shell_args = json!({"command": "echo hi", "timeout_ms": 5000});
    let read_args = json!({"path": "/tmp/é.txt"});
    server.push(
        Reply::tool_calls(vec![
            ("call_1", "shell", shell_args.clone()),
            ("call_2", "read_file", read_args.clone()),
        ])
        .with_text_prefix("Let me check."),
    );

    let chunks = chunks(&read_events(post(&server, chat_body("go")).await).await);
    assert_eq!(content(&chunks), "Let me check.");
    assert_eq!(finish_reasons(&chunks), ["tool_calls"]);

    // index → (id, name, argument pieces), in stream order.
    let mut calls: BTreeMap<u64, (String, String, Vec<String>)> = BTreeMap::new();
    let mut index_order = Vec::new();
    for chunk in &chunks {
        let Some(deltas) = chunk["choices"][0]["delta"]["tool_calls"].as_array() else {
            continue;
        };
        for delta in deltas {
            let index = delta["index"].as_u64().unwrap();
            index_order.push(index);
            let entry = calls.entry(index).or_insert_with(|| {
                assert_eq!(delta["type"], "function", "first delta names the type");
                (
                    delta["id"].as_str().unwrap().to_owned(),
                    delta["function"]["name"].as_str().unwrap().to_owned(),
                    Vec::new(),
                )
            });
            let piece = delta["function"]["arguments"].as_str().unwrap();
            if !piece.is_empty() {
                entry.2.push(piece.to_owned());
            }
        }
    }

    let expected = [
        ("call_1", "shell", &shell_args),
        ("call_2", "read_file", &read_args),
    ];
    for (index, (id, name, args)) in expected.into_iter().enumerate() {
        let (got_id, got_name, pieces) = &calls[&(index as u64)];
        assert_eq!((got_id.as_str(), got_name.as_str()), (id, name));
        assert!(
            pieces.len() >= 3,
            "arguments split into several chunks: {pieces:?}"
        );
        assert!(
            pieces
                .iter()
                .any(|p| serde_json::from_str::<Value>(p).is_err()),
            "pieces are not whole JSON values"
        );
        let joined: String = pieces.concat();
        assert_eq!(&serde_json::from_str::<Value>(&joined).unwrap(), args);
    }
    assert!(
        index_order.windows(2).any(|w| w[0] > w[1]),
        "indexes interleave: {index_order:?}"
    );
}

#[tokio::test]
async fn rate_limit_carries_retry_after_and_keeps_the_request() {
    let server = ModelServer::start().await;
    server.push(Reply::status(429).retry_after(1));

    let response = post(&server, chat_body("limited")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");

    let requests = server.wait_for_requests(1, WAIT).await;
    assert_eq!(requests[0].messages()[0]["content"], "limited");
}

#[tokio::test]
async fn server_error_and_unknown_path() {
    let server = ModelServer::start().await;
    server.push(Reply::status(500).with_error_message("boom"));

    let response = post(&server, chat_body("x")).await;
    assert_eq!(response.status(), 500);
    assert!(response.headers().get("retry-after").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "boom");

    let response = reqwest::get(format!("{}/models", server.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/models")
    );
    assert_eq!(server.all_requests().len(), 2);
    assert_eq!(server.requests().len(), 1, "only chat requests count");
}

#[tokio::test]
async fn truncated_stream_ends_without_finish_or_done() {
    let server = ModelServer::start().await;
    server.push(Reply::truncated("partial text here"));

    let events = read_events(post(&server, chat_body("x")).await).await;
    assert!(!events.iter().any(|e| e == "[DONE]"), "{events:?}");
    let chunks = chunks(&events);
    assert!(finish_reasons(&chunks).is_empty());
    assert_eq!(content(&chunks), "partial text here");
}

#[tokio::test]
async fn slow_stream_trickles_and_an_interrupt_is_seen() {
    let server = ModelServer::start().await;
    server.push(Reply::text("never finished").slow(Duration::from_secs(3600)));

    let mut response = post(&server, chat_body("x")).await;
    let first = tokio::time::timeout(WAIT, response.chunk())
        .await
        .expect("first SSE event did not arrive")
        .unwrap()
        .unwrap();
    let first = String::from_utf8(first.to_vec()).unwrap();
    assert!(first.starts_with("data: "), "{first}");
    assert!(!first.contains("[DONE]"), "{first}");

    drop(response);
    assert_eq!(server.wait_for_disconnects(1, WAIT).await, 1);
}

#[tokio::test]
async fn hang_never_answers_until_dropped() {
    let server = ModelServer::start().await;
    server.push(Reply::hang());

    let pending = post(&server, chat_body("x"));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), pending)
            .await
            .is_err(),
        "a hung reply must not answer"
    );
    server.wait_for_requests(1, WAIT).await;
    server.wait_for_disconnects(1, WAIT).await;
}

#[tokio::test]
async fn non_streaming_request_gets_a_completion_object() {
    let server = ModelServer::start().await;
    server.push(Reply::tool_call(
        "call_9",
        "shell",
        json!({"command": "ls"}),
    ));

    let mut body = chat_body("x");
    body["stream"] = json!(false);
    let response: Value = post(&server, body).await.json().await.unwrap();
    assert_eq!(response["object"], "chat.completion");
    let call = &response["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "call_9");
    assert_eq!(call["function"]["arguments"], r#"{"command":"ls"}"#);
    assert_eq!(response["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn keep_alive_only_sends_nothing_that_advances_an_answer() {
    let server = ModelServer::start().await;
    server.push(Reply::keep_alive_only(Duration::from_millis(5)));

    let mut response = post(&server, chat_body("x")).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut raw = String::new();
    while raw.matches("\n\n").count() < 8 {
        let chunk = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("keep-alives keep coming")
            .unwrap()
            .unwrap();
        raw.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(raw.contains(": keep-alive"), "{raw}");
    for data in raw.lines().filter_map(|l| l.strip_prefix("data:")) {
        if data.trim().is_empty() {
            continue;
        }
        let chunk: Value = serde_json::from_str(data.trim()).unwrap();
        let delta = &chunk["choices"][0]["delta"];
        assert!(delta["content"].as_str().unwrap_or("").is_empty(), "{raw}");
        assert!(chunk["choices"][0]["finish_reason"].is_null(), "{raw}");
    }
    drop(response);
    server.wait_for_disconnects(1, WAIT).await;
}

#[tokio::test]
async fn ignoring_stream_answers_json_with_the_finish_reason_asked_for() {
    let server = ModelServer::start().await;
    server.push(
        Reply::text("cut")
            .with_finish_reason("length")
            .ignoring_stream(),
    );

    let response = post(&server, chat_body("x")).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "cut");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
#[should_panic(expected = "waiting for 1 model request(s); got 0 (0 on any path)")]
async fn waiting_for_a_request_that_never_comes_panics_with_a_message() {
    let server = ModelServer::start().await;
    server.wait_for_requests(1, Duration::from_millis(50)).await;
}

#[tokio::test]
async fn usage_is_streamed_only_when_asked_for_and_counts_the_prompt() {
    let server = ModelServer::start().await;
    let body = chat_body(&"x".repeat(400));
    let chunks_with = chunks(&read_events(post(&server, body.clone()).await).await);
    let usage = chunks_with
        .iter()
        .find(|c| c.get("usage").is_some())
        .unwrap();
    assert_eq!(
        usage["usage"]["prompt_tokens"].as_u64(),
        Some(count_tokens(&body))
    );
    assert_eq!(count_tokens(&body), 3 + 4 + 100);

    let mut without = body.clone();
    without.as_object_mut().unwrap().remove("stream_options");
    let chunks_without = chunks(&read_events(post(&server, without).await).await);
    assert!(
        chunks_without.iter().all(|c| c.get("usage").is_none()),
        "{chunks_without:?}"
    );
    assert_eq!(finish_reasons(&chunks_without), ["stop"]);

    let mut plain = body.clone();
    plain["stream"] = json!(false);
    let answer: Value = post(&server, plain.clone()).await.json().await.unwrap();
    assert_eq!(
        answer["usage"]["prompt_tokens"].as_u64(),
        Some(count_tokens(&plain))
    );

    // As llama-cpp-python: no usage in a stream, whatever the request asks.
    server.omit_stream_usage();
    let chunks_omitted = chunks(&read_events(post(&server, body).await).await);
    assert!(chunks_omitted.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(finish_reasons(&chunks_omitted), ["stop"]);
    let answer: Value = post(&server, plain).await.json().await.unwrap();
    assert!(answer["usage"]["prompt_tokens"].as_u64().is_some());
}

#[tokio::test]
async fn a_prompt_over_the_window_is_refused_as_openai_does_and_takes_no_reply() {
    let server = ModelServer::start().await;
    server.context_window(100);
    server.push(Reply::text("the scripted answer"));

    let big = chat_body(&"y".repeat(1000));
    let response = post(&server, big.clone()).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let tokens = count_tokens(&big);
    assert_eq!(tokens, 3 + 4 + 250);
    assert_eq!(
        body["error"]["message"],
        format!(
            "This model's maximum context length is 100 tokens. However, your messages \
             resulted in {tokens} tokens. Please reduce the length of the messages."
        )
    );
    assert_eq!(body["error"]["code"], "context_length_exceeded");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["param"], "messages");
    assert_eq!(server.overflows(), 1);
    assert_eq!(
        server.pending_replies(),
        1,
        "a refused request takes no reply"
    );

    // Exactly at the window is allowed.
    let fits = chat_body(&"z".repeat((100 - 7) * 4));
    assert_eq!(count_tokens(&fits), 100);
    let events = read_events(post(&server, fits).await).await;
    assert_eq!(content(&chunks(&events)), "the scripted answer");
    assert_eq!(server.overflows(), 1);
    let requests = server.wait_for_requests(2, WAIT).await;
    assert_eq!(requests[0].prompt_tokens(), tokens);
    assert_eq!(requests[1].prompt_tokens(), 100);
}

#[tokio::test]
async fn other_overflow_styles_and_the_silent_stream() {
    let server = ModelServer::start().await;
    server.context_window(10);
    server.overflow_style(Overflow::LlamaCpp);
    let response = post(&server, chat_body(&"a".repeat(100))).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "exceed_context_size_error");
    assert_eq!(body["error"]["n_ctx"], 10);
    assert_eq!(body["error"]["n_prompt_tokens"], 3 + 4 + 25);

    server.overflow_style(Overflow::SilentStream);
    let response = post(&server, chat_body(&"a".repeat(100))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = read_events(response).await;
    assert!(events.is_empty(), "no event at all: {events:?}");

    let mut plain = chat_body(&"a".repeat(100));
    plain["stream"] = json!(false);
    let response = post(&server, plain).await;
    assert_eq!(response.status(), 400, "not streamed: an error body");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "context_length_exceeded");
    assert_eq!(server.overflows(), 3);
}

#[tokio::test]
async fn summary_requests_get_the_remember_lines_ahead_of_the_queue() {
    let server = ModelServer::start().await;
    server.summarise_when(asks_for_summary);
    server.push(Reply::text("scripted"));

    let body = json!({
        "model": "m",
        "stream": true,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "REMEMBER alpha"},
            {"role": "assistant", "content": "noted"},
            {"role": "user", "content": "note\nREMEMBER beta\nmore"},
            {"role": "user", "content": "Summarise the conversation above."},
        ],
    });
    let text = content(&chunks(&read_events(post(&server, body).await).await));
    assert_eq!(
        text,
        format!("{SUMMARY_HEADING}\nREMEMBER alpha\nREMEMBER beta")
    );
    assert_eq!(server.summaries(), 1);
    assert_eq!(
        server.pending_replies(),
        1,
        "the summary took no scripted reply"
    );

    let events = read_events(post(&server, chat_body("go on")).await).await;
    assert_eq!(content(&chunks(&events)), "scripted");
    assert_eq!(server.summaries(), 1);
}

#[tokio::test]
async fn a_summary_request_over_the_window_is_refused_too() {
    let server = ModelServer::start().await;
    server.context_window(50);
    server.summarise_when(|r| r.system_text().contains("summariser"));
    let body = json!({
        "model": "m",
        "stream": true,
        "messages": [
            {"role": "system", "content": "you are a summariser"},
            {"role": "user", "content": "x".repeat(400)},
        ],
    });
    assert_eq!(post(&server, body).await.status(), 400);
    assert_eq!((server.overflows(), server.summaries()), (1, 0));
}
