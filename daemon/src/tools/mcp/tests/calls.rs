//! Listing and calling tools: answers, arguments, concurrency, timeouts and
//! cancellation, progress, result content and paging.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::support::*;
use crate::tools::mcp::{McpClient, McpError, ServerEvent};

#[tokio::test]
async fn everything_lists_tools_and_echoes() {
    let Some(spec) = everything(Duration::from_secs(20)) else {
        return;
    };
    let (client, mut rx) = connect(&spec).await;
    assert!(client.pid().is_some());

    let tools = client.list_tools().await.unwrap();
    let echo = tools
        .iter()
        .find(|t| t.name == "echo")
        .unwrap_or_else(|| panic!("no echo tool in {tools:?}"));
    assert!(!echo.description.is_empty());
    assert_eq!(echo.input_schema["type"], "object");
    assert!(echo.input_schema["properties"]["message"].is_object());

    let (text, is_error) = client
        .call_tool("echo", json!({"message": "hello there"}))
        .await
        .unwrap();
    assert_eq!(text, "Echo: hello there");
    assert!(!is_error);

    // server-everything registers more tools once initialized and says so.
    assert_eq!(
        next_event(&mut rx, "tools/list_changed after initialize").await,
        Some(ServerEvent::ToolsChanged)
    );
    client.shutdown().await;
}

#[tokio::test]
async fn bad_arguments_are_reported() {
    let Some(spec) = everything(Duration::from_secs(20)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    match client.call_tool("echo", json!({"wrong": 1})).await {
        Ok((text, is_error)) => {
            assert!(is_error, "expected isError, got {text:?}");
            assert!(text.contains("message"), "unclear error text: {text:?}");
        }
        Err(e) => assert!(matches!(e, McpError::Rpc { .. }), "unexpected error: {e}"),
    }
    let err = client
        .call_tool("echo", json!(["not", "an object"]))
        .await
        .unwrap_err();
    assert!(matches!(err, McpError::InvalidArguments { .. }));
    assert_eq!(
        err.to_string(),
        "invalid arguments for tool `echo` of server everything: expected a JSON object, got an array"
    );
    let err = client.call_tool("no-such-tool", json!({})).await;
    match err {
        Ok((_, is_error)) => assert!(is_error),
        Err(e) => assert!(e.to_string().contains("no-such-tool"), "{e}"),
    }
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_get_their_own_answers() {
    let Some(spec) = everything(Duration::from_secs(30)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    let client = Arc::new(client);
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for round in 0..5 {
                    let message = format!("caller {i} round {round}");
                    let (text, _) = client
                        .call_tool("echo", json!({ "message": message }))
                        .await
                        .unwrap();
                    answers.push((message, text));
                }
                answers
            })
        })
        .collect();
    for task in tasks {
        for (message, text) in task.await.unwrap() {
            assert_eq!(text, format!("Echo: {message}"));
        }
    }
    let client = Arc::into_inner(client).unwrap();
    client.shutdown().await;
}

#[tokio::test]
async fn a_slow_call_times_out_and_the_client_stays_usable() {
    let Some(spec) = everything(Duration::from_secs(1)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    // 30 s of work against a 1 s limit; the outer bound is far below 30 s, so
    // passing it means we did not wait for the server.
    let result = tokio::time::timeout(
        Duration::from_secs(15),
        client.call_tool(
            "trigger-long-running-operation",
            json!({"duration": 30, "steps": 30}),
        ),
    )
    .await
    .expect("the call did not time out by itself");
    let err = result.unwrap_err();
    assert_eq!(
        err,
        McpError::Timeout {
            server: "everything".to_string(),
            request: "tools/call `trigger-long-running-operation`".to_string(),
            timeout: Duration::from_secs(1),
        }
    );
    assert_eq!(
        err.to_string(),
        "server everything did not answer tools/call `trigger-long-running-operation` within 1s"
    );
    let (text, _) = client
        .call_tool("echo", json!({"message": "still here"}))
        .await
        .unwrap();
    assert_eq!(text, "Echo: still here");
    client.shutdown().await;
}

#[tokio::test]
async fn timeouts_and_dropped_calls_send_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cancelled.log");
    let log_str = log.to_string_lossy().to_string();
    let Some(spec) = bad_server(&[("BAD_CANCEL_LOG", &log_str)], Duration::from_secs(1)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();

    let err = client.call_tool("hang", json!({})).await.unwrap_err();
    assert!(matches!(err, McpError::Timeout { .. }), "{err}");
    wait_until("the server to log a cancellation after the timeout", || {
        read_log().lines().count() == 1
    })
    .await;

    // Drop a call once the server has it: that must cancel it too.
    let mut call = Box::pin(client.call_tool("hang", json!({})));
    let hanging = |c: &McpClient| {
        c.stderr_tail()
            .iter()
            .filter(|l| l.contains("will never be answered"))
            .count()
    };
    tokio::select! {
        result = &mut call => panic!("hang answered: {result:?}"),
        () = wait_until("the server to receive the second hang", || hanging(&client) == 2) => {}
    }
    drop(call);
    wait_until("the server to log a cancellation after the drop", || {
        read_log().lines().count() == 2
    })
    .await;
    let lines: Vec<String> = read_log().lines().map(str::to_string).collect();
    assert_ne!(
        lines[0], lines[1],
        "both cancellations name the same request"
    );

    let (text, is_error) = client
        .call_tool("echo", json!({"text": "ok"}))
        .await
        .unwrap();
    assert_eq!((text.as_str(), is_error), ("echo: ok", false));
    client.shutdown().await;
}

#[tokio::test]
async fn calls_with_progress_are_cancelled_too_and_get_their_progress() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cancelled.log");
    let log_str = log.to_string_lossy().to_string();
    let Some(spec) = bad_server(
        &[("BAD_CANCEL_LOG", &log_str), ("BAD_FLOOD", "1")],
        Duration::from_secs(1),
    ) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let (live, mut lines) = tokio::sync::mpsc::unbounded_channel();

    let err = client
        .call_tool_with_progress("hang", json!({}), Some(live.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, McpError::Timeout { .. }), "{err}");
    wait_until("a cancellation after the timeout", || {
        read_log().lines().count() == 1
    })
    .await;
    let mut call = Box::pin(client.call_tool_with_progress("hang", json!({}), Some(live.clone())));
    let hanging = |c: &McpClient| {
        c.stderr_tail()
            .iter()
            .filter(|l| l.contains("will never be answered"))
            .count()
    };
    tokio::select! {
        result = &mut call => panic!("hang answered: {result:?}"),
        () = wait_until("the second hang", || hanging(&client) == 2) => {}
    }
    drop(call);
    wait_until("a cancellation after the drop", || {
        read_log().lines().count() == 2
    })
    .await;

    let text = client
        .call_tool_with_progress(
            "flood",
            json!({"count": 3, "progress": 2, "interval": 0.05}),
            Some(live),
        )
        .await
        .unwrap();
    let text = super::super::content::convert_result("everything", &text, 1000).text;
    assert_eq!(text, "flooded 3 2");
    assert_eq!(
        drain(&mut lines).concat(),
        "[progress 1/2] step 1 of 2\n[progress 2/2] step 2 of 2\n"
    );
    client.shutdown().await;
}

/// The live output lines a call has sent so far.
fn drain(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> Vec<String> {
    std::iter::from_fn(|| lines.try_recv().ok()).collect()
}

/// rmcp hands each notification to the handler in a task of its own; behind
/// thousands of log notifications, progress 2 used to reach the rate limit
/// before progress 1, which was then dropped. It is routed in the order sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_behind_a_log_flood_reaches_its_call_in_order() {
    let Some(spec) = bad_server(&[("BAD_FLOOD", "1")], Duration::from_secs(30)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    for round in 0..5 {
        let (live, mut lines) = tokio::sync::mpsc::unbounded_channel();
        client
            .call_tool_with_progress(
                "flood",
                json!({"count": 5000, "progress": 40, "interval": 0}),
                Some(live),
            )
            .await
            .unwrap();
        let got = drain(&mut lines);
        assert!(
            got.first().map(String::as_str) == Some("[progress 1/40] step 1 of 40\n")
                && got.last().map(String::as_str) == Some("[progress 40/40] step 40 of 40\n"),
            "round {round}: {got:?}"
        );
        let steps: Vec<u32> = got
            .iter()
            .map(|l| {
                l["[progress ".len()..]
                    .split('/')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(steps.is_sorted(), "round {round}: {got:?}");
    }
    client.shutdown().await;
}

#[tokio::test]
async fn garbage_on_stdout_is_skipped() {
    let Some(spec) = bad_server(&[], Duration::from_secs(10)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    let (text, _) = client.call_tool("garbage", json!({})).await.unwrap();
    assert_eq!(text, "after garbage");
    let (text, _) = client
        .call_tool("echo", json!({"text": "x"}))
        .await
        .unwrap();
    assert_eq!(text, "echo: x");
    client.shutdown().await;
}

#[tokio::test]
async fn result_content_is_converted_to_text() {
    let Some(spec) = bad_server(&[], Duration::from_secs(10)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    let (text, is_error) = client.call_tool("image", json!({})).await.unwrap();
    assert!(!is_error);
    assert_eq!(text, "[image: image/png, 96 bytes base64]\nan image");
    let (text, _) = client.call_tool("structured", json!({})).await.unwrap();
    assert_eq!(text, "{\n  \"answer\": 42\n}");
    let (text, is_error) = client.call_tool("fail", json!({})).await.unwrap();
    assert_eq!((text.as_str(), is_error), ("it failed on purpose", true));
    let err = client.call_tool("echo", json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "server bad rejected tools/call `echo`: echo needs a string 'text' argument (error -32602)"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn tool_pages_are_followed() {
    let Some(spec) = bad_server(&[("BAD_PAGES", "3")], Duration::from_secs(10)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    let names: Vec<String> = client
        .list_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        [
            "echo",
            "hang",
            "slow",
            "fail",
            "garbage",
            "crash",
            "image",
            "structured"
        ]
    );
    client.shutdown().await;
}

#[tokio::test]
async fn list_changed_is_reported_and_the_new_list_is_fetched() {
    let Some(spec) = bad_server(
        &[("BAD_LIST_CHANGED_AFTER", "0.2")],
        Duration::from_secs(10),
    ) else {
        return;
    };
    let (client, mut rx) = connect(&spec).await;
    assert_eq!(
        next_event(&mut rx, "tools/list_changed").await,
        Some(ServerEvent::ToolsChanged)
    );
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "added_later"), "{tools:?}");
    client.shutdown().await;
}
