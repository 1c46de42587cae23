//! The transcript: a session's events folded into cells, a tool call's cell
//! updated in place as the call goes on.

use std::collections::HashMap;

use tether_shared::rules::{ApprovalRule, RuleScope};
use tether_shared::{Decision, Event, EventKind};

use super::cells::{CUT_AT_TOKEN_LIMIT, Cell, CellKind, Tone, ToolStatus};
use super::diffs::Files;

/// The cells of a session, built from its events.
#[derive(Debug, Default)]
pub struct Transcript {
    /// The cells, oldest first.
    pub cells: Vec<Cell>,
    tools: HashMap<String, usize>,
    /// The cell each event applied to, by seq (for a search hit's event).
    by_seq: std::collections::BTreeMap<u64, usize>,
    /// File contents as the calls showed them, for the diffs of file changes.
    files: Files,
    /// The seq of the event being applied.
    current_seq: u64,
    /// The servers' questions and sampling requests still waiting (issue 14).
    pub questions: super::questions::Questions,
}

impl Transcript {
    /// Applies one event; returns whether anything visible changed.
    pub fn apply(&mut self, ev: &Event) -> bool {
        let seq = ev.seq;
        self.current_seq = seq;
        match &ev.kind {
            EventKind::SessionCreated { model, cwd, .. } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("session created · {model} · {cwd}"),
                    tone: Tone::Dim,
                },
            ),
            EventKind::UserMessage { text, delivery } => self.push(
                seq,
                CellKind::User {
                    text: text.clone(),
                    delivery: *delivery,
                },
            ),
            EventKind::AssistantMessage {
                text,
                partial,
                finish_reason,
                ..
            } => {
                let shown = !text.trim().is_empty()
                    && self.push(
                        seq,
                        CellKind::Assistant {
                            text: text.clone(),
                            partial: *partial,
                        },
                    );
                if finish_reason.as_deref() != Some(tether_shared::event::FINISH_LENGTH) {
                    return shown;
                }
                self.push(
                    seq,
                    CellKind::Notice {
                        text: CUT_AT_TOKEN_LIMIT.to_string(),
                        tone: Tone::Warn,
                    },
                )
            }
            EventKind::ToolCall {
                call_id,
                tool,
                arguments,
                rule,
            } => {
                let i = self.cells.len();
                self.tools.insert(call_id.clone(), i);
                let diff = self.files.diff_of(tool, arguments);
                self.push(
                    seq,
                    CellKind::Tool {
                        call_id: call_id.clone(),
                        tool: tool.clone(),
                        args: arguments.to_string(),
                        status: ToolStatus::Running,
                        output: String::new(),
                        note: rule.map(|r| format!("allowed by rule {r}")),
                        diff,
                    },
                )
            }
            EventKind::ApprovalRequested { call_id, diff, .. } => {
                let shown = self.update_tool(call_id, |status, _, _| {
                    *status = ToolStatus::AwaitingApproval
                });
                // The daemon's diff, made from the file on disk, is the one to show.
                if let Some(d) = diff
                    && let Some(CellKind::Tool {
                        tool, diff: mine, ..
                    }) = self
                        .tools
                        .get(call_id)
                        .and_then(|&i| self.cells.get_mut(i))
                        .map(|c| &mut c.kind)
                    && super::diffs::is_file_change(tool)
                {
                    *mine = Some(d.clone());
                }
                shown
            }
            EventKind::ApprovalDecided {
                call_id,
                decision,
                reason,
                rule,
            } => self.update_tool(call_id, |status, _, note| match decision {
                Decision::Approved => {
                    *status = ToolStatus::Approved;
                    if let Some(r) = rule {
                        *note = Some(format!("approved by rule {r}"));
                    }
                }
                _ => {
                    // Denied: no longer pending, even before its result arrives.
                    *status = ToolStatus::Done { is_error: true };
                    *note = Some(
                        reason
                            .clone()
                            .map_or_else(|| "denied".to_string(), |r| format!("denied: {r}")),
                    )
                }
            }),
            EventKind::ToolResult {
                call_id,
                output,
                is_error,
                ..
            } => {
                if !*is_error {
                    self.learn(call_id, output);
                }
                self.update_tool(call_id, |status, out, _| {
                    *status = ToolStatus::Done {
                        is_error: *is_error,
                    };
                    *out = output.clone();
                })
            }
            EventKind::TurnStarted | EventKind::State { .. } | EventKind::Unknown => false,
            EventKind::ContextCompacted {
                summary,
                through_seq,
                tool_outputs_through,
                user_messages,
                tokens_before,
                tokens_after,
                reason,
                ..
            } => self.push(
                seq,
                CellKind::Compaction {
                    reason: *reason,
                    tokens_before: *tokens_before,
                    tokens_after: *tokens_after,
                    through_seq: *through_seq,
                    tool_outputs_through: *tool_outputs_through,
                    summary: summary.clone(),
                    user_messages: user_messages.clone(),
                },
            ),
            EventKind::BudgetExhausted { spent, limit } => self.push(
                seq,
                CellKind::Notice {
                    text: format!(
                        "budget exhausted: {}",
                        crate::render::budget_text(spent, limit)
                    ),
                    tone: Tone::Warn,
                },
            ),
            EventKind::SessionForked { from, at, .. } => self.push(
                seq,
                CellKind::Notice {
                    text: if *at > 1 {
                        format!("forked from {from} at seq {at}: the events above are {from}'s")
                    } else {
                        format!("forked from {from} at seq {at}")
                    },
                    tone: Tone::Dim,
                },
            ),
            EventKind::InstructionsChanged { path, removed } => self.push(
                seq,
                CellKind::Notice {
                    text: if *removed {
                        format!("instructions removed: {path}")
                    } else {
                        format!("instructions changed: {path}")
                    },
                    tone: Tone::Dim,
                },
            ),
            EventKind::ApprovalRuleAdded { rule, .. } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("always allow: {} (rule {})", rule_text(rule), rule.id),
                    tone: Tone::Warn,
                },
            ),
            EventKind::ApprovalRuleRemoved { rule } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("rule {} removed: {} asks again", rule.id, rule_text(rule)),
                    tone: Tone::Dim,
                },
            ),
            EventKind::TurnCompleted => self.push(
                seq,
                CellKind::Notice {
                    text: "turn completed".into(),
                    tone: Tone::Dim,
                },
            ),
            EventKind::TurnInterrupted { reason } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("turn interrupted: {reason}"),
                    tone: Tone::Warn,
                },
            ),
            EventKind::TurnFailed { error } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("turn failed: {error}"),
                    tone: Tone::Bad,
                },
            ),
            EventKind::TurnResumed { attempt } => self.push(
                seq,
                CellKind::Notice {
                    text: format!("turn resumed after a daemon restart (resume {attempt})"),
                    tone: Tone::Warn,
                },
            ),
            EventKind::ToolsChanged {
                added,
                removed,
                errors,
                fixed,
            } => {
                let mut parts = Vec::new();
                if !added.is_empty() {
                    parts.push(format!("+{}", added.join(" +")));
                }
                if !removed.is_empty() {
                    parts.push(format!("-{}", removed.join(" -")));
                }
                let tone = if errors.is_empty() {
                    Tone::Dim
                } else {
                    Tone::Bad
                };
                parts.extend(errors.iter().cloned());
                parts.extend(fixed.iter().map(|f| format!("fixed: {f} parses again")));
                self.push(
                    seq,
                    CellKind::Notice {
                        text: format!("tools changed: {}", parts.join("; ")),
                        tone,
                    },
                )
            }
            EventKind::InputRequested { .. }
            | EventKind::InputAnswered { .. }
            | EventKind::SamplingRequested { .. }
            | EventKind::SamplingDecided { .. }
            | EventKind::SamplingAnswered { .. } => match self.questions.apply(&ev.kind) {
                Some((text, tone)) => self.push(seq, CellKind::Notice { text, tone }),
                None => false,
            },
            EventKind::Error { message } => self.push(
                seq,
                CellKind::Notice {
                    text: message.clone(),
                    tone: Tone::Warn,
                },
            ),
        }
    }

    fn push(&mut self, seq: u64, kind: CellKind) -> bool {
        self.by_seq.entry(seq).or_insert(self.cells.len());
        self.cells.push(Cell::new(seq, kind));
        true
    }

    /// What a successful call's result tells of its file (see `diffs.rs`).
    fn learn(&mut self, call_id: &str, output: &str) {
        let Some(CellKind::Tool { tool, args, .. }) = self
            .tools
            .get(call_id)
            .and_then(|&i| self.cells.get(i))
            .map(|c| &c.kind)
        else {
            return;
        };
        if let Ok(args) = serde_json::from_str::<serde_json::Value>(args) {
            let tool = tool.clone();
            self.files.learn(&tool, &args, output);
        }
    }

    /// The cell of tool call `call_id`, when it is loaded.
    pub fn tool_cell(&self, call_id: &str) -> Option<usize> {
        self.tools.get(call_id).copied()
    }

    /// The cell that event `seq` made or changed, when it is loaded.
    pub fn cell_of_seq(&self, seq: u64) -> Option<usize> {
        self.by_seq.get(&seq).copied()
    }

    fn update_tool(
        &mut self,
        call_id: &str,
        f: impl FnOnce(&mut ToolStatus, &mut String, &mut Option<String>),
    ) -> bool {
        let Some(&i) = self.tools.get(call_id) else {
            return false;
        };
        self.by_seq.insert(self.current_seq, i);
        let Some(cell) = self.cells.get_mut(i) else {
            return false;
        };
        if let CellKind::Tool {
            status,
            output,
            note,
            ..
        } = &mut cell.kind
        {
            f(status, output, note);
        }
        cell.touch();
        true
    }

    /// Calls waiting for approval: (call id, tool, arguments).
    pub fn pending_approvals(&self) -> Vec<(String, String, String)> {
        self.cells
            .iter()
            .filter_map(|c| match &c.kind {
                CellKind::Tool {
                    call_id,
                    tool,
                    args,
                    status: ToolStatus::AwaitingApproval,
                    ..
                } => Some((call_id.clone(), tool.clone(), args.clone())),
                _ => None,
            })
            .collect()
    }
}

/// A rule as the transcript names it: what it allows and where.
fn rule_text(rule: &ApprovalRule) -> String {
    let what = match &rule.prefix {
        Some(p) => format!("{} {p:?} …", rule.tool),
        None => format!("every {} call", rule.tool),
    };
    match (rule.scope, &rule.project) {
        (RuleScope::Project, Some(p)) => format!("{what} in project {p}"),
        (RuleScope::Project, None) => format!("{what} in this project"),
        _ => format!("{what} in this session"),
    }
}
