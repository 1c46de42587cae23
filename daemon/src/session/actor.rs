//! The session actor: runs turns (model ↔ tools), takes inputs, approvals and
//! interrupts, and persists every event before publishing it.
//!
//! The actor does no slow I/O itself: model calls and tool calls run as worker
//! tasks (spawned in `workers`) that report back on `work_rx`, tagged with the
//! turn's generation so a report from an interrupted turn is recognised and
//! dropped. Callers reach it through the handle in `handle`; a restart resumes
//! its cut-short turn through `recover`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tether_shared::protocol::{PartialState, RpcError, SendResult, SessionInfo, code};
use tether_shared::{Decision, Delivery, Event, EventKind, Live, SessionState, Usage};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, info_span, warn};

use super::context;
use super::handle::{Command, SessionHandle, Subscription};
use super::machine::{self, CallStatus, Step, StepCall};
use super::workers::Work;
use crate::config::{ConfigSource, Policy};
use crate::model::{self, Message, ModelReply, ModelRequest, Progress};
use crate::store::{Batch, KeyRecord, QueuedInput, SessionRow, Store};
use crate::tools::{ToolChange, ToolManager, ToolOutput};
use crate::util::now_rfc3339;

/// Live messages buffered per session for attached clients. A client that falls
/// further behind is caught up from the store (it lags, it is not fed a gap).
const LIVE_CAPACITY: usize = 4096;

/// Daemon-wide things every session uses.
pub struct SessionShared {
    /// The store.
    pub store: Arc<dyn Store>,
    /// `config.toml`.
    pub config: Arc<ConfigSource>,
    /// The tools.
    pub tools: Arc<ToolManager>,
    /// The HTTP client for model calls.
    pub http: reqwest::Client,
    /// Tracks every task, for a bounded shutdown.
    pub tracker: TaskTracker,
    /// Bumped whenever any session's summary changes, or one is created or
    /// killed. A watch: list viewers want "something changed", not each change.
    pub sessions_changed: tokio::sync::watch::Sender<u64>,
}

pub(super) enum Phase {
    Model,
    Tools(Step),
}

pub(super) struct Turn {
    pub(super) generation: u64,
    pub(super) cancel: CancellationToken,
    pub(super) phase: Phase,
}

pub(super) struct SessionActor {
    pub(super) row: SessionRow,
    pub(super) shared: Arc<SessionShared>,
    pub(super) state: SessionState,
    pub(super) last_error: Option<String>,
    inputs: VecDeque<QueuedInput>,
    pub(super) turn: Option<Turn>,
    pub(super) next_generation: u64,
    conversation: Option<Vec<Arc<Message>>>,
    partial_text: String,
    clients: usize,
    // Created at the first subscribe: the channel's slots are allocated up front,
    // and an idle session nobody watches should not pay for them.
    live: Option<broadcast::Sender<Live>>,
    status: watch::Sender<SessionInfo>,
    pub(super) work_tx: mpsc::UnboundedSender<Work>,
    pub(super) cancel: CancellationToken,
    /// What a failed store write left to do (see `storefail`).
    pub(super) store_debt: super::storefail::StoreDebt,
}

/// The approval policy of each call. Deciding may resolve paths on disk (the built-in
/// rule holds only inside the session directory), so it runs on the blocking pool; if
/// that fails, every call asks, the safe reading.
async fn decide_policies(
    config: Arc<crate::config::Config>,
    calls: &[tether_shared::event::ToolCallSpec],
    cwd: &str,
) -> Vec<Policy> {
    let calls: Vec<(String, Value)> = calls
        .iter()
        .map(|c| (c.tool.clone(), c.arguments.clone()))
        .collect();
    let n = calls.len();
    let cwd = std::path::PathBuf::from(cwd);
    tokio::task::spawn_blocking(move || {
        calls
            .iter()
            .map(|(tool, args)| config.approvals.decide(tool, args, &cwd))
            .collect()
    })
    .await
    .unwrap_or_else(|_| vec![Policy::Ask; n])
}

/// The first summary, true before the actor has run: a `wait` that arrives
/// before the actor's first publish must see the restored state, not `idle`.
fn status_channel(
    row: &SessionRow,
    state: SessionState,
    queued_inputs: usize,
    pending_approvals: Vec<String>,
) -> (watch::Sender<SessionInfo>, watch::Receiver<SessionInfo>) {
    watch::channel(summary(
        row,
        state,
        pending_approvals,
        queued_inputs,
        0,
        None,
    ))
}

/// A session's summary from its row and what the actor knows; the error is shown
/// only while the session is `failed`.
pub fn summary(
    row: &SessionRow,
    state: SessionState,
    pending_approvals: Vec<String>,
    queued_inputs: usize,
    attached_clients: usize,
    last_error: Option<&String>,
) -> SessionInfo {
    SessionInfo {
        id: row.id.clone(),
        name: row.name.clone(),
        state,
        model: row.model.clone(),
        cwd: row.cwd.clone(),
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        pending_approvals,
        queued_inputs,
        attached_clients,
        last_seq: row.last_seq,
        usage: row.usage,
        instructions: row.instructions.clone(),
        last_error: last_error
            .filter(|_| state == SessionState::Failed)
            .cloned(),
    }
}

/// Starts the actor of a session just created (its row and first events stored).
/// `inputs` were stored with the row (a first message); the actor takes them.
pub fn spawn_new(
    row: SessionRow,
    shared: Arc<SessionShared>,
    cancel: CancellationToken,
    inputs: Vec<QueuedInput>,
) -> SessionHandle {
    spawn(row, shared, cancel, SessionState::Idle, inputs, None)
}

/// Starts the actor of a new or restored session and returns its handle; a
/// `recovered` turn is dealt with before the actor takes commands.
pub(super) fn spawn(
    row: SessionRow,
    shared: Arc<SessionShared>,
    cancel: CancellationToken,
    state: SessionState,
    inputs: Vec<QueuedInput>,
    recovered: Option<(machine::Recovered, Option<String>)>,
) -> SessionHandle {
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (work_tx, work_rx) = mpsc::unbounded_channel();
    let (first_state, pending) = match recovered.as_ref().and_then(|(r, _)| r.open_turn.as_ref()) {
        // A turn a restart cut short is about to be recovered: not settled yet.
        Some(open) => (SessionState::Running, open.step.pending()),
        None => (state, Vec::new()),
    };
    let (status, status_rx) = status_channel(&row, first_state, inputs.len(), pending);
    let handle = SessionHandle::new(row.id.clone(), row.name.clone(), cmd_tx, status_rx);
    let span = info_span!("session", session = %row.name);
    let mut actor = SessionActor {
        row,
        shared: shared.clone(),
        state,
        last_error: recovered.as_ref().and_then(|(_, e)| e.clone()),
        inputs: inputs.into(),
        turn: None,
        next_generation: 1,
        conversation: None,
        partial_text: String::new(),
        clients: 0,
        live: None,
        status,
        work_tx,
        cancel,
        store_debt: Default::default(),
    };
    // Subscribed before the task starts, so a tool change announced while the
    // session is being set up (a broken .mcp.json, say) is not missed.
    let changes = shared.tools.subscribe();
    shared.tracker.spawn(
        async move {
            if let Some((rec, _)) = recovered {
                actor.recover(rec).await;
            }
            actor.publish_status();
            actor.report_tool_failures();
            actor.start_turn_if_idle().await;
            actor.run(cmd_rx, work_rx, changes).await;
        }
        .instrument(span),
    );
    handle
}

impl SessionActor {
    async fn run(
        mut self,
        mut cmd_rx: mpsc::Receiver<Command>,
        mut work_rx: mpsc::UnboundedReceiver<Work>,
        mut changes: broadcast::Receiver<ToolChange>,
    ) {
        let mut changes_open = true;
        loop {
            tokio::select! {
                change = changes.recv(), if changes_open => match change {
                    Ok(change) => self.tools_changed(change).await,
                    // Missed changes are visible at the next model call anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => changes_open = false,
                },
                cmd = cmd_rx.recv() => match cmd {
                    Some(Command::Stop { reply }) => {
                        self.stop().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(cmd) => self.command(cmd).await,
                    None => {
                        self.stop().await;
                        return;
                    }
                },
                                Some(work) = work_rx.recv() => {
                    // Results of parallel tool calls often arrive together: store
                    // them in one transaction instead of one commit each.
                    let mut done = Vec::new();
                    let mut next = Some(work);
                    while let Some(w) = next.take() {
                        match w {
                            Work::ToolDone { generation, call_id, tool, output } if self.current(generation) => {
                                done.push((call_id, tool, output));
                                if done.len() < 512 {
                                    next = work_rx.try_recv().ok();
                                }
                            }
                            other => {
                                if !done.is_empty() {
                                    self.tools_done(std::mem::take(&mut done)).await;
                                }
                                                                self.work(other).await;
                                break;
                            }
                        }
                    }
                    if !done.is_empty() {
                        self.tools_done(done).await;
                    }
                }
                _ = tokio::time::sleep_until(self.store_debt.retry_at()), if self.store_debt.retrying() => {
                    self.retry_store().await;
                }
                _ = self.cancel.cancelled() => {
                    self.stop().await;
                    return;
                }
            }
        }
    }

    /// Records a change of the tools this session sees.
    async fn tools_changed(&mut self, change: ToolChange) {
        if !change
            .scope
            .covers(&self.row.id, std::path::Path::new(&self.row.cwd))
        {
            return;
        }
        info!(
            added = change.added.len(),
            removed = change.removed.len(),
            errors = change.errors.len(),
            fixed = change.fixed.len(),
            "tools changed"
        );
        let kind = EventKind::ToolsChanged {
            added: change.added,
            removed: change.removed,
            errors: change.errors,
            fixed: change.fixed,
        };
        self.persist(vec![kind], vec![], None).await;
    }

    fn info(&self) -> SessionInfo {
        let pending = match &self.turn {
            Some(Turn {
                phase: Phase::Tools(step),
                ..
            }) => step.pending(),
            _ => Vec::new(),
        };
        summary(
            &self.row,
            self.state,
            pending,
            self.inputs.len(),
            self.clients,
            self.last_error.as_ref(),
        )
    }

    /// Sends to attached clients; dropping the channel when nobody listens any more.
    fn publish(&mut self, live: Live) {
        if let Some(tx) = &self.live
            && tx.send(live).is_err()
        {
            self.live = None;
        }
    }

    pub(super) fn publish_status(&self) {
        let info = self.info();
        let changed = self.status.send_if_modified(|old| {
            if *old == info {
                false
            } else {
                *old = info;
                true
            }
        });
        if changed {
            self.shared
                .sessions_changed
                .send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Persists events (numbering them), then applies and publishes them.
    pub(super) async fn persist(
        &mut self,
        kinds: Vec<EventKind>,
        consume: Vec<i64>,
        usage: Option<Usage>,
    ) -> bool {
        // A turn the store failed is recorded as failed before anything else.
        let kinds = self.store_debt.owed_first(kinds);
        if kinds.is_empty() {
            return true;
        }
        let ts = now_rfc3339();
        let first = self.row.last_seq + 1;
        let events: Vec<Event> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Event {
                seq: first + i as u64,
                ts: ts.clone(),
                kind,
            })
            .collect();
        let batch = Batch {
            events: events.clone(),
            consume_inputs: consume,
            usage,
        };
        if let Err(e) = self.shared.store.append(&self.row.id, batch).await {
            warn!(error = %e, "failed to persist events; failing the turn");
            self.fail_without_store(format!("the store failed: {e}"));
            return false;
        }
        self.store_debt.paid();
        self.row.last_seq = first + events.len() as u64 - 1;
        self.row.updated_at = ts;
        if let Some(u) = usage {
            self.row.usage.prompt_tokens += u.prompt_tokens;
            self.row.usage.completion_tokens += u.completion_tokens;
        }
        for ev in events {
            if let EventKind::State { state } = ev.kind {
                self.state = state;
            }
            if let Some(conv) = self.conversation.as_mut() {
                context::apply(conv, &ev.kind);
            }
            // No receivers is fine: nobody is attached.
            self.publish(Live::Event { event: ev });
        }
        self.publish_status();
        true
    }

    pub(super) fn state_change(&self, to: SessionState, kinds: &mut Vec<EventKind>) {
        let current = kinds
            .iter()
            .rev()
            .find_map(|k| match k {
                EventKind::State { state } => Some(*state),
                _ => None,
            })
            .unwrap_or(self.state);
        if current != to {
            kinds.push(EventKind::State { state: to });
        }
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Send {
                text,
                delivery,
                key,
                reply,
            } => {
                let r = self.take_input(text, delivery, key).await;
                let _ = reply.send(r);
            }
            Command::Interrupt { reply } => {
                let was = self.turn.is_some();
                if was {
                    self.interrupt("interrupted by the user").await;
                    self.start_turn_if_idle().await;
                }
                let _ = reply.send(was);
            }
            Command::Decide {
                call_id,
                all,
                decision,
                reason,
                reply,
            } => {
                let r = self.decide(call_id, all, decision, reason).await;
                let _ = reply.send(r);
            }
            Command::Subscribe { reply } => {
                let _ = reply.send(Subscription {
                    live: self
                        .live
                        .get_or_insert_with(|| broadcast::channel(LIVE_CAPACITY).0)
                        .subscribe(),
                    last_seq: self.row.last_seq,
                    partial: PartialState {
                        assistant_text: self.partial_text.clone(),
                    },
                    info: self.info(),
                });
            }
            Command::Clients { delta } => {
                self.clients = self.clients.saturating_add_signed(delta);
                self.publish_status();
            }
            Command::Stop { .. } => {}
        }
    }

    async fn take_input(
        &mut self,
        text: String,
        delivery: Delivery,
        key: Option<KeyRecord>,
    ) -> Result<SendResult, RpcError> {
        // What a retry is answered with should the daemon die before the final
        // result is stored: the state this input is about to put the session in.
        let key = key.map(|mut k| {
            let state = if self.turn.is_none() || delivery == Delivery::Interrupt {
                SessionState::Running
            } else {
                self.state
            };
            k.result = serde_json::to_value(SendResult { input_id: 0, state }).unwrap_or_default();
            k
        });
        let id = self
            .shared
            .store
            .add_input_keyed(&self.row.id, &text, delivery, key)
            .await
            .map_err(|e| {
                RpcError::new(code::STORAGE, format!("could not store the message: {e}"))
            })?;
        let input = QueuedInput { id, text, delivery };
        info!(input = id, delivery = delivery.as_str(), "input stored");
        match delivery {
            Delivery::Interrupt => {
                self.inputs.push_front(input);
                if self.turn.is_some() {
                    self.interrupt("interrupted by a new message").await;
                }
            }
            Delivery::Queue | Delivery::Steer | Delivery::Unknown => self.inputs.push_back(input),
        }
        self.publish_status();
        self.start_turn_if_idle().await;
        Ok(SendResult {
            input_id: id,
            state: self.state,
        })
    }

    pub(super) async fn start_turn_if_idle(&mut self) {
        if self.turn.is_some() {
            return;
        }
        let Some(input) = self.inputs.pop_front() else {
            return;
        };
        let mut kinds = vec![
            EventKind::UserMessage {
                text: input.text.clone(),
                delivery: input.delivery,
            },
            EventKind::TurnStarted,
        ];
        self.state_change(SessionState::Running, &mut kinds);
        if !self.persist(kinds, vec![input.id], None).await {
            self.inputs.push_front(input);
            return;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.turn = Some(Turn {
            generation,
            cancel: self.cancel.child_token(),
            phase: Phase::Model,
        });
        self.model_step().await;
    }

    /// Starts a model call for the current turn, taking steered inputs first.
    pub(super) async fn model_step(&mut self) {
        let steered: Vec<QueuedInput> = {
            let (s, rest): (Vec<_>, Vec<_>) = self
                .inputs
                .drain(..)
                .partition(|i| i.delivery == Delivery::Steer);
            self.inputs = rest.into();
            s
        };
        if !steered.is_empty() {
            let ids = steered.iter().map(|i| i.id).collect();
            let kinds = steered
                .into_iter()
                .map(|i| EventKind::UserMessage {
                    text: i.text,
                    delivery: i.delivery,
                })
                .collect();
            if !self.persist(kinds, ids, None).await {
                return;
            }
        }
        if self.conversation.is_none() {
            match self
                .shared
                .store
                .events(&self.row.id, 0, u64::MAX, usize::MAX >> 1, false)
                .await
            {
                Ok(events) => {
                    let mut conv = Vec::new();
                    for ev in &events {
                        context::apply(&mut conv, &ev.kind);
                    }
                    self.conversation = Some(conv);
                }
                Err(e) => {
                    self.fail_turn(format!("could not load the session history: {e}"))
                        .await;
                    return;
                }
            }
        }
        let (config, _) = self.shared.config.load();
        let resolved = match config.resolve(&self.row.model, self.shared.config.path()) {
            Ok(r) => r,
            Err(e) => {
                self.fail_turn(e).await;
                return;
            }
        };
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        turn.phase = Phase::Model;
        self.partial_text.clear();
        let mut messages = context::request_messages(
            self.row.instructions.as_deref(),
            self.conversation.as_deref().unwrap_or_default(),
        );
        if !resolved.provider.images {
            context::drop_images(&mut messages);
        }
        let request = ModelRequest {
            messages,
            tools: Vec::new(),
        };
        let provider = model::provider_for(&self.shared.http, &resolved, &config.retry);
        self.call_model(request, provider, config.retry);
    }

    fn current(&self, generation: u64) -> bool {
        self.turn
            .as_ref()
            .is_some_and(|t| t.generation == generation)
    }

    async fn work(&mut self, work: Work) {
        match work {
            Work::Progress {
                generation,
                progress,
            } if self.current(generation) => match progress {
                Progress::Delta(text) => {
                    self.partial_text.push_str(&text);
                    self.publish(Live::AssistantDelta { text });
                }
                Progress::Reset => {
                    self.partial_text.clear();
                    self.publish(Live::AssistantReset);
                }
                Progress::Retrying {
                    attempt,
                    error,
                    delay,
                } => {
                    let wait = if delay >= Duration::from_secs(1) {
                        format!("{:.1}s", delay.as_secs_f64())
                    } else {
                        format!("{}ms", delay.as_millis())
                    };
                    let message = format!(
                        "model call failed (attempt {attempt}): {error}; retrying in {wait}"
                    );
                    self.persist(vec![EventKind::Error { message }], vec![], None)
                        .await;
                }
            },
            Work::ModelDone { generation, result } if self.current(generation) => {
                self.partial_text.clear();
                match result {
                    Ok(reply) => self.model_reply(reply).await,
                    Err(e) => self.fail_turn(e.to_string()).await,
                }
            }
            Work::ToolChunk {
                generation,
                call_id,
                chunk,
            } if self.current(generation) => {
                self.publish(Live::ToolOutput { call_id, chunk });
            }
            Work::ToolDone {
                generation,
                call_id,
                tool,
                output,
            } if self.current(generation) => {
                self.tool_done(call_id, tool, output).await;
            }
            Work::ToolFailures(errors) => {
                let kind = EventKind::ToolsChanged {
                    added: vec![],
                    removed: vec![],
                    errors,
                    fixed: vec![],
                };
                self.persist(vec![kind], vec![], None).await;
            }
            _ => debug!("dropped a report from an earlier turn"),
        }
    }

    async fn model_reply(&mut self, reply: ModelReply) {
        let (config, _) = self.shared.config.load();
        let mut kinds = vec![EventKind::AssistantMessage {
            text: reply.text.clone(),
            tool_calls: reply.tool_calls.clone(),
            usage: reply.usage,
            partial: false,
            finish_reason: Some(reply.finish_reason.clone()),
        }];
        if reply.tool_calls.is_empty() {
            if self.inputs.iter().any(|i| i.delivery == Delivery::Steer) {
                // A steer arrived during the last call: the turn goes on with it.
                if self.persist(kinds, vec![], reply.usage).await {
                    self.model_step().await;
                }
                return;
            }
            kinds.push(EventKind::TurnCompleted);
            self.state_change(SessionState::Idle, &mut kinds);
            self.turn = None;
            self.persist(kinds, vec![], reply.usage).await;
            self.start_turn_if_idle().await;
            return;
        }
        let mut step = Step::default();
        let policies = decide_policies(Arc::clone(&config), &reply.tool_calls, &self.row.cwd).await;
        for (c, policy) in reply.tool_calls.iter().zip(policies) {
            kinds.push(EventKind::ToolCall {
                call_id: c.call_id.clone(),
                tool: c.tool.clone(),
                arguments: c.arguments.clone(),
            });
            let status = match policy {
                Policy::Allow => CallStatus::Running,
                Policy::Ask => {
                    let cwd = std::path::Path::new(&self.row.cwd);
                    let diff =
                        crate::tools::preview::approval_diff(&c.tool, &c.arguments, cwd).await;
                    kinds.push(EventKind::ApprovalRequested {
                        call_id: c.call_id.clone(),
                        tool: c.tool.clone(),
                        diff,
                    });
                    CallStatus::AwaitingApproval
                }
                Policy::Deny => {
                    kinds.push(EventKind::ToolResult {
                        call_id: c.call_id.clone(),
                        tool: c.tool.clone(),
                        output: format!(
                            "tool call refused: {:?} is denied by the approval policy",
                            c.tool
                        ),
                        is_error: true,
                        images: Vec::new(),
                    });
                    CallStatus::Done
                }
            };
            step.calls.push(StepCall {
                call_id: c.call_id.clone(),
                tool: c.tool.clone(),
                arguments: c.arguments.clone(),
                status,
            });
        }
        self.state_change(step.state(), &mut kinds);
        let to_run: Vec<StepCall> = step
            .calls
            .iter()
            .filter(|c| c.status == CallStatus::Running)
            .cloned()
            .collect();
        let all_done = step.all_done();
        if let Some(turn) = self.turn.as_mut() {
            turn.phase = Phase::Tools(step);
        }
        if !self.persist(kinds, vec![], reply.usage).await {
            return;
        }
        for call in to_run {
            self.run_tool(call);
        }
        if all_done {
            self.model_step().await;
        }
    }

    async fn tool_done(&mut self, call_id: String, tool: String, output: ToolOutput) {
        self.tools_done(vec![(call_id, tool, output)]).await;
    }

    /// Records finished tool calls in one batch; the next model step starts when
    /// the last call of the step is done.
    async fn tools_done(&mut self, results: Vec<(String, String, ToolOutput)>) {
        let Some(Turn {
            phase: Phase::Tools(step),
            ..
        }) = self.turn.as_mut()
        else {
            return;
        };
        let mut kinds = Vec::with_capacity(results.len() + 1);
        for (call_id, tool, output) in results {
            if !step.set(&call_id, CallStatus::Done) {
                continue;
            }
            info!(tool = %tool, call = %call_id, is_error = output.is_error, "tool call finished");
            kinds.push(EventKind::ToolResult {
                call_id,
                tool,
                output: output.output,
                is_error: output.is_error,
                images: output.images,
            });
        }
        if kinds.is_empty() {
            return;
        }
        let all_done = step.all_done();
        let next_state = step.state();
        self.state_change(next_state, &mut kinds);
        if self.persist(kinds, vec![], None).await && all_done {
            self.model_step().await;
        }
    }

    async fn decide(
        &mut self,
        call_id: Option<String>,
        all: bool,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<Vec<String>, RpcError> {
        let name = self.row.name.clone();
        let Some(Turn {
            phase: Phase::Tools(step),
            ..
        }) = self.turn.as_mut()
        else {
            let what = match &call_id {
                Some(id) => format!("no tool call {id:?} is"),
                None => "no tool call is".to_string(),
            };
            return Err(RpcError::new(
                code::NO_SUCH_APPROVAL,
                format!("{what} waiting for approval in session {name:?}"),
            ));
        };
        let chosen = step.select(call_id.as_deref(), all).map_err(|e| {
            RpcError::new(code::NO_SUCH_APPROVAL, format!("{e} in session {name:?}"))
        })?;
        let reason = reason.filter(|r| !r.trim().is_empty());
        let mut kinds = Vec::new();
        let mut to_run = Vec::new();
        for id in &chosen {
            kinds.push(EventKind::ApprovalDecided {
                call_id: id.clone(),
                decision,
                reason: reason.clone(),
            });
            let Some(call) = step.calls.iter_mut().find(|c| &c.call_id == id) else {
                continue;
            };
            match decision {
                Decision::Approved => {
                    call.status = CallStatus::Running;
                    to_run.push(call.clone());
                }
                // Unknown cannot come from a client of this version; refusing is the safe reading.
                Decision::Denied | Decision::Unknown => {
                    call.status = CallStatus::Done;
                    let output = match &reason {
                        Some(r) => format!("the user denied this tool call: {r}"),
                        None => "the user denied this tool call".to_string(),
                    };
                    kinds.push(EventKind::ToolResult {
                        call_id: id.clone(),
                        tool: call.tool.clone(),
                        output,
                        is_error: true,
                        images: Vec::new(),
                    });
                }
            }
        }
        let all_done = step.all_done();
        let next = step.state();
        self.state_change(next, &mut kinds);
        // Persist the decision before running anything: approve runs exactly once.
        if !self.persist(kinds, vec![], None).await {
            return Err(RpcError::new(
                code::INTERNAL,
                "could not store the decision",
            ));
        }
        for call in to_run {
            self.run_tool(call);
        }
        if all_done {
            self.model_step().await;
        }
        Ok(chosen)
    }

    /// Ends the running turn: keeps the partial answer, gives every unfinished
    /// call an error result, and goes idle.
    async fn interrupt(&mut self, reason: &str) {
        let Some(turn) = self.turn.take() else { return };
        turn.cancel.cancel();
        let mut kinds = Vec::new();
        if !self.partial_text.is_empty() {
            kinds.push(EventKind::AssistantMessage {
                text: std::mem::take(&mut self.partial_text),
                tool_calls: Vec::new(),
                usage: None,
                partial: true,
                finish_reason: None,
            });
        }
        if let Phase::Tools(step) = &turn.phase {
            for c in step.calls.iter().filter(|c| c.status != CallStatus::Done) {
                kinds.push(EventKind::ToolResult {
                    call_id: c.call_id.clone(),
                    tool: c.tool.clone(),
                    output: reason.to_string(),
                    is_error: true,
                    images: Vec::new(),
                });
            }
        }
        kinds.push(EventKind::TurnInterrupted {
            reason: reason.to_string(),
        });
        self.state_change(SessionState::Idle, &mut kinds);
        self.persist(kinds, vec![], None).await;
        info!(reason, "turn interrupted");
    }

    async fn fail_turn(&mut self, error: String) {
        warn!(%error, "turn failed");
        if let Some(t) = self.turn.take() {
            t.cancel.cancel();
        }
        self.last_error = Some(error.clone());
        let mut kinds = vec![EventKind::TurnFailed { error }];
        self.state_change(SessionState::Failed, &mut kinds);
        self.persist(kinds, vec![], None).await;
        // Boxed: starting the next turn may fail it again (model_step ↔ fail_turn).
        Box::pin(self.start_turn_if_idle()).await;
    }

    /// Daemon shutdown: stop workers, record the calls they were running, and leave
    /// the turn open so the next start resumes it.
    async fn stop(&mut self) {
        if self.store_debt.owes() {
            // The last chance to record why the turn ended; else the next start
            // treats it as cut short by the restart.
            self.persist(Vec::new(), vec![], None).await;
        }
        let Some(turn) = self.turn.take() else { return };
        turn.cancel.cancel();
        if let Phase::Tools(step) = &turn.phase {
            let kinds: Vec<EventKind> = step
                .calls
                .iter()
                .filter(|c| c.status == CallStatus::Running)
                .map(|c| EventKind::ToolResult {
                    call_id: c.call_id.clone(),
                    tool: c.tool.clone(),
                    output: "interrupted: daemon stopped".into(),
                    is_error: true,
                    images: Vec::new(),
                })
                .collect();
            self.persist(kinds, vec![], None).await;
        }
    }
}
