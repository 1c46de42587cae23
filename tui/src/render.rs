//! Plain-text rendering of sessions and events for the CLI.

use tether_shared::event::ToolCallSpec;
use tether_shared::protocol::{SessionInfo, ToolServerInfo};
use tether_shared::{Event, EventKind, Usage};

/// Collapses whitespace and cuts to `max` characters with an ellipsis.
pub fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!(
            "{}…",
            flat.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    } else {
        flat
    }
}

fn args(v: &serde_json::Value) -> String {
    one_line(&v.to_string(), 160)
}

/// One event as a human reads it (may span lines for messages).
pub fn event(ev: &Event) -> String {
    let body = match &ev.kind {
        EventKind::SessionCreated {
            name, model, cwd, ..
        } => format!("session {name} created ({model}, {cwd})"),
        EventKind::UserMessage { text, delivery } => {
            format!("user ({}): {text}", delivery.as_str())
        }
        EventKind::AssistantMessage {
            text,
            tool_calls,
            partial,
            finish_reason,
            ..
        } => {
            let mut s = format!(
                "assistant{}: {text}",
                if *partial { " (cut short)" } else { "" }
            );
            if text.is_empty() {
                s = format!("assistant{}:", if *partial { " (cut short)" } else { "" });
            }
            for ToolCallSpec { tool, .. } in tool_calls {
                s.push_str(&format!(" [calls {tool}]"));
            }
            if finish_reason.as_deref() == Some(tether_shared::event::FINISH_LENGTH) {
                s.push_str(" [answer cut at the token limit]");
            }
            s
        }
        EventKind::ToolCall {
            call_id,
            tool,
            arguments,
        } => format!("tool call {tool} ({call_id}): {}", args(arguments)),
        EventKind::ApprovalRequested { call_id, tool, .. } => {
            format!("approval requested for {tool} ({call_id})")
        }
        EventKind::ApprovalDecided {
            call_id,
            decision,
            reason,
        } => {
            let d = match decision {
                tether_shared::Decision::Approved => "approved",
                tether_shared::Decision::Denied => "denied",
                tether_shared::Decision::Unknown => "decided",
            };
            match reason {
                Some(r) => format!("{d} {call_id}: {r}"),
                None => format!("{d} {call_id}"),
            }
        }
        EventKind::ToolResult {
            call_id,
            tool,
            output,
            is_error,
            ..
        } => format!(
            "tool result {tool} ({call_id}){}: {}",
            if *is_error { " ERROR" } else { "" },
            one_line(output, 200)
        ),
        EventKind::BudgetExhausted { spent, limit } => {
            format!("budget exhausted: {}", budget_text(spent, limit))
        }
        EventKind::ContextCompacted {
            summary,
            through_seq,
            tokens_before,
            tokens_after,
            reason,
            ..
        } => {
            let mut s = format!(
                "context compacted ({}): {tokens_before} -> {tokens_after} tokens",
                reason.as_str()
            );
            if *through_seq > 0 {
                s.push_str(&format!(", events 1-{through_seq} summarised"));
            }
            if !summary.is_empty() {
                s.push_str(&format!("\n  summary: {summary}"));
            }
            s
        }
        EventKind::InstructionsChanged { path, removed } => {
            if *removed {
                format!("instructions removed: {path}")
            } else {
                format!("instructions changed: {path}")
            }
        }
        EventKind::SessionForked { from, at, .. } if *at > 1 => {
            format!("forked from {from} at seq {at} (the events before are {from}'s)")
        }
        EventKind::SessionForked { from, at, .. } => format!("forked from {from} at seq {at}"),
        EventKind::TurnStarted => "turn started".into(),
        EventKind::TurnCompleted => "turn completed".into(),
        EventKind::TurnInterrupted { reason } => format!("turn interrupted: {reason}"),
        EventKind::TurnFailed { error } => format!("turn failed: {error}"),
        EventKind::TurnResumed { attempt } => {
            format!("turn resumed after a daemon restart (resume {attempt})")
        }
        EventKind::ToolsChanged {
            added,
            removed,
            errors,
            fixed,
        } => {
            format!(
                "tools changed: +[{}] -[{}]{}{}",
                added.join(", "),
                removed.join(", "),
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(" errors: {}", errors.join("; "))
                },
                if fixed.is_empty() {
                    String::new()
                } else {
                    format!(" fixed: {}", fixed.join(", "))
                }
            )
        }
        EventKind::State { state } => format!("state: {state}"),
        EventKind::Error { message } => format!("error: {message}"),
        EventKind::Unknown => "(an event this tether does not know)".into(),
    };
    format!(
        "[{}] {} {body}",
        ev.seq,
        ev.ts.get(11..19).unwrap_or(&ev.ts)
    )
}

/// The share of its model's context window a session's context fills, in percent
/// (rounded); `None` while the window is unknown (0).
pub fn context_percent(s: &SessionInfo) -> Option<u64> {
    (s.context_window > 0).then(|| {
        let (t, w) = (u128::from(s.context_tokens), u128::from(s.context_window));
        ((t * 100 + w / 2) / w).min(u128::from(u64::MAX)) as u64
    })
}

/// The `ls` table.
pub fn sessions(list: &[SessionInfo]) -> String {
    if list.is_empty() {
        return "no sessions; start one with `tether new`\n".into();
    }
    let mut rows = vec![
        [
            "NAME",
            "STATE",
            "CTX",
            "MODEL",
            "APPROVALS",
            "CLIENTS",
            "UPDATED",
            "DIR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in list {
        rows.push(vec![
            s.name.clone(),
            s.state.to_string(),
            context_percent(s).map_or_else(|| "-".to_string(), |p| format!("{p}%")),
            s.model.clone(),
            s.pending_approvals.len().to_string(),
            s.attached_clients.to_string(),
            s.updated_at
                .get(..19)
                .unwrap_or(&s.updated_at)
                .replace('T', " "),
            s.cwd.clone(),
        ]);
    }
    table(&rows)
}

/// What a session spent against which limit, for `budget_exhausted`.
pub fn budget_text(
    spent: &tether_shared::event::Spent,
    limit: &tether_shared::event::Budget,
) -> String {
    let mut parts = Vec::new();
    if let Some(t) = limit.max_tokens {
        parts.push(format!("{} of {t} tokens", spent.tokens));
    }
    if let Some(c) = limit.max_cost_usd {
        parts.push(format!("${:.4} of ${c:.2}", spent.cost_usd));
    }
    format!(
        "{}; no further model call until `tether budget` raises it",
        parts.join(", ")
    )
}

/// Of the input tokens, the share read from the provider's prompt cache (0 to 1).
pub fn cache_hit_share(u: &Usage) -> f64 {
    if u.prompt_tokens == 0 {
        0.0
    } else {
        u.cached_tokens as f64 / u.prompt_tokens as f64
    }
}

/// A session's budget and spending in one line, for `tether budget`.
pub fn budget_line(s: &SessionInfo) -> String {
    let mut limits = Vec::new();
    if let Some(t) = s.budget.max_tokens {
        limits.push(format!("{t} tokens"));
    }
    if let Some(c) = s.budget.max_cost_usd {
        limits.push(format!("${c:.2}"));
    }
    let limit = if limits.is_empty() {
        "no budget".to_string()
    } else {
        format!("budget {}", limits.join(", "))
    };
    format!(
        "{}: {}; spent {} tokens, ${:.4}; {}",
        s.name,
        limit,
        s.usage.prompt_tokens + s.usage.completion_tokens,
        s.cost_usd,
        s.state
    )
}

/// The `usage` table: a row per session and the total.
pub fn usage(list: &[SessionInfo]) -> String {
    let mut rows = vec![
        [
            "NAME",
            "INPUT",
            "CACHED",
            "CACHE-WRITE",
            "OUTPUT",
            "REASONING",
            "CACHE-HIT",
            "COST",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut total = Usage::default();
    let mut cost = 0.0;
    let row = |name: &str, u: &Usage, cost: f64| {
        vec![
            name.to_string(),
            u.prompt_tokens.to_string(),
            u.cached_tokens.to_string(),
            u.cache_write_tokens.to_string(),
            u.completion_tokens.to_string(),
            u.reasoning_tokens.to_string(),
            format!("{:.0}%", cache_hit_share(u) * 100.0),
            format!("${cost:.4}"),
        ]
    };
    for s in list {
        let u = &s.usage;
        total.prompt_tokens += u.prompt_tokens;
        total.completion_tokens += u.completion_tokens;
        total.cached_tokens += u.cached_tokens;
        total.cache_write_tokens += u.cache_write_tokens;
        total.reasoning_tokens += u.reasoning_tokens;
        cost += s.cost_usd;
        rows.push(row(&s.name, u, s.cost_usd));
    }
    rows.push(row("TOTAL", &total, cost));
    table(&rows)
}

/// The `tools` table.
pub fn tools(list: &[ToolServerInfo]) -> String {
    let mut rows = vec![
        ["SERVER", "STATUS", "TOOLS", "SOURCE", "ERROR"]
            .map(String::from)
            .to_vec(),
    ];
    for t in list {
        rows.push(vec![
            t.name.clone(),
            serde_json::to_value(t.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            t.tools.join(","),
            t.source.clone(),
            t.error.clone().unwrap_or_default(),
        ]);
    }
    let mut out = table(&rows);
    for t in list {
        for (original, model) in &t.renamed {
            out.push_str(&format!(
                "note: {}'s tool {original:?} is offered to the model as {model}\n",
                t.name
            ));
        }
    }
    out
}

fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
