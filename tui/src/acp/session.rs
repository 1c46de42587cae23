//! One ACP session: a task with its own connection to the daemon, attached to one
//! tether session. It creates or loads the session, forwards everything the
//! session does as `session/update`s (what other clients make it do included),
//! sends prompts as messages and answers each when its turn ends, and turns the
//! session's approvals into `session/request_permission` requests.
//!
//! Which turn is a prompt's: tether runs a session's inputs one turn after
//! another, and another client may have queued some first. `session.send` gives
//! the prompt's input id; every attached client is told the queue (`queued`)
//! before the agent takes an input, and a `user_message` is the taking of the
//! first queued input with its text and delivery. So the turn that starts with
//! the `user_message` that takes the prompt's input is the prompt's; it ends with
//! `turn_completed`, `turn_interrupted` or `turn_failed`.

use std::collections::HashMap;
use std::path::PathBuf;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use serde_json::{Value, json};
use tether_shared::event::{EventKind, FINISH_LENGTH, Live};
use tether_shared::protocol::{
    AlwaysAllow, AttachParams, CancelInputParams, CreateParams, DecideParams, LogsParams,
    NotificationMethod, QueuedInput, SendParams, ServerMessage, SessionInfo, SessionRef,
    SessionServer, code as daemon_code, method,
};
use tether_shared::{Delivery, Event};
use tokio::sync::mpsc;

use super::editor::{Answer, Editor};
use super::tools;
use super::updates::Mapper;
use super::wire::{
    ALLOW_ALWAYS, ALLOW_ONCE, NewSessionResult, PermissionAnswer, PermissionOption,
    PermissionOutcome, PermissionRequest, PromptResult, REJECT_ONCE, StopReason, ToolCallStatus,
    ToolCallUpdate, code,
};
use crate::client::{ClientError, LocalClient, connect_or_start};

/// How a session begins.
pub enum Open {
    /// `session/new`: create a tether session.
    New {
        /// The request to answer.
        request: Value,
        /// Its working directory.
        cwd: String,
        /// The client's MCP servers.
        servers: Vec<SessionServer>,
    },
    /// `session/load`: attach to a tether session and replay its history.
    Load {
        /// The request to answer.
        request: Value,
        /// Its id or name.
        session: String,
    },
}

impl Open {
    fn request(&self) -> &Value {
        match self {
            Open::New { request, .. } | Open::Load { request, .. } => request,
        }
    }
}

/// What the client asks of an open session.
#[derive(Debug)]
pub enum Cmd {
    /// `session/prompt`, its content already as text.
    Prompt {
        /// The request to answer when the turn ends.
        request: Value,
        /// The message.
        text: String,
    },
    /// `session/cancel`.
    Cancel,
}

/// A session ready for commands, under the ids the client may use for it.
pub struct Registered {
    /// The session's id, and the name or id `session/load` was given.
    pub keys: Vec<String>,
    /// Where its commands go.
    pub commands: mpsc::UnboundedSender<Cmd>,
}

/// Why something failed, for a JSON-RPC error to the client.
#[derive(Debug)]
struct Failure {
    code: i64,
    message: String,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let code = match &e {
            ClientError::Rpc(r) if r.code == daemon_code::SESSION_NOT_FOUND => code::NOT_FOUND,
            ClientError::Rpc(r) if r.code == daemon_code::BAD_ARGUMENT => code::INVALID_PARAMS,
            _ => code::INTERNAL,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure {
            code: code::INTERNAL,
            message: crate::errors::one_line(&e),
        }
    }
}

/// A prompt whose turn has not ended.
struct Prompt {
    request: Value,
    text: String,
    input_id: i64,
    /// A `queued` list held the input: its leaving without a `user_message`
    /// means another client cancelled it.
    seen_queued: bool,
    /// Its turn started.
    running: bool,
    /// The last answer was cut at the token limit.
    cut: bool,
    /// The last answer was stopped by the endpoint's content filter.
    refused: bool,
    /// `session/cancel` came: the answer is `cancelled`.
    cancelling: bool,
}

/// A permission request the client has not answered.
struct Ask {
    request_id: u64,
    /// The rule "allow always" adds, when one is offered.
    rule: Option<AlwaysAllow>,
}

type AnswerFuture = BoxFuture<'static, (String, u64, Answer)>;

struct Session {
    id: String,
    editor: Editor,
    socket: PathBuf,
    client: Option<LocalClient>,
    mapper: Mapper,
    last_seq: u64,
    /// The inputs waiting, as the daemon last said.
    queue: Vec<QueuedInput>,
    prompt: Option<Prompt>,
    /// By call id.
    asks: HashMap<String, Ask>,
    answers: FuturesUnordered<AnswerFuture>,
    /// Opening: the calls waiting are asked about once the client has the session.
    opening: bool,
}

/// What woke the session's loop.
enum Wake {
    Cmd(Option<Cmd>),
    Answer((String, u64, Answer)),
    Daemon(Result<Option<ServerMessage>, ClientError>),
}

async fn next_message(
    client: &mut Option<LocalClient>,
) -> Result<Option<ServerMessage>, ClientError> {
    match client {
        Some(c) => c.next_message().await,
        None => std::future::pending().await,
    }
}

/// Runs one session until the client goes away (its commands end) or the
/// session is killed.
pub async fn run(
    open: Open,
    socket: PathBuf,
    editor: Editor,
    register: mpsc::UnboundedSender<Registered>,
) {
    let request = open.request().clone();
    let is_new = matches!(open, Open::New { .. });
    let (mut session, keys, pending) = match Session::open(open, socket, editor.clone()).await {
        Ok(s) => s,
        Err(f) => {
            editor.fail(&request, f.code, f.message);
            return;
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    // Registered before the answer, so that a prompt sent on it finds the session.
    if register.send(Registered { keys, commands: tx }).is_err() {
        return;
    }
    if is_new {
        editor.respond(
            &request,
            NewSessionResult {
                session_id: session.id.clone(),
            },
        );
    } else {
        editor.respond(&request, json!({}));
    }
    session.opening = false;
    for call_id in pending {
        session.mapper.remember_old_text(&call_id);
        session.ask(&call_id);
    }
    session.serve(rx).await;
}

impl Session {
    /// Creates or finds the session, replays its log for a load, and attaches.
    /// Also the calls waiting for approval, to ask about once the client has
    /// the session.
    async fn open(
        open: Open,
        socket: PathBuf,
        editor: Editor,
    ) -> Result<(Session, Vec<String>, Vec<String>), Failure> {
        let mut client = connect_or_start(&socket).await?;
        let (info, keys, replay) = match open {
            Open::New { cwd, servers, .. } => {
                let params = CreateParams {
                    cwd,
                    mcp_servers: servers,
                    ..Default::default()
                };
                let info = client.call::<method::SessionCreate>(&params).await?;
                let keys = vec![info.id.clone()];
                (info, keys, false)
            }
            Open::Load { session, .. } => {
                let info = client
                    .call::<method::SessionGet>(&SessionRef {
                        session: session.clone(),
                    })
                    .await?;
                let mut keys = vec![info.id.clone()];
                if session != info.id {
                    keys.push(session);
                }
                (info, keys, true)
            }
        };
        let mut s = Session {
            id: info.id.clone(),
            editor,
            socket,
            client: None,
            mapper: Mapper::new(&info.cwd),
            last_seq: 0,
            queue: Vec::new(),
            prompt: None,
            asks: HashMap::new(),
            answers: FuturesUnordered::new(),
            opening: true,
        };
        if replay {
            s.replay(&mut client).await?;
        } else {
            s.last_seq = info.last_seq;
        }
        let info = s.attach(&mut client).await?;
        s.client = Some(client);
        Ok((s, keys, info.pending_approvals))
    }

    /// Sends the whole stored log as updates (`session/load`).
    async fn replay(&mut self, client: &mut LocalClient) -> Result<(), Failure> {
        loop {
            let page = client
                .call::<method::SessionLogs>(&LogsParams {
                    session: self.id.clone(),
                    since: Some(self.last_seq),
                    before: None,
                    limit: Some(1000),
                })
                .await?;
            for ev in &page.events {
                self.last_seq = ev.seq;
                let mut updates = self.mapper.event(&ev.kind, true);
                updates.extend(Mapper::turn_note(&ev.kind));
                self.editor.updates(&self.id, updates);
            }
            if !page.more || page.events.is_empty() {
                return Ok(());
            }
        }
    }

    /// Attaches from the last event seen: what came since is handled as live.
    async fn attach(&mut self, client: &mut LocalClient) -> Result<SessionInfo, Failure> {
        let got = client
            .call::<method::SessionAttach>(&AttachParams {
                session: self.id.clone(),
                from_seq: Some(self.last_seq),
                page_size: Some(10_000),
                read_only: false,
            })
            .await?;
        self.queue = got.queued;
        for ev in got.events {
            self.on_event(ev);
        }
        let partial = self.mapper.partial(&got.partial.assistant_text);
        self.editor.updates(&self.id, partial);
        Ok(got.info)
    }

    /// A connection to the daemon, reconnecting (and catching up) after one was lost.
    async fn connected(&mut self) -> Result<&mut LocalClient, Failure> {
        if self.client.is_none() {
            let mut client = connect_or_start(&self.socket).await?;
            self.attach(&mut client).await?;
            self.client = Some(client);
        }
        match self.client.as_mut() {
            Some(c) => Ok(c),
            None => Err(Failure {
                code: code::INTERNAL,
                message: "not connected to the daemon".into(),
            }),
        }
    }

    async fn serve(&mut self, mut commands: mpsc::UnboundedReceiver<Cmd>) {
        loop {
            let wake = tokio::select! {
                cmd = commands.recv() => Wake::Cmd(cmd),
                Some(a) = self.answers.next(), if !self.answers.is_empty() => Wake::Answer(a),
                m = next_message(&mut self.client) => Wake::Daemon(m),
            };
            match wake {
                Wake::Cmd(None) => return,
                Wake::Cmd(Some(Cmd::Prompt { request, text })) => self.prompt(request, text).await,
                Wake::Cmd(Some(Cmd::Cancel)) => self.cancel().await,
                Wake::Answer((call_id, request_id, answer)) => {
                    self.answer(&call_id, request_id, answer).await;
                }
                Wake::Daemon(Ok(Some(ServerMessage::Notification(n)))) => {
                    if let Some(Ok(p)) = method::SessionLive::params_of(&n) {
                        if p.session_id == self.id {
                            self.on_live(p.live);
                        }
                    } else if let Some(Ok(p)) = method::SessionClosed::params_of(&n) {
                        if p.session_id == self.id {
                            self.closed();
                            return;
                        }
                    } else if n.method == method::DAEMON_SHUTDOWN {
                        self.lost("the daemon stopped");
                    }
                }
                Wake::Daemon(Ok(Some(ServerMessage::Response(_)))) => {}
                Wake::Daemon(Ok(None)) => self.lost("the daemon closed the connection"),
                Wake::Daemon(Err(e)) => self.lost(&e.to_string()),
            }
        }
    }

    /// The session was killed: nothing more will come.
    fn closed(&mut self) {
        if let Some(p) = self.prompt.take() {
            self.editor.fail(
                &p.request,
                code::INTERNAL,
                "the session was killed (`tether kill`) during the turn",
            );
        }
        self.editor.updates(
            &self.id,
            vec![super::wire::SessionUpdate::agent(
                "\n\n[the session was killed]",
            )],
        );
    }

    /// The daemon connection is gone: the prompt waiting gets an error; the next
    /// prompt or answer reconnects.
    fn lost(&mut self, why: &str) {
        self.client = None;
        if let Some(p) = self.prompt.take() {
            self.editor.fail(
                &p.request,
                code::INTERNAL,
                format!(
                    "lost the connection to the daemon: {why}; the session goes on in the daemon, and the next prompt reconnects"
                ),
            );
        }
    }

    async fn prompt(&mut self, request: Value, text: String) {
        if self.prompt.is_some() {
            self.editor.fail(
                &request,
                code::INVALID_PARAMS,
                "a prompt of this session is still running: cancel it first",
            );
            return;
        }
        if text.trim().is_empty() {
            self.editor
                .fail(&request, code::INVALID_PARAMS, "the prompt is empty");
            return;
        }
        let params = SendParams {
            session: self.id.clone(),
            text: text.clone(),
            delivery: Delivery::Queue,
        };
        let sent = match self.connected().await {
            Ok(c) => c
                .call::<method::SessionSend>(&params)
                .await
                .map_err(Failure::from),
            Err(f) => Err(f),
        };
        match sent {
            Ok(r) => {
                self.prompt = Some(Prompt {
                    request,
                    text,
                    input_id: r.input_id,
                    seen_queued: false,
                    running: false,
                    cut: false,
                    refused: false,
                    cancelling: false,
                });
            }
            Err(f) => self.editor.fail(&request, f.code, f.message),
        }
    }

    async fn cancel(&mut self) {
        let Some(p) = self.prompt.as_mut() else {
            return;
        };
        p.cancelling = true;
        let (running, input_id) = (p.running, p.input_id);
        let id = self.id.clone();
        let client = match self.connected().await {
            Ok(c) => c,
            Err(f) => {
                if let Some(p) = self.prompt.take() {
                    self.editor.fail(&p.request, f.code, f.message);
                }
                return;
            }
        };
        if !running {
            let taken_back = client
                .call::<method::SessionCancelInput>(&CancelInputParams {
                    session: id.clone(),
                    input_id,
                })
                .await;
            if matches!(taken_back, Ok(ref r) if r.cancelled) {
                self.finish(StopReason::Cancelled);
                return;
            }
        }
        // Its turn started (or is starting): interrupting it ends it with
        // `turn_interrupted`, which answers the prompt.
        if let Err(e) = client
            .call::<method::SessionInterrupt>(&SessionRef { session: id })
            .await
        {
            eprintln!("tether acp: cannot interrupt the turn: {e}");
        }
    }

    fn finish(&mut self, reason: StopReason) {
        if let Some(p) = self.prompt.take() {
            let stop_reason = if p.cancelling {
                StopReason::Cancelled
            } else {
                reason
            };
            self.editor
                .respond(&p.request, PromptResult { stop_reason });
        }
    }

    fn on_live(&mut self, live: Live) {
        let updates = match live {
            Live::Event { event } => {
                self.on_event(event);
                return;
            }
            Live::AssistantDelta { text } => self.mapper.delta(&text),
            Live::AssistantReset => self.mapper.reset(),
            Live::ToolOutput { call_id, chunk } => self.mapper.tool_output(&call_id, &chunk),
            Live::Queued { inputs } => {
                self.queued(inputs);
                return;
            }
            Live::Unknown => return,
        };
        self.editor.updates(&self.id, updates);
    }

    fn queued(&mut self, inputs: Vec<QueuedInput>) {
        let mut gone = false;
        if let Some(p) = self.prompt.as_mut().filter(|p| !p.running) {
            if inputs.iter().any(|i| i.input_id == p.input_id) {
                p.seen_queued = true;
            } else if p.seen_queued {
                // Taken out of the queue without starting a turn: another
                // client cancelled it.
                gone = true;
            }
        }
        self.queue = inputs;
        if gone {
            self.finish(StopReason::Cancelled);
        }
    }

    fn on_event(&mut self, ev: Event) {
        if ev.seq <= self.last_seq {
            return;
        }
        self.last_seq = ev.seq;
        let kind = ev.kind;
        let running = self.prompt.as_ref().is_some_and(|p| p.running);
        match &kind {
            EventKind::UserMessage { text, delivery } => {
                let taken = self
                    .queue
                    .iter()
                    .position(|i| i.text == *text && i.delivery == *delivery)
                    .map(|at| self.queue.remove(at).input_id);
                if let Some(p) = self.prompt.as_mut().filter(|p| !p.running)
                    && (taken == Some(p.input_id) || (taken.is_none() && p.text == *text))
                {
                    // The prompt's turn: the client shows its message already.
                    p.running = true;
                    return;
                }
            }
            EventKind::AssistantMessage { finish_reason, .. } if running => {
                if let Some(p) = self.prompt.as_mut() {
                    p.cut = finish_reason.as_deref() == Some(FINISH_LENGTH);
                    p.refused = finish_reason.as_deref() == Some("content_filter");
                }
            }
            EventKind::ApprovalRequested { call_id, .. } => {
                self.mapper.remember_old_text(call_id);
                self.ask(call_id);
            }
            EventKind::ApprovalDecided { call_id, .. } | EventKind::ToolResult { call_id, .. } => {
                self.settled(call_id);
            }
            EventKind::TurnCompleted if running => {
                let reason = match self.prompt.as_ref() {
                    Some(p) if p.refused => StopReason::Refusal,
                    Some(p) if p.cut => StopReason::MaxTokens,
                    _ => StopReason::EndTurn,
                };
                self.finish(reason);
            }
            EventKind::TurnInterrupted { .. } if running => self.finish(StopReason::Cancelled),
            EventKind::TurnFailed { error } if running => {
                if let Some(p) = self.prompt.take() {
                    self.editor.fail(
                        &p.request,
                        code::INTERNAL,
                        format!("the turn failed: {error}"),
                    );
                }
            }
            EventKind::BudgetExhausted { .. } if running => {
                self.editor
                    .updates(&self.id, Mapper::turn_note(&kind).into_iter().collect());
                self.finish(StopReason::MaxTurnRequests);
            }
            EventKind::TurnInterrupted { .. }
            | EventKind::TurnFailed { .. }
            | EventKind::BudgetExhausted { .. } => {
                self.editor
                    .updates(&self.id, Mapper::turn_note(&kind).into_iter().collect());
            }
            _ => {}
        }
        let updates = self.mapper.event(&kind, false);
        self.editor.updates(&self.id, updates);
    }

    /// Asks the client about a call waiting for approval.
    fn ask(&mut self, call_id: &str) {
        if self.opening || self.asks.contains_key(call_id) {
            return;
        }
        let Some(call) = self.mapper.call(call_id).filter(|c| !c.done) else {
            return;
        };
        let cwd = self.mapper.cwd();
        let tool_call = ToolCallUpdate {
            tool_call_id: call_id.to_string(),
            title: Some(tools::title(&call.tool, &call.arguments)),
            kind: Some(tools::kind(&call.tool)),
            status: Some(ToolCallStatus::Pending),
            content: Some(tools::approval_content(
                &call.tool,
                &call.arguments,
                cwd,
                call.old_text.as_deref(),
            )),
            locations: Some(tools::locations(&call.tool, &call.arguments, cwd)),
            raw_input: Some(call.arguments.clone()),
            raw_output: None,
        };
        let always = tools::always_rule(&call.tool, &call.arguments);
        let mut options = vec![PermissionOption {
            option_id: ALLOW_ONCE.into(),
            name: "Allow once".into(),
            kind: "allow_once",
        }];
        if let Some((_, words)) = &always {
            options.push(PermissionOption {
                option_id: ALLOW_ALWAYS.into(),
                name: format!("Always allow {words} in this session"),
                kind: "allow_always",
            });
        }
        options.push(PermissionOption {
            option_id: REJECT_ONCE.into(),
            name: "Reject".into(),
            kind: "reject_once",
        });
        let (request_id, rx) = self.editor.request(
            "session/request_permission",
            PermissionRequest {
                session_id: self.id.clone(),
                tool_call,
                options,
            },
        );
        self.asks.insert(
            call_id.to_string(),
            Ask {
                request_id,
                rule: always.map(|(rule, _)| rule),
            },
        );
        let call_id = call_id.to_string();
        self.answers.push(Box::pin(async move {
            let answer = rx
                .await
                .unwrap_or_else(|_| Err("the client never answered".into()));
            (call_id, request_id, answer)
        }));
    }

    /// A call no longer waits (decided by another client, or ended): the
    /// client's request about it is withdrawn and its answer will be ignored.
    fn settled(&mut self, call_id: &str) {
        if let Some(ask) = self.asks.remove(call_id) {
            self.editor.withdraw(ask.request_id);
        }
    }

    /// The client answered a permission request.
    async fn answer(&mut self, call_id: &str, request_id: u64, answer: Answer) {
        let ask = match self.asks.get(call_id) {
            Some(a) if a.request_id == request_id => self.asks.remove(call_id),
            // Settled meanwhile (another client decided): a late answer decides nothing.
            _ => None,
        };
        let Some(ask) = ask else {
            return;
        };
        let chosen = match answer.map(serde_json::from_value::<PermissionAnswer>) {
            Ok(Ok(PermissionAnswer {
                outcome: PermissionOutcome::Selected { option_id },
            })) => option_id,
            // Cancelled, unreadable or an error: nothing is decided, and the
            // call waits for another client (or for the next load).
            _ => return,
        };
        let mut params = DecideParams {
            session: self.id.clone(),
            call_id: Some(call_id.to_string()),
            all: false,
            reason: None,
            always: None,
        };
        let approve = match chosen.as_str() {
            ALLOW_ONCE => true,
            ALLOW_ALWAYS => {
                params.always = ask.rule;
                true
            }
            REJECT_ONCE => false,
            _ => return,
        };
        let client = match self.connected().await {
            Ok(c) => c,
            Err(f) => {
                eprintln!("tether acp: cannot decide call {call_id}: {}", f.message);
                return;
            }
        };
        let decided = if approve {
            client.call::<method::SessionApprove>(&params).await
        } else {
            client.call::<method::SessionDeny>(&params).await
        };
        match decided {
            Ok(_) => {}
            // Decided or ended meanwhile: nothing to do.
            Err(ClientError::Rpc(e)) if e.code == daemon_code::NO_SUCH_APPROVAL => {}
            Err(e) => {
                let what = if approve { "approve" } else { "deny" };
                self.editor.updates(
                    &self.id,
                    vec![super::wire::SessionUpdate::agent(format!(
                        "\n\n[tether could not {what} the call: {e}]"
                    ))],
                );
            }
        }
    }
}
