//! What tool servers ask of a session while one of its calls runs (issue 14): a
//! question for a person (MCP elicitation) and a completion from the session's
//! own model (MCP sampling). Both wait durably like an approval: the session is
//! `awaiting_approval` until `session.answer` (a question) or `session.approve`
//! / `session.deny` (a sampling request) decides, and every step is an event.
//!
//! A question the session can no longer answer (its turn interrupted, its call
//! ended, the daemon stopped or restarted, so the server's connection is gone) is
//! closed with `cancel` (sampling: an error) and a note saying why. These are
//! `SessionActor` methods, plus the pure [`close`] the recovery uses too.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tether_shared::event::{InputAction, SamplingText};
use tether_shared::protocol::{AlwaysAllow, AnswerResult, DecideResult};
use tether_shared::{Decision, EventKind};
use tracing::info;

use super::actor::SessionActor;
use super::error::SessionError;
use super::machine::{Question, QuestionKind, Step};
use super::turn::{Phase, Turn};
use crate::config::Policy;
use crate::model::{self, Message, ModelReply, ModelRequest, Part, Role};
use crate::tools::{AskKind, AskReply, Sampled, ServerAsk};

/// The note of questions closed because the daemon restarted.
pub(super) const RESTARTED: &str = "the daemon restarted while this waited: the server's \
    connection is gone, so tether answered cancel";
/// The note of questions closed because the daemon stopped.
const STOPPED: &str = "the daemon stopped while this waited: the server's \
    connection closes with it, so tether answered cancel";
/// The note of questions whose tool call ended first.
const CALL_ENDED: &str = "the tool call ended before this was answered";

/// Closes the step's questions (only those of `call`, when given): each gets its
/// closing event, and its server the answer `cancel` (sampling: an error).
pub(super) fn close(
    step: &mut Step,
    asks: &mut HashMap<String, ServerAsk>,
    note: &str,
    call: Option<&str>,
) -> Vec<EventKind> {
    let (closed, kept): (Vec<Question>, Vec<Question>) = std::mem::take(&mut step.questions)
        .into_iter()
        .partition(|q| call.is_none_or(|c| q.call_id.as_deref() == Some(c)));
    step.questions = kept;
    closed
        .into_iter()
        .map(|q| {
            let ask = asks.remove(&q.request_id);
            match q.kind {
                QuestionKind::Input => {
                    if let Some(a) = ask {
                        let _ = a.reply.send(AskReply::Input {
                            action: InputAction::Cancel,
                            content: None,
                        });
                    }
                    EventKind::InputAnswered {
                        request_id: q.request_id,
                        action: InputAction::Cancel,
                        content: None,
                        note: Some(note.to_string()),
                    }
                }
                QuestionKind::Sampling => {
                    if let Some(a) = ask {
                        let _ = a.reply.send(AskReply::Sampling(Err(note.to_string())));
                    }
                    EventKind::SamplingAnswered {
                        request_id: q.request_id,
                        text: None,
                        model: None,
                        error: Some(note.to_string()),
                        usage: None,
                    }
                }
            }
        })
        .collect()
}

/// The closing events of the questions of calls that just finished.
pub(super) fn close_for_calls(turn: &mut Turn, calls: &[String]) -> Vec<EventKind> {
    let Turn {
        phase: Phase::Tools(step),
        asks,
        ..
    } = turn
    else {
        return Vec::new();
    };
    calls
        .iter()
        .flat_map(|c| close(step, asks, CALL_ENDED, Some(c)))
        .collect()
}

fn no_question(what: String, name: &str) -> SessionError {
    SessionError::NoSuchApproval(format!("{what} in session {name:?}"))
}

impl SessionActor {
    /// The daemon is stopping: the step's questions are closed (the server's
    /// connection closes with the daemon).
    pub(super) fn close_questions_on_stop(
        step: &mut Step,
        asks: &mut HashMap<String, ServerAsk>,
    ) -> Vec<EventKind> {
        close(step, asks, STOPPED, None)
    }

    fn tools_step(&mut self) -> Option<(&mut Step, &mut HashMap<String, ServerAsk>)> {
        match self.turn.as_mut() {
            Some(Turn {
                phase: Phase::Tools(step),
                asks,
                ..
            }) => Some((step, asks)),
            _ => None,
        }
    }

    /// A server asked something during call `call_id`: record it and wait for a
    /// person, or (sampling the policy allows or denies) decide at once.
    pub(super) async fn server_ask(&mut self, call_id: String, ask: ServerAsk) {
        let seq = self.row.last_seq + 1;
        let (config, _) = self.shared.config.load();
        let (request_id, kind, mut kinds, policy) = match &ask.kind {
            AskKind::Input {
                message,
                schema,
                url,
            } => {
                let id = format!("in-{seq}");
                let kind = EventKind::InputRequested {
                    request_id: id.clone(),
                    server: ask.server.clone(),
                    message: message.clone(),
                    schema: schema.clone(),
                    url: url.clone(),
                    call_id: Some(call_id.clone()),
                };
                (id, QuestionKind::Input, vec![kind], Policy::Ask)
            }
            AskKind::Sampling {
                messages,
                system_prompt,
                max_tokens,
            } => {
                let id = format!("sm-{seq}");
                let kind = EventKind::SamplingRequested {
                    request_id: id.clone(),
                    server: ask.server.clone(),
                    messages: messages.clone(),
                    system_prompt: system_prompt.clone(),
                    max_tokens: *max_tokens,
                    call_id: Some(call_id.clone()),
                };
                let policy = config.approvals.decide_sampling(&ask.server);
                (id, QuestionKind::Sampling, vec![kind], policy)
            }
        };
        info!(server = %ask.server, request = %request_id, call = %call_id, "a tool server asks");
        let Some((step, asks)) = self.tools_step() else {
            // No step to wait in: dropping the ask answers cancel.
            return;
        };
        match policy {
            Policy::Ask => step.questions.push(Question {
                request_id: request_id.clone(),
                call_id: Some(call_id),
                kind,
                waiting: true,
            }),
            Policy::Allow => {
                step.questions.push(Question {
                    request_id: request_id.clone(),
                    call_id: Some(call_id),
                    kind,
                    waiting: false,
                });
                kinds.push(EventKind::SamplingDecided {
                    request_id: request_id.clone(),
                    decision: Decision::Approved,
                    reason: None,
                    by_policy: true,
                });
            }
            Policy::Deny => {
                let error = format!(
                    "sampling for {:?} is denied by the approval policy",
                    ask.server
                );
                kinds.push(EventKind::SamplingDecided {
                    request_id: request_id.clone(),
                    decision: Decision::Denied,
                    reason: None,
                    by_policy: true,
                });
                kinds.push(EventKind::SamplingAnswered {
                    request_id,
                    text: None,
                    model: None,
                    error: Some(error.clone()),
                    usage: None,
                });
                let _ = ask.reply.send(AskReply::Sampling(Err(error)));
                self.persist(kinds, vec![], None).await;
                return;
            }
        }
        asks.insert(request_id.clone(), ask);
        let next = step.state();
        self.state_change(next, &mut kinds);
        if self.persist(kinds, vec![], None).await && policy == Policy::Allow {
            self.run_sampling(&request_id).await;
        }
    }

    /// `session.answer`: checks the answer against the question's form (defaults
    /// merged first), records it, then sends it to the server.
    pub(super) async fn answer(
        &mut self,
        request_id: Option<String>,
        action: InputAction,
        content: Option<Value>,
    ) -> Result<AnswerResult, SessionError> {
        let name = self.row.name.clone();
        let Some((step, asks)) = self.tools_step() else {
            return Err(no_question("no question is waiting".into(), &name));
        };
        let inputs: Vec<String> = step
            .questions
            .iter()
            .filter(|q| q.kind == QuestionKind::Input)
            .map(|q| q.request_id.clone())
            .collect();
        let id = match request_id {
            Some(id) if inputs.contains(&id) => id,
            Some(id) => return Err(no_question(format!("no question {id:?} is waiting"), &name)),
            None => match inputs.as_slice() {
                [] => return Err(no_question("no question is waiting".into(), &name)),
                [one] => one.clone(),
                _ => {
                    return Err(no_question(
                        format!(
                            "{} questions are waiting ({}); name one",
                            inputs.len(),
                            inputs.join(", ")
                        ),
                        &name,
                    ));
                }
            },
        };
        let Some(ServerAsk {
            server,
            kind: AskKind::Input { schema, url, .. },
            ..
        }) = asks.get(&id)
        else {
            return Err(no_question(format!("no question {id:?} is waiting"), &name));
        };
        let content = match (action, url) {
            (InputAction::Accept, None) => {
                let bad = |e: String| {
                    SessionError::BadAnswer(format!("{e}; nothing was sent to {server:?}"))
                };
                let merged = tether_shared::elicit::merge_defaults(
                    schema,
                    &content.unwrap_or_else(|| json!({})),
                )
                .map_err(bad)?;
                tether_shared::elicit::validate(schema, &merged).map_err(bad)?;
                Some(merged)
            }
            (InputAction::Unknown, _) => {
                return Err(SessionError::BadAnswer(
                    "the answer must be accept, decline or cancel".into(),
                ));
            }
            _ => None,
        };
        step.take_question(&id);
        let ask = asks.remove(&id);
        let next = step.state();
        let mut kinds = vec![EventKind::InputAnswered {
            request_id: id.clone(),
            action,
            content: content.clone(),
            note: None,
        }];
        self.state_change(next, &mut kinds);
        if !self.persist(kinds, vec![], None).await {
            return Err(SessionError::AnswerNotStored);
        }
        info!(request = %id, action = action.as_str(), "question answered");
        if let Some(ask) = ask {
            let _ = ask.reply.send(AskReply::Input {
                action,
                content: content.clone(),
            });
        }
        Ok(AnswerResult {
            request_id: id,
            action,
            content,
        })
    }

    /// `session.approve` / `session.deny`: sampling requests named (or the only
    /// thing waiting, or all with `all`) are decided here, tool calls by `decide`.
    pub(super) async fn decide_any(
        &mut self,
        call_id: Option<String>,
        all: bool,
        decision: Decision,
        reason: Option<String>,
        always: Option<AlwaysAllow>,
    ) -> Result<DecideResult, SessionError> {
        let (waiting, calls_pending) = match self.tools_step() {
            Some((step, _)) => (
                step.questions
                    .iter()
                    .filter(|q| q.waiting && q.kind == QuestionKind::Sampling)
                    .map(|q| q.request_id.clone())
                    .collect::<Vec<_>>(),
                !step.pending().is_empty(),
            ),
            None => (Vec::new(), false),
        };
        let chosen: Vec<String> = match &call_id {
            Some(id) if waiting.contains(id) => vec![id.clone()],
            None if all => waiting,
            None if !calls_pending && waiting.len() == 1 => waiting,
            _ => Vec::new(),
        };
        if chosen.is_empty() {
            return self.decide(call_id, all, decision, reason, always).await;
        }
        if always.is_some() {
            return Err(SessionError::BadRule(
                "\"always\" rules are for tool calls; allow sampling with the [approvals] glob \"sampling:SERVER\"".into(),
            ));
        }
        let mut decided = Vec::new();
        for id in chosen {
            if self.decide_sampling(&id, decision, reason.clone()).await? {
                decided.push(id);
            }
        }
        if all && calls_pending {
            let mut more = self.decide(None, true, decision, reason, None).await?;
            decided.append(&mut more.decided);
        }
        Ok(DecideResult {
            decided,
            rule: None,
            by_rule: Vec::new(),
        })
    }

    async fn decide_sampling(
        &mut self,
        id: &str,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<bool, SessionError> {
        let reason = reason.filter(|r| !r.trim().is_empty());
        let Some((step, asks)) = self.tools_step() else {
            return Ok(false);
        };
        let mut kinds = vec![EventKind::SamplingDecided {
            request_id: id.to_string(),
            decision,
            reason: reason.clone(),
            by_policy: false,
        }];
        let approved = decision == Decision::Approved;
        if approved {
            if let Some(q) = step.questions.iter_mut().find(|q| q.request_id == id) {
                q.waiting = false;
            }
        } else {
            step.take_question(id);
            let error = match &reason {
                Some(r) => format!("the user denied this sampling request: {r}"),
                None => "the user denied this sampling request".to_string(),
            };
            if let Some(ask) = asks.remove(id) {
                let _ = ask.reply.send(AskReply::Sampling(Err(error.clone())));
            }
            kinds.push(EventKind::SamplingAnswered {
                request_id: id.to_string(),
                text: None,
                model: None,
                error: Some(error),
                usage: None,
            });
        }
        let next = step.state();
        self.state_change(next, &mut kinds);
        if !self.persist(kinds, vec![], None).await {
            return Err(SessionError::DecisionNotStored);
        }
        if approved {
            self.run_sampling(id).await;
        }
        Ok(true)
    }

    /// Runs an approved sampling request on the session's model, within its budget.
    async fn run_sampling(&mut self, id: &str) {
        let (config, _) = self.shared.config.load();
        let resolved = config.resolve(&self.row.model, self.shared.config.path());
        let reached = self.row.budget.reached(&self.spent());
        let Some(turn) = self.turn.as_ref() else {
            return;
        };
        let Some(ServerAsk {
            kind:
                AskKind::Sampling {
                    messages,
                    system_prompt,
                    max_tokens,
                },
            ..
        }) = turn.asks.get(id)
        else {
            return;
        };
        let refused = match (&resolved, reached) {
            (_, true) => {
                Some("the session's budget is exhausted; `tether budget` raises it".to_string())
            }
            (Err(e), _) => Some(e.clone()),
            (Ok(_), false) => None,
        };
        if let Some(error) = refused {
            self.sampled(turn.generation, id.to_string(), Err(error))
                .await;
            return;
        }
        let Ok(mut resolved) = resolved else { return };
        let asked = u64::from(*max_tokens).max(1);
        resolved.settings.max_tokens =
            Some(resolved.settings.max_tokens.map_or(asked, |m| m.min(asked)));
        let request = sampling_request(system_prompt.as_deref(), messages);
        let provider = model::provider_for(&self.shared.http, &resolved, &config.retry);
        self.workers
            .sample(turn, id.to_string(), request, provider, config.retry);
    }

    /// A sampling request's completion (or why there is none): recorded, with
    /// its usage counted in the session's, then sent to the server.
    pub(super) async fn sampled(
        &mut self,
        generation: u64,
        id: String,
        result: Result<ModelReply, String>,
    ) {
        if !self.current(generation) {
            return;
        }
        let model = self.row.model.clone();
        let Some((step, asks)) = self.tools_step() else {
            return;
        };
        step.take_question(&id);
        let Some(ask) = asks.remove(&id) else {
            return;
        };
        let next = step.state();
        let (kind, usage, reply) = match result {
            Ok(r) => {
                let stop_reason = if r.finish_reason == tether_shared::event::FINISH_LENGTH {
                    "maxTokens"
                } else {
                    "endTurn"
                };
                let reply = Sampled {
                    text: r.text.clone(),
                    model: model.clone(),
                    stop_reason: stop_reason.into(),
                };
                let kind = EventKind::SamplingAnswered {
                    request_id: id.clone(),
                    text: Some(r.text),
                    model: Some(model),
                    error: None,
                    usage: r.usage,
                };
                (kind, r.usage, Ok(reply))
            }
            Err(e) => {
                let kind = EventKind::SamplingAnswered {
                    request_id: id.clone(),
                    text: None,
                    model: None,
                    error: Some(e.clone()),
                    usage: None,
                };
                (kind, None, Err(e))
            }
        };
        let mut kinds = vec![kind];
        self.state_change(next, &mut kinds);
        self.persist(kinds, vec![], usage).await;
        info!(request = %id, ok = reply.is_ok(), "sampling answered");
        let _ = ask.reply.send(AskReply::Sampling(reply));
    }
}

/// The model request of a sampling request: the server's system prompt (not the
/// session's instructions) and its messages, no tools.
fn sampling_request(system: Option<&str>, messages: &[SamplingText]) -> ModelRequest {
    let mut out = Vec::with_capacity(messages.len() + 1);
    if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
        out.push(Arc::new(Message {
            role: Role::System,
            parts: vec![Part::Text(s.to_string())],
        }));
    }
    for m in messages {
        out.push(Arc::new(Message {
            role: if m.role == "assistant" {
                Role::Assistant
            } else {
                Role::User
            },
            parts: vec![Part::Text(m.text.clone())],
        }));
    }
    ModelRequest {
        messages: out,
        tools: Vec::new(),
        no_tool_calls: false,
        cache_key: None,
    }
}
