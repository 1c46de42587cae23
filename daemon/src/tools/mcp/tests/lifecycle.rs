//! A server's life: list changes, crashes, kills, shutdown, startup and its errors,
//! environment and working directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use tokio::sync::mpsc;

use super::support::*;
use crate::tools::mcp::{McpClient, McpError, ServerEvent, ServerSpec, Transport};

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
