use super::*;

#[test]
fn assembles_text_and_split_parallel_tool_calls() {
    let mut acc = ChatAccumulator::default();
    let chunks = [
        json!({"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}),
        json!({"choices":[{"index":0,"delta":{"content":"lo"}}]}),
        json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"shell","arguments":"{\"comm"}}]}}]}),
        json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"read_file","arguments":""}}]}}]}),
        json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"and\":\"ls\"}"}}]}}]}),
        json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"path\":\"x\"}"}}]}}]}),
        json!({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}),
        json!({"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}),
    ];
    let mut text = String::new();
    for c in &chunks {
        if let Some(t) = acc.push(c).unwrap() {
            text.push_str(&t);
        }
    }
    assert_eq!(text, "Hello");
    let reply = acc.finish().unwrap();
    assert_eq!(reply.text, "Hello");
    assert_eq!(reply.finish_reason, "tool_calls");
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            ..Default::default()
        })
    );
    assert_eq!(reply.tool_calls.len(), 2);
    assert_eq!(reply.tool_calls[0].arguments, json!({"command": "ls"}));
    assert_eq!(reply.tool_calls[1].tool, "read_file");
    assert_eq!(reply.tool_calls[1].call_id, "b");
}

#[test]
fn stream_without_finish_reason_is_an_error() {
    let mut acc = ChatAccumulator::default();
    acc.push(&json!({"choices":[{"index":0,"delta":{"content":"cut"}}]}))
        .unwrap();
    let err = acc.finish().unwrap_err();
    assert!(err.retryable);
    assert!(err.message.contains("finish_reason"));
}

#[test]
fn error_chunk_is_an_error() {
    let mut acc = ChatAccumulator::default();
    assert!(
        acc.push(&json!({"error":{"message":"overloaded"}}))
            .is_err()
    );
}

#[test]
fn keep_alive_chunks_are_not_progress() {
    let mut acc = ChatAccumulator::default();
    acc.push(&json!({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}))
        .unwrap();
    acc.push(&json!({"choices":[]})).unwrap();
    acc.push(&json!({})).unwrap();
    assert_eq!(acc.progress, 0);
    acc.push(&json!({"choices":[{"index":0,"delta":{"content":"a"}}]}))
        .unwrap();
    assert_eq!(acc.progress, 1);
}

#[test]
fn a_non_streamed_completion_is_read_as_the_answer() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Let me look.",
            "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "read_file", "arguments": "{\"path\":\"a\"}"}}]}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    });
    let reply = completion_reply(body, &tx).unwrap();
    assert_eq!(reply.text, "Let me look.");
    assert_eq!(reply.finish_reason, "tool_calls");
    assert_eq!(reply.tool_calls[0].call_id, "c1");
    assert_eq!(reply.tool_calls[0].arguments, json!({"path": "a"}));
    assert_eq!(reply.usage.map(|u| u.completion_tokens), Some(4));
    assert_eq!(rx.try_recv().unwrap(), "Let me look.");

    let cut = json!({"choices": [{"index": 0, "finish_reason": "length",
        "message": {"role": "assistant", "content": "half"}}]});
    assert_eq!(completion_reply(cut, &tx).unwrap().finish_reason, "length");
    let bare = json!({"choices": [{"message": {"content": "hi"}}]});
    assert_eq!(completion_reply(bare, &tx).unwrap().finish_reason, "stop");
    assert!(completion_reply(json!({"object": "list"}), &tx).is_err());
    let err = completion_reply(json!({"error": {"message": "nope"}}), &tx).unwrap_err();
    assert!(err.message.contains("nope"), "{err}");
}

#[test]
fn streamed_reasoning_is_kept_under_the_field_it_came_in() {
    for field in ["reasoning_content", "reasoning"] {
        let mut acc = ChatAccumulator::default();
        for c in [
            json!({"choices":[{"index":0,"delta":{field: "Let me "}}]}),
            json!({"choices":[{"index":0,"delta":{field: "think."}}]}),
            json!({"choices":[{"index":0,"delta":{"content":"Done."},"finish_reason":"stop"}]}),
        ] {
            let before = acc.progress;
            acc.push(&c).unwrap();
            assert!(acc.progress > before, "reasoning is progress");
        }
        let reply = acc.finish().unwrap();
        assert_eq!(reply.text, "Done.");
        assert_eq!(
            reply.provider_items,
            [ProviderItem {
                kind: ProviderKind::OpenAi,
                item: json!({field: "Let me think."}),
            }]
        );
    }
    // Both fields with the same text (some vLLM versions): kept once.
    let mut acc = ChatAccumulator::default();
    acc.push(&json!({"choices":[{"index":0,"delta":{"reasoning_content":"x","reasoning":"x"},"finish_reason":"stop"}]}))
        .unwrap();
    let reply = acc.finish().unwrap();
    assert_eq!(reply.provider_items.len(), 1);
    assert_eq!(
        reply.provider_items[0].item,
        json!({"reasoning_content": "x"})
    );
}
