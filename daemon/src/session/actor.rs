//! The session actor: runs turns (model ↔ tools), takes inputs, approvals and
//! interrupts, and persists every event before publishing it.
//!
//! The actor does no slow I/O itself: model calls and tool calls run as worker
//! tasks (spawned in `workers`) that report back on `work_rx`, tagged with the
//! turn's generation so a report from an interrupted turn is recognised and
//! dropped. Callers reach it through the handle in `handle`; a restart resumes
//! its cut-short turn through `recover`. What the model's answer, a finished call, a
//! decision or an interrupt do to the turn is in `transitions`; the turn itself in `turn`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tether_shared::protocol::{PartialState, SessionInfo};
use tether_shared::{Event, EventKind, Live, SessionState, Usage};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use super::context::tokens::Calibration;
use super::context::view::Context;
use super::handle::{Command, SessionHandle, Subscription};
use super::live::{LiveMsg, Published};
use super::machine::{self, CallStatus};
use super::project::ProjectChange;
use super::shared::{SessionShared, summary};
use super::storefail::StoreDebt;
use super::turn::{CompactRequest, Compaction, Phase, Turn};
use super::workers::{Work, Workers};
use crate::model::Progress;
use crate::store::{Batch, QueuedInput, SessionRow};
use crate::tools::ToolChange;
use crate::util::now_rfc3339;

/// Live messages buffered per session for attached clients. A client that falls
/// further behind is caught up from the store (it lags, it is not fed a gap).
const LIVE_CAPACITY: usize = 4096;

pub(super) struct SessionActor {
    pub(super) row: SessionRow,
    pub(super) shared: Arc<SessionShared>,
    pub(super) state: SessionState,
    pub(super) last_error: Option<String>,
    /// When the session started needing a person (see
    /// [`SessionState::needs_person`]): the time of the state event that made it so.
    pub(super) waiting_since: Option<String>,
    pub(super) inputs: VecDeque<QueuedInput>,
    pub(super) turn: Option<Turn>,
    pub(super) next_generation: u64,
    /// The model's view, loaded at the first model call.
    pub(super) conversation: Option<Context>,
    /// Estimates against the endpoint's counts.
    pub(super) calibration: Calibration,
    /// The last request's estimated tokens (by the rule, uncorrected).
    pub(super) last_estimate: u64,
    /// The context's size and the model's window, in the endpoint's tokens, for
    /// `ls --json` and the TUI.
    pub(super) context_use: (u64, u64),
    /// Where the model's price comes from, as of the session's start or its last
    /// model call (when the config is read for the cost anyway): `info()` runs
    /// at every status change and reads no config.
    pub(super) cost_basis: tether_shared::protocol::CostBasis,
    /// No automatic compaction while the estimate is below this: set when one
    /// could not bring the context under the threshold, so it never loops.
    pub(super) compact_floor: u64,
    /// A compaction whose summary is being written.
    pub(super) compaction: Option<Compaction>,
    /// `tether compact` requests waiting for the running turn's next model call.
    pub(super) compact_requests: Vec<CompactRequest>,
    pub(super) partial_text: String,
    clients: usize,
    // Created at the first subscribe: the channel's slots are allocated up front,
    // and an idle session nobody watches should not pay for them.
    live: Option<broadcast::Sender<LiveMsg>>,
    status: watch::Sender<SessionInfo>,
    pub(super) workers: Workers,
    pub(super) cancel: CancellationToken,
    /// What a failed store write left to do (see `storefail`).
    pub(super) store_debt: StoreDebt,
    /// Which actor of the session this is (see `slots.rs`).
    pub(super) epoch: u64,
    /// Since when the session could sleep (see `sleep.rs`); `None`: it cannot.
    pub(super) idle_since: Option<std::time::Instant>,
    /// `[sessions] sleep_after_s`, as last read.
    pub(super) sleep_after: Option<Duration>,
    /// The queue's input ids as attached clients were last told them (see `queue`).
    // A mutex only because `&self` methods update it while the actor's future
    // must stay `Send`; nothing else ever takes it.
    pub(super) queue_sent: std::sync::Mutex<Vec<i64>>,
    /// A `move` asked to hand the session to this node at its next step
    /// boundary (issue 16; see `handover.rs`).
    pub(super) hand_over: Option<String>,
    /// The lease is lost to this node: the actor ends, writing nothing more.
    pub(super) moved: Option<String>,
    /// A step was not started because the session is being handed over.
    pub(super) parked: bool,
    /// Every input id this actor has taken (queued, started or cancelled): an
    /// input another node stored is picked up once (issue 16, `handover.rs`).
    pub(super) known_inputs: std::collections::HashSet<i64>,
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

/// Starts the actor of a session just created (its row and first events stored).
/// `inputs` were stored with the row (a first message); the actor takes them.
pub fn spawn_new(
    row: SessionRow,
    shared: Arc<SessionShared>,
    cancel: CancellationToken,
    inputs: Vec<QueuedInput>,
) -> SessionHandle {
    spawn(
        row,
        shared,
        cancel,
        SessionState::Idle,
        inputs,
        None,
        (0, 0),
    )
}

/// Starts the actor of a new or restored session and returns its handle; a
/// `recovered` turn is dealt with before the actor takes commands. A session
/// woken from sleep shows the context size it showed asleep (`context_use`)
/// until its next model call measures it again.
pub(super) fn spawn(
    row: SessionRow,
    shared: Arc<SessionShared>,
    cancel: CancellationToken,
    state: SessionState,
    inputs: Vec<QueuedInput>,
    recovered: Option<(machine::Recovered, Option<String>)>,
    context_use: (u64, u64),
) -> SessionHandle {
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (work_tx, work_rx) = mpsc::unbounded_channel();
    let (first_state, pending) = match recovered.as_ref().and_then(|(r, _)| r.open_turn.as_ref()) {
        // A turn a restart cut short is about to be recovered: not settled yet.
        Some(open) if state != SessionState::BudgetExhausted => {
            (SessionState::Running, open.step.pending())
        }
        // A turn stopped on its budget stays stopped: settled already.
        _ => (state, Vec::new()),
    };
    let (status, status_rx) = status_channel(&row, first_state, inputs.len(), pending);
    status.send_modify(|i| (i.context_tokens, i.context_window) = context_use);
    // A restored session that needs a person has waited since its last state
    // event (or, when the tail does not have it, its last event).
    let waiting_since = state.needs_person().then(|| {
        recovered
            .as_ref()
            .and_then(|(r, _)| r.last_state_at.clone())
            .unwrap_or_else(|| row.updated_at.clone())
    });
    // Every actor of every session gets its own number: a slot names the one
    // it holds, so an actor that was replaced cannot put the session to sleep.
    static EPOCHS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let epoch = EPOCHS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let handle = SessionHandle::new(
        row.id.clone(),
        row.name.clone(),
        cmd_tx,
        status_rx,
        epoch,
        shared.slots.redeliver(),
    );
    let span = info_span!("session", session = %row.name);
    let workers = Workers::new(
        shared.clone(),
        row.id.clone(),
        row.cwd.clone(),
        cancel.clone(),
        work_tx,
    );
    let config = shared.config.load().0;
    let cost_basis = config.cost_basis(&row.model);
    let known_inputs = inputs.iter().map(|i| i.id).collect();
    let mut actor = SessionActor {
        row,
        shared: shared.clone(),
        state,
        last_error: recovered.as_ref().and_then(|(_, e)| e.clone()),
        waiting_since,
        inputs: inputs.into(),
        turn: None,
        next_generation: 1,
        conversation: None,
        calibration: Calibration::default(),
        last_estimate: 0,
        context_use,
        cost_basis,
        compact_floor: 0,
        compaction: None,
        compact_requests: Vec::new(),
        partial_text: String::new(),
        clients: 0,
        live: None,
        status,
        workers,
        cancel,
        store_debt: Default::default(),
        epoch,
        idle_since: None,
        sleep_after: config.sleep_after,
        queue_sent: Default::default(),
        hand_over: None,
        moved: None,
        parked: false,
        known_inputs,
    };
    // Subscribed before the task starts, so a tool change announced while the
    // session is being set up (a broken .mcp.json, say) is not missed.
    let changes = shared.tools.subscribe();
    let project_changes = shared.project.subscribe();
    shared.tracker.spawn(
        async move {
            if let Some((rec, _)) = recovered {
                actor.recover(rec).await;
            }
            actor.publish_status();
            actor.workers.report_tool_failures();
            actor.start_turn_if_idle().await;
            actor.touch();
            actor.run(cmd_rx, work_rx, changes, project_changes).await;
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
        mut project_changes: broadcast::Receiver<ProjectChange>,
    ) {
        let mut changes_open = true;
        let mut project_open = true;
        loop {
            // A lost lease or a hand-over ends the actor between two events.
            if self.leaving(&mut cmd_rx).await {
                return;
            }
            tokio::select! {
                change = changes.recv(), if changes_open => match change {
                    Ok(change) => self.tools_changed(change).await,
                    // Missed changes are visible at the next model call anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => changes_open = false,
                },
                change = project_changes.recv(), if project_open => match change {
                    Ok(change) => self.instructions_changed(change).await,
                    // The next model call reads the project file in force anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => project_open = false,
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
                _ = tokio::time::sleep_until(self.sleep_deadline()), if self.idle_since.is_some() => {
                    if self.idle_timer(&mut cmd_rx).await {
                        return;
                    }
                    continue;
                }
                _ = self.cancel.cancelled() => {
                    self.stop().await;
                    return;
                }
            }
            self.touch();
        }
    }

    /// How many clients are attached.
    pub(super) fn attached(&self) -> usize {
        self.clients
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

    pub(super) fn info(&self) -> SessionInfo {
        let (pending, questions) = match &self.turn {
            Some(Turn {
                phase: Phase::Tools(step),
                ..
            }) => (step.pending(), step.waiting_questions()),
            _ => (Vec::new(), Vec::new()),
        };
        let mut info = summary(
            &self.row,
            self.state,
            pending,
            self.inputs.len(),
            self.clients,
            self.last_error.as_ref(),
        );
        (info.context_tokens, info.context_window) = self.context_use;
        info.waiting_since = self
            .waiting_since
            .clone()
            .filter(|_| self.state.needs_person());
        info.cost_basis = self.cost_basis;
        info.pending_inputs = questions;
        info
    }

    /// The live channel, while anybody may listen.
    pub(super) fn live_sender(&self) -> Option<&broadcast::Sender<LiveMsg>> {
        self.live.as_ref()
    }

    /// Sends to attached clients; dropping the channel when nobody listens any more.
    fn publish(&mut self, live: Live) {
        if let Some(tx) = &self.live
            && tx.send(Published::new(live)).is_err()
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
            self.shared.list_changed(&self.row.id);
        }
        self.publish_queue();
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
        let cost_usd = usage.map_or(0.0, |u| {
            let (config, _) = self.shared.config.load();
            self.cost_basis = config.cost_basis(&self.row.model);
            config.cost(&self.row.model, &u)
        });
        let batch = Batch {
            events: events.clone(),
            consume_inputs: consume,
            usage,
            cost_usd,
        };
        if let Err(e) = self.shared.store.append(&self.row.id, batch).await {
            if let crate::store::StoreError::Fenced { node, .. } = e {
                // Another node runs the session now: nothing more is written here.
                warn!(to = %node, "the store refused a write: the lease is lost");
                self.moved = Some(node);
                return false;
            }
            warn!(error = %e, "failed to persist events; failing the turn");
            self.fail_without_store(format!("the store failed: {e}"));
            return false;
        }
        self.store_debt.paid();
        let notices = self.notices(&events);
        self.row.last_seq = first + events.len() as u64 - 1;
        self.row.updated_at = ts;
        if let Some(u) = usage {
            self.row.usage += u;
            self.row.cost_usd += cost_usd;
        }
        for ev in events {
            if let EventKind::State { state } = ev.kind {
                self.state = state;
                self.waiting_since = state.needs_person().then(|| ev.ts.clone());
            }
            if let Some(conv) = self.conversation.as_mut() {
                conv.apply(&ev);
            }
            // No receivers is fine: nobody is attached.
            self.publish(Live::Event { event: ev });
        }
        self.publish_status();
        // Stored and published: now a person may hear of it (never waits).
        self.shared.notifier.send(notices);
        true
    }

    /// The notices of a batch about to be applied: the state it leaves the
    /// session in, and the calls waiting for approval (the turn's step is set
    /// before its batch is stored).
    fn notices(&self, events: &[Event]) -> Vec<tether_shared::notify::Notice> {
        let state = events
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                EventKind::State { state } => Some(state),
                _ => None,
            })
            .unwrap_or(self.state);
        let pending: Vec<crate::notify::PendingCall<'_>> = match &self.turn {
            Some(Turn {
                phase: Phase::Tools(step),
                ..
            }) => step
                .calls
                .iter()
                .filter(|c| c.status == CallStatus::AwaitingApproval)
                .map(|c| crate::notify::PendingCall {
                    call_id: &c.call_id,
                    tool: &c.tool,
                    arguments: &c.arguments,
                })
                .collect(),
            _ => Vec::new(),
        };
        let batch = crate::notify::Batch {
            session: &self.row.id,
            name: &self.row.name,
            state,
            pending: &pending,
        };
        crate::notify::notices(batch, events)
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
                always,
                reply,
            } => {
                let r = self
                    .decide_any(call_id, all, decision, reason, always)
                    .await;
                let _ = reply.send(r);
            }
            Command::Answer {
                request_id,
                action,
                content,
                reply,
            } => {
                let r = self.answer(request_id, action, content).await;
                let _ = reply.send(r);
            }
            Command::RemoveRule { id, reply } => {
                let r = self.remove_rule(id).await;
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
                    queued: self.queued(),
                });
            }
            Command::Clients { delta } => {
                self.clients = self.clients.saturating_add_signed(delta);
                self.publish_status();
            }
            Command::Compact {
                instructions,
                reply,
            } => self.compact_command(instructions, reply).await,
            Command::Budget { budget, reply } => {
                let r = self.set_budget(budget).await;
                let _ = reply.send(r);
            }
            Command::CancelInput { input_id, reply } => {
                let r = self.cancel_input(input_id).await;
                let _ = reply.send(r);
            }
            Command::Fire { firing, reply } => {
                let r = self.fire(firing).await;
                let _ = reply.send(r);
            }
            Command::HandOver { to } => self.hand_over = Some(to),
            Command::Pickup { inputs } => self.pick_up(inputs).await,
            Command::Moved { to } => self.moved = Some(to),
            Command::Stop { .. } => {}
        }
    }

    pub(super) async fn start_turn_if_idle(&mut self) {
        if self.turn.is_some() || self.compaction.is_some() || self.leaving_soon() {
            return;
        }
        if !self.compact_requests.is_empty() {
            // A `tether compact` that waited for the turn to end.
            Box::pin(self.compact_idle()).await;
            if self.compaction.is_some() || self.turn.is_some() {
                return;
            }
        }
        let Some(input) = self.inputs.pop_front() else {
            return;
        };
        let mut kinds = vec![
            EventKind::UserMessage {
                text: input.text.clone(),
                delivery: input.recorded_delivery(),
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
        self.turn = Some(Turn::new(
            generation,
            self.cancel.child_token(),
            Phase::Model,
        ));
        self.model_step().await;
    }

    pub(super) fn current(&self, generation: u64) -> bool {
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
                    Ok(reply) => {
                        self.note_usage(reply.usage);
                        self.model_reply(reply).await
                    }
                    Err(e) => self.model_failed(e).await,
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
            Work::Compacted {
                generation,
                result,
                usage,
            } => self.compacted(generation, result, usage).await,
            Work::Ask {
                generation,
                call_id,
                ask,
            } if self.current(generation) => self.server_ask(call_id, ask).await,
            Work::Sampled {
                generation,
                request_id,
                result,
            } => self.sampled(generation, request_id, result).await,
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

    /// Daemon shutdown (or a hand-over at a step boundary): stop workers, record the calls they were running, and leave
    /// the turn open so the next start resumes it.
    pub(super) async fn stop(&mut self) {
        self.end_compactions();
        if self.store_debt.owes() {
            // The last chance to record why the turn ended; else the next start
            // treats it as cut short by the restart.
            self.persist(Vec::new(), vec![], None).await;
        }
        let Some(mut turn) = self.turn.take() else {
            return;
        };
        turn.cancel.cancel();
        if let Phase::Tools(step) = &mut turn.phase {
            let mut kinds = Self::close_questions_on_stop(step, &mut turn.asks);
            kinds.extend(
                step.calls
                    .iter()
                    .filter(|c| c.status == CallStatus::Running)
                    .map(|c| EventKind::ToolResult {
                        call_id: c.call_id.clone(),
                        tool: c.tool.clone(),
                        output: "interrupted: daemon stopped".into(),
                        is_error: true,
                        images: Vec::new(),
                    }),
            );
            self.persist(kinds, vec![], None).await;
        }
    }
}
