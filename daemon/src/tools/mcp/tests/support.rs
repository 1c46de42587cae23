//! Helpers of the MCP client tests: the fixture servers (installed on first use) and
//! bounded waits for events and processes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{kill, killpg};
use nix::unistd::Pid;
use tokio::sync::mpsc::{self, UnboundedReceiver};

use crate::tools::mcp::{McpClient, ServerEvent, ServerSpec, Transport};

/// Generous: the machine is small and busy, and node takes a while to start.
pub(super) const WAIT: Duration = Duration::from_secs(20);

/// The fixture directory, with its npm servers installed (`npm ci` once per test
/// process when they are missing and npm is there), so `cargo test --workspace`
/// alone runs these tests on a fresh checkout.
pub(super) fn fixtures() -> PathBuf {
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

pub(super) fn npm_server(bin: &str) -> Option<PathBuf> {
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

pub(super) fn stdio_spec(
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

pub(super) fn everything(timeout: Duration) -> Option<ServerSpec> {
    let bin = npm_server("mcp-server-everything")?;
    Some(stdio_spec(
        "everything",
        &bin.to_string_lossy(),
        &[],
        &[],
        timeout,
    ))
}

pub(super) fn bad_server_path() -> Option<PathBuf> {
    let path = fixtures().join("bad_server.py");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} is missing", path.display());
        None
    }
}

pub(super) fn bad_server(env: &[(&str, &str)], timeout: Duration) -> Option<ServerSpec> {
    let script = bad_server_path()?;
    Some(stdio_spec(
        "bad",
        "python3",
        &[&script.to_string_lossy()],
        env,
        timeout,
    ))
}

pub(super) async fn connect(spec: &ServerSpec) -> (McpClient, UnboundedReceiver<ServerEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = McpClient::connect(spec, tx)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", spec.name));
    (client, rx)
}

/// The next event, or a panic naming what was awaited.
pub(super) async fn next_event(
    rx: &mut UnboundedReceiver<ServerEvent>,
    what: &str,
) -> Option<ServerEvent> {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

/// Waits for `Closed`, skipping other events, and returns its error.
pub(super) async fn closed_error(rx: &mut UnboundedReceiver<ServerEvent>) -> Option<String> {
    loop {
        match next_event(rx, "ServerEvent::Closed").await {
            Some(ServerEvent::Closed { error }) => return error,
            Some(_) => {}
            None => panic!("event channel ended without Closed"),
        }
    }
}

/// All events until every sender is gone (the supervisor has finished).
pub(super) async fn remaining_events(rx: &mut UnboundedReceiver<ServerEvent>) -> Vec<ServerEvent> {
    let mut events = Vec::new();
    while let Some(event) = next_event(rx, "the event channel to end").await {
        events.push(event);
    }
    events
}

/// Polls `condition` until it holds; panics naming `what` after [`WAIT`].
pub(super) async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(super) fn pid_alive(pid: u32) -> bool {
    kill(Pid::from_raw(pid as i32), None).is_ok()
}

pub(super) fn group_alive(pgid: u32) -> bool {
    killpg(Pid::from_raw(pgid as i32), None).is_ok()
}
