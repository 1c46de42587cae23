//! Compacting a session's context: when a request would pass the threshold
//! (`auto`), when the endpoint says it is over the window (`overflow`, then the
//! step is retried once), and on `tether compact` (`manual`). The plan is made in
//! `context/compact.rs`; a summary is written by the session's own model in a
//! worker; the result is a `context_compacted` event the projection replays.
//! These are `SessionActor` methods.
//!
//! Never in a loop: a compaction that leaves the context above the threshold says
//! so in the log and sets a floor below which no automatic compaction runs again,
//! and a step compacts after an overflow at most once.

use tether_shared::event::CompactReason;
use tether_shared::protocol::CompactResult;
use tether_shared::{EventKind, Usage};
use tracing::{debug, info};

use super::actor::SessionActor;
use super::context::compact::{self, Limits};
use super::context::window;
use super::error::SessionError;
use super::step::Started;
use super::turn::{CompactReply, CompactRequest, Compaction, Phase};
use crate::model::{self, ModelError};

impl SessionActor {
    /// `tether compact`: now when the session is idle, else before the running
    /// turn's next model call.
    pub(super) async fn compact_command(
        &mut self,
        instructions: Option<String>,
        reply: CompactReply,
    ) {
        self.compact_requests.push(CompactRequest {
            instructions,
            reply,
        });
        if self.turn.is_none() {
            self.compact_idle().await;
        }
    }

    /// Runs the waiting `tether compact` requests while no turn runs.
    pub(super) async fn compact_idle(&mut self) {
        if self.turn.is_some() || self.compaction.is_some() || self.compact_requests.is_empty() {
            return;
        }
        let requests = std::mem::take(&mut self.compact_requests);
        match self
            .begin_compaction(CompactReason::Manual, requests, false)
            .await
        {
            Started::Summarising => {}
            Started::Done | Started::Nothing => self.start_turn_if_idle().await,
        }
    }

    /// Plans a compaction and starts it; `requests` are answered when it ends.
    pub(super) async fn begin_compaction(
        &mut self,
        reason: CompactReason,
        requests: Vec<CompactRequest>,
        in_turn: bool,
    ) -> Started {
        let (config, _) = self.shared.config.load();
        let resolved = match config.resolve(&self.row.model, self.shared.config.path()) {
            Ok(r) => r,
            Err(e) => {
                answer(requests, Err(SessionError::NoProvider(e)));
                return Started::Nothing;
            }
        };
        let window = self.window(&config, &resolved).await;
        if self.conversation.is_none() {
            match self.load_context(window.tokens).await {
                Ok(ctx) => self.conversation = Some(ctx),
                Err(e) => {
                    let e = format!("could not load the session history: {e}");
                    answer(requests, Err(SessionError::CompactionFailed(e)));
                    return Started::Nothing;
                }
            }
        }
        let shape = self.shape();
        let threshold = config.context.threshold(window.tokens);
        let target = match reason {
            CompactReason::Overflow => threshold * 2 / 3,
            _ => threshold * 3 / 4,
        };
        let c = self.calibration;
        let limits = Limits {
            window: c.to_estimate(window.tokens),
            target: c.to_estimate(target),
            keep_recent: c.to_estimate(config.context.keep_recent(window.tokens)),
        };
        let manual = reason == CompactReason::Manual;
        let Some(ctx) = self.conversation.as_ref() else {
            return Started::Nothing;
        };
        let before = shape.fixed + ctx.tokens();
        let Some(plan) = compact::plan(ctx, shape.fixed, &limits, reason, manual) else {
            let message = format!(
                "nothing to compact: the context ({} tokens) is the latest exchange and the recent part kept verbatim",
                c.apply(before)
            );
            if !manual {
                self.compact_floor = before + growth(&limits);
            }
            answer(
                requests,
                Ok(CompactResult {
                    compacted: false,
                    tokens_before: c.apply(before),
                    tokens_after: c.apply(before),
                    message,
                }),
            );
            return Started::Nothing;
        };
        let generation = self.next_generation;
        self.next_generation += 1;
        let (cancel, turn) = match (&self.turn, in_turn) {
            (Some(t), true) => (t.cancel.child_token(), Some(t.generation)),
            _ => (self.cancel.child_token(), None),
        };
        let instructions: Vec<&str> = requests
            .iter()
            .filter_map(|r| r.instructions.as_deref())
            .collect();
        let instructions = (!instructions.is_empty()).then(|| instructions.join("\n"));
        let summarises = plan.summarises();
        let job = summarises.then(|| {
            let system = std::sync::Arc::new(model::Message::text(
                model::Role::System,
                shape.system.clone(),
            ));
            compact::summary_job(
                ctx,
                &plan,
                system,
                shape.fixed,
                &limits,
                instructions.as_deref(),
            )
        });
        info!(
            reason = reason.as_str(),
            tokens = c.apply(before),
            window = window.tokens,
            summarises,
            "compacting the context"
        );
        self.compaction = Some(Compaction {
            generation,
            turn,
            cancel: cancel.clone(),
            plan,
            fixed: shape.fixed,
            window: window.tokens,
            threshold,
            replies: requests.into_iter().map(|r| r.reply).collect(),
        });
        let Some(mut job) = job else {
            self.finish_compaction(generation, Ok(String::new()), None)
                .await;
            return Started::Done;
        };
        // The summary requests carry the conversation's media: only what the
        // model takes, as its own requests do.
        for chunk in &mut job.chunks {
            super::context::fit_media(chunk, &resolved.provider, &resolved.model);
        }
        if let Some(t) = self.turn.as_mut().filter(|_| in_turn) {
            t.phase = Phase::Compacting;
        }
        let provider = model::provider_for(&self.shared.http, &resolved, &config.retry);
        self.workers
            .compact(generation, cancel, job, provider, config.retry);
        Started::Summarising
    }

    /// The summary worker's report.
    pub(super) async fn compacted(
        &mut self,
        generation: u64,
        result: Result<String, String>,
        usage: Option<Usage>,
    ) {
        if !self.finish_compaction(generation, result, usage).await {
            return;
        }
        if self.turn.is_some() {
            self.model_step().await;
        } else {
            self.start_turn_if_idle().await;
        }
    }

    /// Records a finished compaction; false when it was not the one under way (or
    /// its turn ended meanwhile).
    /// The summary requests' `usage` counts in the session's usage and cost,
    /// with the compaction or with the error saying it failed.
    async fn finish_compaction(
        &mut self,
        generation: u64,
        result: Result<String, String>,
        usage: Option<Usage>,
    ) -> bool {
        let Some(c) = self.compaction.take_if(|c| c.generation == generation) else {
            debug!(?usage, "dropped the report of an earlier compaction");
            return false;
        };
        if let Some(t) = c.turn
            && self.turn.as_ref().is_none_or(|turn| turn.generation != t)
        {
            let e = "the turn ended before the compaction finished".to_string();
            answer_replies(c.replies, Err(SessionError::CompactionFailed(e)));
            // Nothing is recorded for a compaction its turn left behind, so its
            // tokens are not counted either; the log says what they were.
            info!(
                ?usage,
                "a compaction finished after its turn ended; dropped"
            );
            return false;
        }
        let summary = match result {
            Ok(s) => s,
            Err(e) => {
                let message = format!("compaction failed: {e}");
                let floor = self.last_estimate.max(c.plan.tokens_before) + 1;
                self.compact_floor = floor;
                self.persist(
                    vec![EventKind::Error {
                        message: message.clone(),
                    }],
                    vec![],
                    usage,
                )
                .await;
                answer_replies(c.replies, Err(SessionError::CompactionFailed(e)));
                if c.plan.reason == CompactReason::Overflow {
                    self.fail_turn(format!(
                        "the conversation is over the model's context window and {message}"
                    ))
                    .await;
                    return false;
                }
                return true;
            }
        };
        let Some(ctx) = self.conversation.as_ref() else {
            return false;
        };
        let cal = self.calibration;
        let summary = cap_summary(summary, &c);
        let mut kind = compact::event(ctx, &c.plan, summary, c.fixed, |t| cal.apply(t));
        if let EventKind::ContextCompacted { usage: u, .. } = &mut kind {
            *u = usage;
        }
        let EventKind::ContextCompacted {
            tokens_before,
            tokens_after,
            through_seq,
            ..
        } = &kind
        else {
            return false;
        };
        let (tokens_before, tokens_after, through_seq) =
            (*tokens_before, *tokens_after, *through_seq);
        let mut message =
            format!("compacted the context: {tokens_before} -> {tokens_after} tokens");
        if c.plan.summarises() {
            message.push_str(&format!(" (events 1-{through_seq} summarised)"));
        } else {
            message.push_str(" (old tool outputs cut)");
        }
        let mut kinds = vec![kind];
        if tokens_after > c.threshold {
            let note = format!(
                "compaction left the context at {tokens_after} tokens, above {} ({}% of the {}-token window); \
                 it will not compact again until the context grows",
                c.threshold,
                (c.threshold * 100).checked_div(c.window).unwrap_or(0),
                c.window
            );
            message.push_str(&format!("; {note}"));
            kinds.push(EventKind::Error { message: note });
            let grown = cal.to_estimate(tokens_after) + cal.to_estimate(c.window) / 20;
            self.compact_floor = grown;
        } else {
            self.compact_floor = 0;
        }
        if !self.persist(kinds, vec![], usage).await {
            answer_replies(
                c.replies,
                Err(SessionError::CompactionFailed("the store failed".into())),
            );
            return false;
        }
        info!(tokens_before, tokens_after, "context compacted");
        self.set_context_use(tokens_after, c.window);
        answer_replies(
            c.replies,
            Ok(CompactResult {
                compacted: true,
                tokens_before,
                tokens_after,
                message,
            }),
        );
        true
    }

    /// A failed model call: an overflow compacts and retries the step once (or
    /// says to run `tether compact` when automatic compaction is off); anything
    /// else fails the turn.
    pub(super) async fn model_failed(&mut self, e: ModelError) {
        if e.kind != model::ModelErrorKind::ContextLength {
            self.fail_turn(e.to_string()).await;
            return;
        }
        let (config, _) = self.shared.config.load();
        let believed = self.context_use.1.max(1);
        let sent = self.calibration.apply(self.last_estimate);
        let (named, counted) = window::named(&e.message);
        // The endpoint's whole answer may name the window where its message does not
        // (llama.cpp's `n_ctx` beside the message).
        let named = e.window.or(named);
        if let Some(counted) = counted {
            self.calibration.learn(self.last_estimate, counted);
        }
        let configured = config
            .models
            .get(&self.row.model)
            .and_then(|m| m.context_window)
            .is_some();
        if !configured {
            let lesson = window::lesson(named, counted.unwrap_or(sent), believed);
            if lesson != believed {
                info!(model = %self.row.model, window = lesson, "learned the context window from an overflow");
            }
            self.shared.windows.learn(&self.row.model, lesson);
        }
        if !config.context.auto {
            self.fail_turn(format!(
                "{e}; the conversation no longer fits the model's context window: \
                 run `tether compact {}`, then send again (automatic compaction is off: [context] auto = false)",
                self.row.name
            ))
            .await;
            return;
        }
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        if turn.overflow_retried {
            self.fail_turn(format!("{e} (even after compacting the context)"))
                .await;
            return;
        }
        turn.overflow_retried = true;
        match self
            .begin_compaction(CompactReason::Overflow, Vec::new(), true)
            .await
        {
            Started::Summarising => {}
            Started::Done => self.model_step().await,
            Started::Nothing => {
                self.fail_turn(format!("{e}, and there is nothing left to compact"))
                    .await
            }
        }
    }

    /// Ends compactions under way and waiting requests (the daemon is stopping).
    pub(super) fn end_compactions(&mut self) {
        if let Some(c) = self.compaction.take() {
            c.cancel.cancel();
            answer_replies(c.replies, Err(SessionError::Stopped));
        }
        answer(
            std::mem::take(&mut self.compact_requests),
            Err(SessionError::Stopped),
        );
    }

    /// Learns from a reply's reported usage: the estimate's correction and the
    /// context's size.
    pub(super) fn note_usage(&mut self, usage: Option<tether_shared::Usage>) {
        let Some(u) = usage else { return };
        if u.prompt_tokens == 0 {
            return;
        }
        self.calibration.learn(self.last_estimate, u.prompt_tokens);
        let window = self.context_use.1;
        self.set_context_use(u.prompt_tokens + u.completion_tokens, window);
    }
}

/// How much the context must grow before an automatic compaction is tried again.
fn growth(limits: &Limits) -> u64 {
    (limits.keep_recent / 4).max(limits.window / 20).max(1)
}

/// A summary much longer than asked for is cut, so a rambling model cannot
/// undo the compaction.
fn cap_summary(summary: String, c: &Compaction) -> String {
    let limit = (c.window / 10).clamp(80, 1600) as usize * 4 * 3 / 2;
    if summary.len() <= limit {
        return summary;
    }
    format!("{} [...]", compact::cut_str(&summary, limit))
}

fn answer(requests: Vec<CompactRequest>, result: Result<CompactResult, SessionError>) {
    answer_replies(requests.into_iter().map(|r| r.reply).collect(), result);
}

fn answer_replies(replies: Vec<CompactReply>, result: Result<CompactResult, SessionError>) {
    let mut result = Some(result);
    let n = replies.len();
    for (i, r) in replies.into_iter().enumerate() {
        let one = if i + 1 == n {
            result.take()
        } else {
            result.as_ref().map(|r| match r {
                Ok(v) => Ok(v.clone()),
                Err(e) => Err(SessionError::CompactionFailed(e.to_string())),
            })
        };
        if let Some(one) = one {
            let _ = r.send(one);
        }
    }
}
