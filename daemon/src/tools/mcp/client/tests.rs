//! Tests against real MCP servers: the npm reference servers in
//! `tests/fixtures/mcp/node_modules` and the fault-injecting `bad_server.py`.
//! The npm servers are installed on first use; a test is skipped, with a notice,
//! only when they cannot be (no npm).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde_json::json;
use tokio::sync::mpsc::{self, UnboundedReceiver};

use super::*;

/// Generous: the machine is small and busy, and node takes a while to start.
const WAIT: Duration = Duration::from_secs(20);

/// The fixture directory, with its npm servers installed (`npm ci` once per test
/// process when they are missing and npm is there), so `cargo test --workspace`
/// alone runs these tests on a fresh checkout.
fn fixtures() -> PathBuf {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mcp");
    INSTALLED.get_or_init(|| {
        if !dir.join("node_modules/.bin/mcp-server-everything").exists() {
            let ok = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!(
                    "npm ci in {} failed; tests that need its servers are skipped",
                    dir.display()
                );
            }
        }
    });
    dir
}

fn npm_server(bin: &str) -> Option<PathBuf> {
    let path = fixtures().join("node_modules/.bin").join(bin);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipping: {} is missing (run `npm ci` in tests/fixtures/mcp)",
            path.display()
        );
        None
    }
}

fn stdio_spec(
    name: &str,
    command: &str,
    args: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> ServerSpec {
    ServerSpec {
        name: name.to_string(),
        transport: Transport::Stdio {
            command: command.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cwd: None,
        },
        timeout,
    }
}

fn everything(timeout: Duration) -> Option<ServerSpec> {
    let bin = npm_server("mcp-server-everything")?;
    Some(stdio_spec(
        "everything",
        &bin.to_string_lossy(),
        &[],
        &[],
        timeout,
    ))
}

fn bad_server_path() -> Option<PathBuf> {
    let path = fixtures().join("bad_server.py");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} is missing", path.display());
        None
    }
}

fn bad_server(env: &[(&str, &str)], timeout: Duration) -> Option<ServerSpec> {
    let script = bad_server_path()?;
    Some(stdio_spec(
        "bad",
        "python3",
        &[&script.to_string_lossy()],
        env,
        timeout,
    ))
}

async fn connect(spec: &ServerSpec) -> (McpClient, UnboundedReceiver<ServerEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = McpClient::connect(spec, tx)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", spec.name));
    (client, rx)
}

/// The next event, or a panic naming what was awaited.
async fn next_event(rx: &mut UnboundedReceiver<ServerEvent>, what: &str) -> Option<ServerEvent> {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

/// Waits for `Closed`, skipping other events, and returns its error.
async fn closed_error(rx: &mut UnboundedReceiver<ServerEvent>) -> Option<String> {
    loop {
        match next_event(rx, "ServerEvent::Closed").await {
            Some(ServerEvent::Closed { error }) => return error,
            Some(ServerEvent::ToolsChanged) => {}
            None => panic!("event channel ended without Closed"),
        }
    }
}

/// All events until every sender is gone (the supervisor has finished).
async fn remaining_events(rx: &mut UnboundedReceiver<ServerEvent>) -> Vec<ServerEvent> {
    let mut events = Vec::new();
    while let Some(event) = next_event(rx, "the event channel to end").await {
        events.push(event);
    }
    events
}

/// Polls `condition` until it holds; panics naming `what` after [`WAIT`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pid_alive(pid: u32) -> bool {
    kill(Pid::from_raw(pid as i32), None).is_ok()
}

fn group_alive(pgid: u32) -> bool {
    killpg(Pid::from_raw(pgid as i32), None).is_ok()
}

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
        .unwrap()
        .text;
    assert_eq!(text, "flooded 3 2");
    let mut got = String::new();
    while let Ok(line) = lines.try_recv() {
        got.push_str(&line);
    }
    assert_eq!(
        got,
        "[progress 1/2] step 1 of 2\n[progress 2/2] step 2 of 2\n"
    );
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

#[tokio::test]
async fn a_crash_is_reported_once_with_the_exit_status_and_stderr() {
    let Some(spec) = bad_server(&[], Duration::from_secs(10)) else {
        return;
    };
    let (client, mut rx) = connect(&spec).await;
    let err = client.call_tool("crash", json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "server bad is not connected: its connection closed"
    );
    let error = closed_error(&mut rx).await.expect("a crash is an error");
    assert!(error.contains("exit status: 3"), "{error}");
    assert!(error.contains("crashing now"), "{error}");
    assert!(client.stderr_tail().iter().any(|l| l == "crashing now"));
    let more = remaining_events(&mut rx).await;
    assert!(
        !more.iter().any(|e| matches!(e, ServerEvent::Closed { .. })),
        "Closed sent twice: {more:?}"
    );
    let err = client
        .call_tool("echo", json!({"text": "x"}))
        .await
        .unwrap_err();
    assert!(matches!(err, McpError::Closed { .. }), "{err}");
    client.shutdown().await;
}

#[tokio::test]
async fn killing_the_server_reports_closed() {
    let Some(spec) = everything(Duration::from_secs(20)) else {
        return;
    };
    let (client, mut rx) = connect(&spec).await;
    let pid = client.pid().unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    let error = closed_error(&mut rx)
        .await
        .expect("being killed is an error");
    assert!(error.contains("SIGKILL"), "{error}");
    assert!(!pid_alive(pid));
    client.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_no_process_and_reports_nothing() {
    let Some(spec) = everything(Duration::from_secs(20)) else {
        return;
    };
    let (client, mut rx) = connect(&spec).await;
    let pid = client.pid().unwrap();
    assert!(pid_alive(pid));
    client.shutdown().await;
    assert!(!pid_alive(pid), "server {pid} still running after shutdown");
    wait_until("the server's process group to go", || !group_alive(pid)).await;
    let events = remaining_events(&mut rx).await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ServerEvent::Closed { .. })),
        "{events:?}"
    );
}

#[tokio::test]
async fn shutdown_kills_what_the_server_started_and_servers_that_linger() {
    let Some(script) = bad_server_path() else {
        return;
    };
    let script = script.to_string_lossy();
    // The server leaves a background process behind in its group...
    let orphaning = format!("sleep 1000 & exec python3 '{script}'");
    // ...or the group leader keeps running after stdin closes.
    let lingering = format!("python3 '{script}'; exec sleep 1000");
    for shell in [orphaning, lingering] {
        let spec = stdio_spec("shell", "sh", &["-c", &shell], &[], Duration::from_secs(10));
        let (client, _rx) = connect(&spec).await;
        let (text, _) = client
            .call_tool("echo", json!({"text": "hi"}))
            .await
            .unwrap();
        assert_eq!(text, "echo: hi");
        let pgid = client.pid().unwrap();
        client.shutdown().await;
        // A killed orphan is reaped by init, not by us: wait for that.
        wait_until(&format!("the process group of `{shell}` to go"), || {
            !group_alive(pgid)
        })
        .await;
    }
}

#[tokio::test]
async fn a_server_that_closes_its_output_but_stays_is_killed() {
    let Some(script) = bad_server_path() else {
        return;
    };
    // After the crash the shell keeps the group leader alive with stdout closed.
    let shell = format!("python3 '{}'; exec sleep 1000 >/dev/null", script.display());
    let spec = stdio_spec("stays", "sh", &["-c", &shell], &[], Duration::from_secs(10));
    let (client, mut rx) = connect(&spec).await;
    let pgid = client.pid().unwrap();
    client.call_tool("crash", json!({})).await.unwrap_err();
    assert_eq!(
        closed_error(&mut rx).await.as_deref(),
        Some("server closed its output but did not exit; it was killed")
    );
    wait_until("the server's process group to go", || !group_alive(pgid)).await;
    client.shutdown().await;
}

#[tokio::test]
async fn dropping_the_client_stops_the_server() {
    let Some(spec) = bad_server(&[], Duration::from_secs(10)) else {
        return;
    };
    let (client, mut rx) = connect(&spec).await;
    let pid = client.pid().unwrap();
    drop(client);
    let events = remaining_events(&mut rx).await;
    assert!(events.is_empty(), "{events:?}");
    wait_until("the server's process group to go", || !group_alive(pid)).await;
}

#[tokio::test]
async fn startup_may_take_longer_than_the_call_timeout() {
    let Some(spec) = bad_server(&[("BAD_STARTUP", "slow:1.5")], Duration::from_millis(500)) else {
        return;
    };
    let (client, _rx) = connect(&spec).await;
    let (text, _) = client
        .call_tool("echo", json!({"text": "late"}))
        .await
        .unwrap();
    assert_eq!(text, "echo: late");
    client.shutdown().await;
}

#[tokio::test]
async fn a_missing_command_is_named() {
    let spec = stdio_spec(
        "ghost",
        "no-such-mcp-server-xyz",
        &[],
        &[],
        Duration::from_secs(5),
    );
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = McpClient::connect(&spec, tx).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot start server ghost: command `no-such-mcp-server-xyz` not found"
    );
}

#[tokio::test]
async fn a_missing_working_directory_is_named() {
    let spec = ServerSpec {
        name: "lost".to_string(),
        transport: Transport::Stdio {
            command: "true".to_string(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: Some(PathBuf::from("/no/such/dir")),
        },
        timeout: Duration::from_secs(5),
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = McpClient::connect(&spec, tx).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot start server lost: working directory `/no/such/dir` does not exist"
    );
}

#[tokio::test]
async fn a_server_that_dies_at_startup_shows_its_stderr() {
    let Some(spec) = bad_server(&[("BAD_STARTUP", "fail")], Duration::from_secs(10)) else {
        return;
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = McpClient::connect(&spec, tx).await.unwrap_err();
    let McpError::Start { stderr, .. } = &err else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(stderr, &["startup failed: missing config".to_string()]);
    assert_eq!(
        err.to_string(),
        "cannot start server bad: the server exited during startup (exit status: 1); \
         stderr: startup failed: missing config"
    );
}

#[tokio::test]
async fn env_and_cwd_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let Some(script) = bad_server_path() else {
        return;
    };
    // BAD_TOOL_PREFIX comes from the spec's env; the relative script path
    // only resolves from the configured cwd.
    std::fs::copy(&script, dir.path().join("server.py")).unwrap();
    let spec = ServerSpec {
        name: "env".to_string(),
        transport: Transport::Stdio {
            command: "python3".to_string(),
            args: vec!["server.py".to_string()],
            env: BTreeMap::from([("BAD_TOOL_PREFIX".to_string(), "p_".to_string())]),
            cwd: Some(dir.path().to_path_buf()),
        },
        timeout: Duration::from_secs(10),
    };
    let (client, _rx) = connect(&spec).await;
    let (text, _) = client
        .call_tool("p_echo", json!({"text": "env"}))
        .await
        .unwrap();
    assert_eq!(text, "echo: env");
    client.shutdown().await;
}

/// server-everything's streamable HTTP mode, on a free port; killed on drop.
struct HttpServer {
    child: tokio::process::Child,
    url: String,
}

impl HttpServer {
    async fn start() -> Option<HttpServer> {
        let bin = npm_server("mcp-server-everything")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new(bin)
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "server-everything did not listen on port {port} within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(HttpServer {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        })
    }
}

#[tokio::test]
async fn streamable_http_lists_and_echoes() {
    let Some(mut server) = HttpServer::start().await else {
        return;
    };
    let spec = ServerSpec {
        name: "everything-http".to_string(),
        transport: Transport::Http {
            url: server.url.clone(),
            headers: BTreeMap::from([("X-Tether-Test".to_string(), "1".to_string())]),
        },
        timeout: Duration::from_secs(20),
    };
    let (client, _rx) = connect(&spec).await;
    assert_eq!(client.pid(), None);
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let (text, is_error) = client
        .call_tool("echo", json!({"message": "over http"}))
        .await
        .unwrap();
    assert_eq!((text.as_str(), is_error), ("Echo: over http", false));
    client.shutdown().await;
    server.child.kill().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_http_server_fails_clearly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let spec = ServerSpec {
        name: "nowhere".to_string(),
        transport: Transport::Http {
            url: url.clone(),
            headers: BTreeMap::new(),
        },
        timeout: Duration::from_secs(5),
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = McpClient::connect(&spec, tx).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot connect to server nowhere at {url}: ")),
        "{text}"
    );
    assert!(text.contains("Connection refused"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn reserved_http_headers_are_rejected() {
    let spec = ServerSpec {
        name: "h".to_string(),
        transport: Transport::Http {
            url: "http://127.0.0.1:1/mcp".to_string(),
            headers: BTreeMap::from([("Mcp-Session-Id".to_string(), "x".to_string())]),
        },
        timeout: Duration::from_secs(5),
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = McpClient::connect(&spec, tx).await.unwrap_err();
    assert!(matches!(err, McpError::InvalidConfig { .. }), "{err}");
}

#[test]
fn start_errors_show_the_last_stderr_lines_on_one_line() {
    let err = McpError::Start {
        server: "s".to_string(),
        reason: "boom".to_string(),
        stderr: (1..=8).map(|i| format!("line {i}")).collect(),
    };
    assert_eq!(
        err.to_string(),
        "cannot start server s: boom; stderr: line 4 | line 5 | line 6 | line 7 | line 8"
    );
}
