//! A model step of the running turn: the context loaded (from the latest
//! compaction on, never the whole log), the model's window found, the context
//! compacted first when the request would pass `[context] compact_at` of it, then
//! the model call. These are `SessionActor` methods.

use tether_shared::event::CompactReason;
use tether_shared::{Delivery, Event, EventKind};

use super::actor::SessionActor;
use super::context::view::Context;
use super::context::window::{self, Window};
use super::context::{request_messages, tokens};
use super::turn::Phase;
use crate::config::{Config, ResolvedModel};
use crate::model::{self, Message, ModelRequest, Role};
use crate::store::{QueuedInput, StoreError};

/// Events read per page when loading a context, newest first.
const LOAD_PAGE: usize = 512;

/// How far back a context is loaded without a compaction, in windows: more than
/// a compaction can keep, so what is left out would have been summarised away.
const LOAD_WINDOWS: u64 = 2;

/// What a request costs besides its conversation.
pub(super) struct Shape {
    /// The system prompt.
    pub(super) system: String,
    /// The estimated tokens of the system prompt and the tools on offer.
    pub(super) fixed: u64,
}

/// What starting a compaction came to.
pub(super) enum Started {
    /// Its summary is being written; the actor hears back on the work channel.
    Summarising,
    /// It is recorded already (stubs were enough).
    Done,
    /// There was nothing to compact.
    Nothing,
}

/// Rough tokens of what an event adds to the context, for bounding a load.
fn event_tokens(kind: &EventKind) -> u64 {
    match kind {
        EventKind::UserMessage { text, .. } => tokens::text(text),
        EventKind::AssistantMessage {
            text, tool_calls, ..
        } => {
            tokens::text(text)
                + tool_calls
                    .iter()
                    .map(|c| tokens::text(&c.arguments.to_string()))
                    .sum::<u64>()
        }
        EventKind::ToolResult { output, .. } => tokens::text(output),
        _ => 0,
    }
}

impl SessionActor {
    /// The model's window: config, lessons, the table, or the endpoint (asked
    /// once per model per daemon run).
    pub(super) async fn window(&self, config: &Config, resolved: &ResolvedModel) -> Window {
        let book = &self.shared.windows;
        if let Some(w) = window::known(config, &self.row.model, book) {
            return w;
        }
        let probed =
            model::probe_window(&self.shared.http, &resolved.provider, &resolved.model).await;
        book.set_probed(&self.row.model, probed);
        window::known(config, &self.row.model, book).unwrap_or(Window {
            tokens: window::DEFAULT_WINDOW,
            source: window::Source::Default,
        })
    }

    /// The context from the latest compaction on, reading the log newest first
    /// and no further back than `LOAD_WINDOWS` windows of tokens.
    pub(super) async fn load_context(&self, window: u64) -> Result<Context, StoreError> {
        let store = &self.shared.store;
        let id = &self.row.id;
        let from = store.last_seq_of(id, "context_compacted").await?;
        // The compaction keeps what follows its `through_seq` verbatim, and those
        // events come before it in the log: read from there, as the live view has it.
        let since = match from {
            Some(seq) => {
                let through = store
                    .events(id, seq - 1, seq + 1, 1, false)
                    .await?
                    .iter()
                    .find_map(|e| match e.kind {
                        EventKind::ContextCompacted { through_seq, .. } => Some(through_seq),
                        _ => None,
                    });
                through.unwrap_or(seq - 1).min(seq - 1)
            }
            None => 0,
        };
        let budget = LOAD_WINDOWS * self.calibration.to_estimate(window);
        let mut pages: Vec<Vec<Event>> = Vec::new();
        let mut before = u64::MAX;
        let mut used = 0;
        let mut omitted_before = 0;
        'read: loop {
            let page = store.events(id, since, before, LOAD_PAGE, true).await?;
            let Some(first) = page.first().map(|e| e.seq) else {
                break;
            };
            for (i, ev) in page.iter().enumerate().rev() {
                used += event_tokens(&ev.kind);
                if used > budget && from.is_none() && ev.seq > 1 {
                    omitted_before = ev.seq + 1;
                    pages.push(page[i + 1..].to_vec());
                    break 'read;
                }
            }
            pages.push(page);
            if first <= since + 1 {
                break;
            }
            before = first;
        }
        let events = pages.iter().rev().flatten();
        Ok(Context::from_events(events, omitted_before))
    }

    /// The system prompt and tools of the next request, and their cost.
    pub(super) fn shape(&self) -> Shape {
        let system = self.system_prompt();
        let tools = self.shared.tools.specs(&self.row.id);
        let fixed = if system.trim().is_empty() {
            0
        } else {
            tokens::message(&Message::text(Role::System, system.as_str()))
        } + tokens::tools(&tools);
        Shape { system, fixed }
    }

    /// Loads the context if it is not yet; false (the turn failed) when the
    /// store cannot give it.
    pub(super) async fn ensure_context(&mut self, window: u64) -> bool {
        if self.conversation.is_some() {
            return true;
        }
        match self.load_context(window).await {
            Ok(ctx) => {
                self.conversation = Some(ctx);
                true
            }
            Err(e) => {
                self.fail_turn(format!("could not load the session history: {e}"))
                    .await;
                false
            }
        }
    }

    /// Starts a model call for the current turn, taking steered inputs first and
    /// compacting first when the request would pass the threshold.
    pub(super) async fn model_step(&mut self) {
        // A step boundary: a session being handed over goes before the step.
        if self.leaving_soon() {
            self.parked = true;
            return;
        }
        // Before anything of the step: steered inputs wait with the turn.
        if self.stop_on_budget().await {
            return;
        }
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
                    delivery: i.recorded_delivery(),
                    text: i.text,
                })
                .collect();
            if !self.persist(kinds, ids, None).await {
                return;
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
        let window = self.window(&config, &resolved).await;
        if !self.ensure_context(window.tokens).await {
            return;
        }
        if !self.compact_requests.is_empty() {
            let requests = std::mem::take(&mut self.compact_requests);
            match self
                .begin_compaction(CompactReason::Manual, requests, true)
                .await
            {
                Started::Summarising => return,
                Started::Done | Started::Nothing => {}
            }
        }
        let shape = self.shape();
        let estimate = shape.fixed + self.conversation.as_ref().map_or(0, |c| c.tokens());
        let threshold = config.context.threshold(window.tokens);
        if config.context.auto
            && self.calibration.apply(estimate) > threshold
            && estimate >= self.compact_floor
        {
            match self
                .begin_compaction(CompactReason::Auto, Vec::new(), true)
                .await
            {
                Started::Summarising => return,
                Started::Done | Started::Nothing => {}
            }
        }
        self.send_model_request(&resolved, &config, window).await;
    }

    /// The model call itself, with the context as it is now.
    async fn send_model_request(
        &mut self,
        resolved: &ResolvedModel,
        config: &Config,
        window: Window,
    ) {
        let shape = self.shape();
        let conversation = self
            .conversation
            .as_ref()
            .map(|c| c.messages())
            .unwrap_or_default();
        let estimate = shape.fixed + self.conversation.as_ref().map_or(0, |c| c.tokens());
        self.last_estimate = estimate;
        self.set_context_use(self.calibration.apply(estimate), window.tokens);
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        turn.phase = Phase::Model;
        let turn = &*turn;
        self.partial_text.clear();
        let mut messages = request_messages(Some(&shape.system), &conversation);
        super::context::fit_media(&mut messages, &resolved.provider, &resolved.model);
        let request = ModelRequest {
            messages,
            tools: Vec::new(),
            no_tool_calls: false,
            cache_key: None,
        };
        let provider = model::provider_for(&self.shared.http, resolved, &config.retry);
        self.workers
            .call_model(turn, request, provider, config.retry);
    }

    /// Records the context's size for `ls --json` and the TUI.
    pub(super) fn set_context_use(&mut self, tokens: u64, window: u64) {
        if self.context_use != (tokens, window) {
            self.context_use = (tokens, window);
            self.publish_status();
        }
    }
}
