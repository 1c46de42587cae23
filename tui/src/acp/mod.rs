//! `tether acp`: an Agent Client Protocol agent on stdio (JSON-RPC 2.0, one
//! message per line, protocol version 1) for editors (Zed, JetBrains, Neovim
//! plugins), and a client of the daemon like any other: the sessions it opens
//! are ordinary tether sessions that the TUI and the CLI see and may act on at
//! the same time.
//!
//! This loop reads the client's lines and answers `initialize`; each session
//! (`session/new`, `session/load`) runs in a task of its own (`session.rs`) with
//! its own daemon connection, which gets the session's prompts and cancels.
//! `editor.rs` writes to the client and routes its answers to the requests made
//! of it; `wire.rs` holds ACP's messages, `convert.rs` turns what the client
//! gives into tether's terms and `updates.rs` / `tools.rs` tether's events into
//! ACP's `session/update`s.
//!
//! Nothing but protocol goes to stdout; errors that no request can carry go to
//! stderr, which editors keep in their logs.

mod convert;
mod editor;
mod session;
mod tools;
mod updates;
mod wire;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tether_shared::framing::{Frame, FrameReader};
use tokio::io::BufReader;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use editor::Editor;
use session::{Cmd, Open, Registered};
use wire::code;

/// The longest line read from the client (a prompt with embedded files).
const MAX_LINE: usize = 64 * 1024 * 1024;

/// One line from the client, read apart so that the loop's select stays
/// cancel-safe.
enum Input {
    Line(Vec<u8>),
    TooLong(usize),
}

async fn read_stdin(tx: mpsc::UnboundedSender<Input>) {
    let mut lines = FrameReader::new(BufReader::new(tokio::io::stdin()), MAX_LINE);
    loop {
        let input = match lines.next().await {
            Ok(Frame::Line(b)) => Input::Line(b),
            Ok(Frame::TooLong { len }) => Input::TooLong(len),
            Ok(Frame::Eof) | Err(_) => return,
        };
        if tx.send(input).is_err() {
            return;
        }
    }
}

/// What the client calls this agent.
fn initialize_result() -> wire::InitializeResult {
    wire::InitializeResult {
        protocol_version: wire::PROTOCOL_VERSION,
        agent_capabilities: wire::AgentCapabilities {
            load_session: true,
            prompt_capabilities: wire::PromptCapabilities {
                image: true,
                audio: false,
                embedded_context: true,
            },
            mcp_capabilities: wire::McpCapabilities {
                http: true,
                sse: false,
            },
        },
        agent_info: wire::Implementation {
            name: "tether".into(),
            title: "tether".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        auth_methods: Vec::new(),
    }
}

/// The agent's state: the sessions open, by every id the client may use.
struct Agent {
    socket: PathBuf,
    editor: Editor,
    sessions: HashMap<String, mpsc::UnboundedSender<Cmd>>,
    tasks: JoinSet<()>,
    register: mpsc::UnboundedSender<Registered>,
}

fn params<T: DeserializeOwned>(msg: &Value) -> Result<T, String> {
    let p = match msg.get("params") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(p) => p.clone(),
    };
    serde_json::from_value(p).map_err(|e| format!("invalid params: {e}"))
}

impl Agent {
    fn line(&mut self, bytes: &[u8]) {
        let msg: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.editor
                    .fail(&Value::Null, -32700, format!("not JSON: {e}"));
                return;
            }
        };
        let method = msg
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_string);
        let id = msg.get("id").cloned();
        match (method, id) {
            (Some(m), Some(id)) => self.request(&m, id, &msg),
            (Some(m), None) => self.notification(&m, &msg),
            (None, Some(id)) => {
                let answer = match msg.get("error") {
                    Some(e) => Err(e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("an error")
                        .to_string()),
                    None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
                };
                self.editor.answered(&id, answer);
            }
            (None, None) => {
                self.editor
                    .fail(&Value::Null, -32600, "not a JSON-RPC 2.0 message");
            }
        }
    }

    fn request(&mut self, method: &str, id: Value, msg: &Value) {
        match method {
            "initialize" => self.editor.respond(&id, initialize_result()),
            "authenticate" => self.editor.respond(&id, serde_json::json!({})),
            "session/new" => match params::<wire::NewSessionParams>(msg)
                .and_then(|p| convert::servers(&p.mcp_servers).map(|servers| (p.cwd, servers)))
            {
                Ok((cwd, servers)) => self.open(Open::New {
                    request: id,
                    cwd,
                    servers,
                }),
                Err(e) => self.editor.fail(&id, code::INVALID_PARAMS, e),
            },
            "session/load" => match params::<wire::LoadSessionParams>(msg) {
                Ok(p) => self.open(Open::Load {
                    request: id,
                    session: p.session_id,
                }),
                Err(e) => self.editor.fail(&id, code::INVALID_PARAMS, e),
            },
            "session/prompt" => match params::<wire::PromptParams>(msg) {
                Ok(p) => {
                    let text = convert::prompt_text(&p.prompt);
                    let cmd = Cmd::Prompt {
                        request: id.clone(),
                        text,
                    };
                    if !self.command(&p.session_id, cmd) {
                        self.editor.fail(
                            &id,
                            code::NOT_FOUND,
                            format!(
                                "no open session {:?}: session/new or session/load it first",
                                p.session_id
                            ),
                        );
                    }
                }
                Err(e) => self.editor.fail(&id, code::INVALID_PARAMS, e),
            },
            _ => self.editor.fail(
                &id,
                code::METHOD_NOT_FOUND,
                format!("tether acp does not support {method}"),
            ),
        }
    }

    fn notification(&mut self, method: &str, msg: &Value) {
        if method == "session/cancel"
            && let Ok(p) = params::<wire::CancelParams>(msg)
        {
            self.command(&p.session_id, Cmd::Cancel);
        }
        // Other notifications (`$/cancel_request` among them) may be ignored.
    }

    /// Sends a command to an open session; false when there is none by that id.
    fn command(&mut self, session: &str, cmd: Cmd) -> bool {
        match self.sessions.get(session) {
            Some(tx) if tx.send(cmd).is_ok() => true,
            Some(_) => {
                self.sessions.remove(session);
                false
            }
            None => false,
        }
    }

    fn open(&mut self, open: Open) {
        let task = session::run(
            open,
            self.socket.clone(),
            self.editor.clone(),
            self.register.clone(),
        );
        self.tasks.spawn(task);
    }
}

/// Serves the client on stdin/stdout until it closes stdin.
pub async fn run(socket: PathBuf) -> anyhow::Result<u8> {
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(editor::write_lines(out_rx));
    let (in_tx, mut input) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_stdin(in_tx));
    let (register, mut registered) = mpsc::unbounded_channel::<Registered>();
    let mut agent = Agent {
        socket,
        editor: Editor::new(out_tx),
        sessions: HashMap::new(),
        tasks: JoinSet::new(),
        register,
    };
    loop {
        tokio::select! {
            // First: a session registers before it answers the request that
            // opened it, so a prompt that follows the answer finds it.
            biased;
            Some(r) = registered.recv() => {
                for key in r.keys {
                    agent.sessions.insert(key, r.commands.clone());
                }
            }
            line = input.recv() => match line {
                Some(Input::Line(b)) => agent.line(&b),
                Some(Input::TooLong(len)) => agent.editor.fail(
                    &Value::Null,
                    -32600,
                    format!("a {len}-byte message exceeds the {MAX_LINE}-byte limit"),
                ),
                None => break,
            },
            Some(_) = agent.tasks.join_next(), if !agent.tasks.is_empty() => {}
        }
    }
    // The client is gone: the sessions go on in the daemon without it.
    agent.tasks.shutdown().await;
    reader.abort();
    drop(agent);
    writer.await??;
    Ok(0)
}
