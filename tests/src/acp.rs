//! An editor for `tether acp`: the real ACP client SDK from npm
//! (`@agentclientprotocol/sdk`, in `tests/fixtures/acp`), run by a small Node
//! driver (`driver.mjs`) that starts `tether acp` and takes commands on stdin.
//! [`AcpClient`] sends those commands and waits, with a timeout, for what the
//! driver reports: results, `session/update`s, permission requests.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::harness::{TestEnv, tether_bin};

/// How long any one wait lasts.
const WAIT: Duration = Duration::from_secs(20);

/// The ACP fixture directory, with the SDK installed (`npm ci` once, when
/// `node_modules` lacks it).
pub fn acp_fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join("acp");
        let sdk = dir.join("node_modules/@agentclientprotocol/sdk/package.json");
        if !sdk.exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .expect("run npm (Node.js and npm are needed for the ACP tests)");
            assert!(status.success(), "npm ci in {} failed", dir.display());
        }
        dir
    })
}

/// The driver, its lines, and everything it reported so far.
pub struct AcpClient {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every line reported, in order.
    pub seen: Vec<Value>,
    /// How many of `seen` a wait has looked at (each report is found once).
    read: usize,
}

impl AcpClient {
    /// Starts the driver (and so `tether acp`) in `env`'s environment.
    pub async fn start(env: &TestEnv) -> AcpClient {
        let dir = acp_fixtures();
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("driver.mjs"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", env.root.path())
            .env("TETHER_BIN", tether_bin())
            .env("TETHER_SOCKET", &env.socket)
            .env("TETHER_CONFIG_DIR", &env.config_dir)
            .env("TETHER_STATE_DIR", &env.state_dir)
            .current_dir(&env.work_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in &env.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .expect("run node (Node.js is needed for the ACP tests)");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        AcpClient {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            read: 0,
        }
    }

    /// Sends one command to the driver.
    pub async fn send(&mut self, command: Value) {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next report (after the last one a wait found) that matches `pred`.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            while self.read < self.seen.len() {
                let v = &self.seen[self.read];
                self.read += 1;
                if pred(v) {
                    return v.clone();
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("the driver printed {line:?}: {e}"));
                    self.seen.push(v);
                }
                Ok(Ok(None)) | Ok(Err(_)) => panic!(
                    "the ACP driver ended while waiting for {what}; it reported:\n{}",
                    self.transcript()
                ),
                Err(_) => panic!(
                    "timed out after {WAIT:?} waiting for {what}; the driver reported:\n{}",
                    self.transcript()
                ),
            }
        }
    }

    /// Everything reported, one line each, for failure messages.
    pub fn transcript(&self) -> String {
        self.seen
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Sends a request command and waits for its answer (`result` or `error`).
    pub async fn call(&mut self, op: &str, mut command: Value) -> Value {
        command["op"] = json!(op);
        self.send(command).await;
        self.wait_for(&format!("the answer to {op}"), |v| v["op"] == op)
            .await
    }

    /// `initialize`; its result.
    pub async fn initialize(&mut self) -> Value {
        let got = self.call("initialize", json!({})).await;
        assert!(got.get("error").is_none(), "initialize failed: {got}");
        got["result"].clone()
    }

    /// `session/new` in `cwd`; the session id.
    pub async fn new_session(&mut self, cwd: &Path, mcp_servers: Value) -> String {
        let got = self
            .call("new", json!({"cwd": cwd, "mcpServers": mcp_servers}))
            .await;
        got["result"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("session/new failed: {got}"))
            .to_string()
    }

    /// Sends `session/prompt` with one text block, tagged `tag`; its answer comes
    /// later ([`AcpClient::prompt_answer`]).
    pub async fn prompt(&mut self, tag: &str, session: &str, text: &str) {
        self.prompt_blocks(tag, session, json!([{"type": "text", "text": text}]))
            .await;
    }

    /// Sends `session/prompt` with these content blocks.
    pub async fn prompt_blocks(&mut self, tag: &str, session: &str, blocks: Value) {
        self.send(json!({"op": "prompt", "tag": tag, "sessionId": session, "prompt": blocks}))
            .await;
    }

    /// The answer to the prompt tagged `tag`.
    pub async fn prompt_answer(&mut self, tag: &str) -> Value {
        self.wait_for(&format!("the answer to prompt {tag}"), |v| {
            v["op"] == "prompt" && v["tag"] == tag
        })
        .await
    }

    /// The next permission request: its params and key.
    pub async fn permission(&mut self) -> (Value, u64) {
        let got = self
            .wait_for("a session/request_permission", |v| {
                v.get("permission").is_some()
            })
            .await;
        (got["permission"].clone(), got["key"].as_u64().unwrap())
    }

    /// Answers permission request `key` with option `option_id`.
    pub async fn choose(&mut self, key: u64, option_id: &str) {
        self.send(json!({
            "op": "answer",
            "key": key,
            "outcome": {"outcome": "selected", "optionId": option_id},
        }))
        .await;
    }

    /// Every `session/update`'s `update` reported so far.
    pub fn updates(&self) -> Vec<Value> {
        self.seen
            .iter()
            .filter_map(|v| v.get("update").map(|u| u["update"].clone()))
            .collect()
    }

    /// The text of the `kind` chunks (`agent_message_chunk`, ...) reported so far.
    pub fn chunks(&self, kind: &str) -> String {
        self.updates()
            .iter()
            .filter(|u| u["sessionUpdate"] == kind)
            .filter_map(|u| u["content"]["text"].as_str().map(str::to_string))
            .collect()
    }

    /// Ends the driver (and `tether acp` with it).
    pub async fn close(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(WAIT, self.child.wait()).await;
    }
}
