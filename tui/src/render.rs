//! Plain-text rendering of sessions and events for the CLI.

use tether_shared::event::ToolCallSpec;
use tether_shared::protocol::{CostBasis, SessionInfo, ToolServerInfo};
use tether_shared::rules::{ApprovalRule, RuleScope};
use tether_shared::{Event, EventKind, Usage};

mod schedules;
mod worktree;
pub use schedules::{schedule_time, schedules};
pub use tether_shared::protocol::LsReply;
use tether_shared::protocol::context_percent_of;
#[cfg(test)]
use tether_shared::protocol::{ListRow, list_table};
pub use worktree::worktree_outcome;

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
            rule,
        } => {
            let mut s = format!("tool call {tool} ({call_id}): {}", args(arguments));
            if let Some(rule) = rule {
                s.push_str(&format!(" [allowed by rule {rule}]"));
            }
            s
        }
        EventKind::ApprovalRequested { call_id, tool, .. } => {
            format!("approval requested for {tool} ({call_id})")
        }
        EventKind::ApprovalDecided {
            call_id,
            decision,
            reason,
            rule,
        } => {
            let d = match decision {
                tether_shared::Decision::Approved => "approved",
                tether_shared::Decision::Denied => "denied",
                tether_shared::Decision::Unknown => "decided",
            };
            match (reason, rule) {
                (_, Some(rule)) => format!("{d} {call_id} by rule {rule}"),
                (Some(r), None) => format!("{d} {call_id}: {r}"),
                (None, None) => format!("{d} {call_id}"),
            }
        }
        EventKind::ApprovalRuleAdded { rule, call_id } => {
            let mut s = format!("rule {} added: always allow {}", rule.id, rule_scope(rule));
            if let Some(call) = call_id {
                s.push_str(&format!(" (approving {call})"));
            }
            s
        }
        EventKind::ApprovalRuleRemoved { rule } => {
            format!("rule {} removed: {}", rule.id, rule_scope(rule))
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
        EventKind::InputRequested {
            request_id,
            server,
            message,
            url,
            ..
        } => match url {
            Some(url) => format!("{server} asks ({request_id}): {message} [open {url}]"),
            None => format!("{server} asks ({request_id}): {message}"),
        },
        EventKind::InputAnswered {
            request_id,
            action,
            content,
            note,
        } => {
            let mut s = format!("answered {request_id}: {}", action.as_str());
            if let Some(c) = content {
                s.push_str(&format!(" {}", args(c)));
            }
            if let Some(n) = note {
                s.push_str(&format!(" ({n})"));
            }
            s
        }
        EventKind::SamplingRequested {
            request_id,
            server,
            max_tokens,
            ..
        } => format!(
            "{server} asks the model for a completion ({request_id}, at most {max_tokens} tokens)"
        ),
        EventKind::SamplingDecided {
            request_id,
            decision,
            by_policy,
            ..
        } => format!(
            "sampling {request_id} {}{}",
            if *decision == tether_shared::Decision::Approved {
                "approved"
            } else {
                "denied"
            },
            if *by_policy {
                " by the approval policy"
            } else {
                ""
            }
        ),
        EventKind::SamplingAnswered {
            request_id,
            text,
            error,
            ..
        } => match (text, error) {
            (_, Some(e)) => format!("sampling {request_id} failed: {e}"),
            (Some(t), None) => format!("sampling {request_id} answered: {}", one_line(t, 200)),
            (None, None) => format!("sampling {request_id} answered"),
        },
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
    context_percent_of(s.context_tokens, s.context_window)
}

/// A cost limit as it was set: cents at least, and the digits it has below a
/// cent (`$2.50`, `$0.05`, `$0.001`, `$0.0049`).
pub fn limit_dollars(usd: f64) -> String {
    let s = format!("{usd:.6}");
    let s = s.trim_end_matches('0');
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    format!("${whole}.{frac:0<2}")
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
        parts.push(format!("${:.4} of {}", spent.cost_usd, limit_dollars(c)));
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

/// What a session cost, as the `usage` table and the TUI show it: `~` marks a
/// built-in estimate, `-` a model with no known price.
pub fn cost_text(s: &SessionInfo) -> String {
    match s.cost_basis {
        CostBasis::Config => format!("${:.4}", s.cost_usd),
        CostBasis::Estimate => format!("~${:.4}", s.cost_usd),
        CostBasis::Unknown => "-".into(),
    }
}

/// A token count in a few characters: `950`, `12.3k`, `4.56M`.
pub fn short_count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..999_950 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}

/// The tokens a session spent, for the TUI's status bar: `12.3k`, or `12.3k/50.0k`
/// against a token budget.
pub fn status_tokens(s: &SessionInfo) -> String {
    let spent = short_count(s.usage.prompt_tokens + s.usage.completion_tokens);
    match s.budget.max_tokens {
        Some(max) => format!("{spent}/{}", short_count(max)),
        None => spent,
    }
}

/// What a session cost, for the TUI's status bar (`~$0.42`, or `$0.42/$1.00`
/// against a cost budget); none when no price is known and no cost budget set.
pub fn status_cost(s: &SessionInfo) -> Option<String> {
    let spent = match s.cost_basis {
        CostBasis::Config => dollars(s.cost_usd),
        CostBasis::Estimate => format!("~{}", dollars(s.cost_usd)),
        CostBasis::Unknown if s.budget.max_cost_usd.is_some() => "$?".into(),
        CostBasis::Unknown => return None,
    };
    Some(match s.budget.max_cost_usd {
        Some(max) => format!("{spent}/{}", dollars(max)),
        None => spent,
    })
}

/// Dollars in a few characters, with cents to spare below $1: `$0.035`, `$12.40`.
fn dollars(usd: f64) -> String {
    if usd < 1.0 {
        format!("${usd:.3}")
    } else {
        format!("${usd:.2}")
    }
}

/// A session's budget and spending in one line, for `tether budget`.
pub fn budget_line(s: &SessionInfo) -> String {
    let mut limits = Vec::new();
    if let Some(t) = s.budget.max_tokens {
        limits.push(format!("{t} tokens"));
    }
    if let Some(c) = s.budget.max_cost_usd {
        limits.push(limit_dollars(c));
    }
    let limit = if limits.is_empty() {
        "no budget".to_string()
    } else {
        format!("budget {}", limits.join(", "))
    };
    format!(
        "{}: {}; spent {} tokens, {}; {}",
        s.name,
        limit,
        s.usage.prompt_tokens + s.usage.completion_tokens,
        cost_text(s),
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
    let row = |name: &str, u: &Usage, cost: String| {
        vec![
            name.to_string(),
            u.prompt_tokens.to_string(),
            u.cached_tokens.to_string(),
            u.cache_write_tokens.to_string(),
            u.completion_tokens.to_string(),
            u.reasoning_tokens.to_string(),
            format!("{:.0}%", cache_hit_share(u) * 100.0),
            cost,
        ]
    };
    let estimated = list.iter().any(|s| s.cost_basis == CostBasis::Estimate);
    let unpriced = list.iter().any(|s| s.cost_basis == CostBasis::Unknown);
    for s in list {
        total += s.usage;
        cost += s.cost_usd;
        rows.push(row(&s.name, &s.usage, cost_text(s)));
    }
    // Sessions with no price count nothing: the total is then at least this.
    let total_cost = format!(
        "{}{}${cost:.4}",
        if unpriced { ">=" } else { "" },
        if estimated { "~" } else { "" }
    );
    rows.push(row("TOTAL", &total, total_cost));
    let mut out = table(&rows);
    if estimated {
        out.push_str(
            "~ an estimate from tether's built-in prices; set input_per_mtok and output_per_mtok \
             in [models.\"PROVIDER/MODEL\"] for the prices you pay\n",
        );
    }
    if unpriced {
        out.push_str(
            "- no price known for the model (the total leaves it out); set input_per_mtok and \
             output_per_mtok in [models.\"PROVIDER/MODEL\"] to count its cost\n",
        );
    }
    out
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
            match t.status {
                tether_shared::protocol::ServerStatus::NeedsLogin => "needs login".to_string(),
                s => serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
            },
            t.tools.join(","),
            t.source.clone(),
            t.error.clone().unwrap_or_default(),
        ]);
    }
    let mut out = table(&rows);
    for t in list {
        if let Some(login) = &t.login {
            let scope = login
                .scope
                .as_ref()
                .map(|s| format!(" (scope: {s})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "note: {} needs login{scope}: run `{}`\n",
                t.name, login.command
            ));
        }
        for (original, model) in &t.renamed {
            out.push_str(&format!(
                "note: {}'s tool {original:?} is offered to the model as {model}\n",
                t.name
            ));
        }
    }
    out
}

/// `tether prompts`: one row per prompt, its arguments (`city*` for a required
/// one) and description.
pub fn prompts(list: &[tether_shared::protocol::PromptInfo]) -> String {
    if list.is_empty() {
        return "no tool server offers prompts\n".to_string();
    }
    let mut rows = vec![
        ["SERVER", "PROMPT", "ARGUMENTS", "DESCRIPTION"]
            .map(String::from)
            .to_vec(),
    ];
    for p in list {
        let args: Vec<String> = p
            .arguments
            .iter()
            .map(|a| format!("{}{}", a.name, if a.required { "*" } else { "" }))
            .collect();
        rows.push(vec![
            p.server.clone(),
            p.name.clone(),
            args.join(","),
            p.description.clone().unwrap_or_default(),
        ]);
    }
    let mut out = table(&rows);
    if list.iter().any(|p| p.arguments.iter().any(|a| a.required)) {
        out.push_str(
            "* required; send one with `tether send NAME --prompt SERVER/PROMPT --arg K=V`\n",
        );
    }
    out
}

/// What a rule allows and where: `shell commands starting with "ls", in this session`.
fn rule_scope(rule: &ApprovalRule) -> String {
    match (rule.scope, &rule.project) {
        (RuleScope::Project, Some(p)) => format!("{}, in project {p}", rule.describe()),
        (RuleScope::Project, None) => format!("{}, in the project", rule.describe()),
        _ => format!("{}, in this session", rule.describe()),
    }
}

/// What `tether approve --always` says on stderr about the rule it added.
pub fn rule_added(rule: &ApprovalRule, by_rule: &[String]) -> String {
    let mut s = format!("rule {}: always allow {}", rule.id, rule_scope(rule));
    if !by_rule.is_empty() {
        s.push_str(&format!("; it also approved {}", by_rule.join(", ")));
    }
    s
}

/// `tether approvals NAME`: one rule a line, or a sentence when there is none.
pub fn rules(list: &[ApprovalRule]) -> String {
    if list.is_empty() {
        return "no rules: every call asks as [approvals] says \
                (`tether approve NAME CALL_ID --always` adds one)\n"
            .into();
    }
    let mut rows = vec![
        ["ID", "SCOPE", "TOOL", "PREFIX", "CREATED", "PROJECT"]
            .map(String::from)
            .to_vec(),
    ];
    for r in list {
        rows.push(vec![
            r.id.to_string(),
            r.scope.as_str().to_string(),
            r.tool.clone(),
            r.prefix
                .as_deref()
                .map_or_else(|| "(any call)".to_string(), |p| format!("{p:?}")),
            r.created_at
                .get(..19)
                .unwrap_or(&r.created_at)
                .replace('T', " "),
            r.project.clone().unwrap_or_default(),
        ]);
    }
    table(&rows)
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

#[cfg(test)]
mod tests {
    use tether_shared::protocol::{ListItem, ListParams, ListShape};

    use super::*;

    fn info(name: &str, usage: Usage, cost_usd: f64, cost_basis: CostBasis) -> SessionInfo {
        SessionInfo {
            id: format!("s-{name}"),
            name: name.into(),
            state: tether_shared::SessionState::Idle,
            model: "p/m".into(),
            cwd: "/w".into(),
            created_at: String::new(),
            updated_at: String::new(),
            pending_approvals: vec![],
            queued_inputs: 0,
            attached_clients: 0,
            last_seq: 0,
            usage,
            instructions: None,
            last_error: None,
            context_tokens: 0,
            context_window: 0,
            budget: Default::default(),
            cost_usd,
            cost_basis,
            waiting_since: None,
            pending_inputs: Vec::new(),
            worktree: None,
            node: None,
            portable: false,
        }
    }

    /// The `ls` table as it was made before `list_table` (one `String` per
    /// cell, `format!` padding): the new one must print the same bytes.
    fn ls_table_before(list: &[SessionInfo]) -> String {
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
                (s.pending_approvals.len() + s.pending_inputs.len()).to_string(),
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

    fn sessions(list: &[SessionInfo]) -> String {
        let rows: Vec<ListRow> = list.iter().map(ListRow::from).collect();
        list_table(&rows)
    }

    #[test]
    fn the_ls_table_prints_what_it_printed_before_from_lean_rows() {
        let mut list = Vec::new();
        let mut a = info("alpha", Usage::default(), 0.0, CostBasis::Config);
        a.updated_at = "2026-12-01T20:36:25.123Z".into();
        a.context_tokens = 51_234;
        a.context_window = 200_000;
        a.pending_approvals = vec!["c1".into(), "c2".into()];
        a.pending_inputs = vec!["q".into()];
        a.attached_clients = 3;
        list.push(a);
        let mut b = info("ünïcødé-名前", Usage::default(), 0.0, CostBasis::Config);
        b.state = tether_shared::SessionState::AwaitingApproval;
        b.updated_at = "short".into();
        b.cwd = "/w/dir with trailing space ".into();
        b.model = "provider/a-much-longer-model-name".into();
        list.push(b);
        let mut c = info("c", Usage::default(), 0.0, CostBasis::Config);
        c.updated_at = "2026-01-01T00:00:00".into();
        c.cwd = String::new();
        c.context_tokens = 7;
        c.context_window = 1;
        list.push(c);
        for n in 0..list.len() {
            let rows = &list[..n];
            assert_eq!(sessions(rows), ls_table_before(rows), "{n} rows");
            // And read from the JSON of the list, as `tether ls` reads it.
            let json = serde_json::to_string(rows).unwrap();
            let lean: Vec<ListRow> = serde_json::from_str(&json).unwrap();
            assert_eq!(
                list_table(&lean),
                ls_table_before(rows),
                "{n} rows from JSON"
            );
        }
        assert_eq!(sessions(&list), ls_table_before(&list));
        let json = serde_json::to_string(&list).unwrap();
        let lean: Vec<ListRow> = serde_json::from_str(&json).unwrap();
        assert_eq!(list_table(&lean), ls_table_before(&list));
        assert!(list_table(&lean).contains("ünïcødé-名前"));
        // And from rows, as `tether ls` asks for the list now (issue 13), with
        // and without a worktree's branch.
        let shape = ListShape::new(&ListParams {
            fields: Some(
                tether_shared::protocol::LS_FIELDS
                    .map(String::from)
                    .to_vec(),
            ),
            rows: true,
            table: false,
        });
        let from_rows = |list: &[SessionInfo]| {
            let items: Vec<ListItem> = list.iter().map(|s| ListItem(s, &shape)).collect();
            let json = serde_json::to_string(&items).unwrap();
            assert!(json.starts_with("[[\""), "{json}");
            let lean: Vec<ListRow> = serde_json::from_str(&json).unwrap();
            list_table(&lean)
        };
        assert_eq!(from_rows(&list), ls_table_before(&list));
        list[1].worktree = Some(
            serde_json::from_value(serde_json::json!({
                "path": "/r/.tether/worktrees/w", "branch": "tether/w", "repo": "/r",
                "base_commit": "0123abcd"
            }))
            .unwrap(),
        );
        assert!(from_rows(&list).contains("tether/w"));
        assert_eq!(from_rows(&list), sessions(&list));
    }

    #[test]
    fn the_ls_table_shows_a_node_column_only_on_a_fleet() {
        let mut a = info("alpha", Usage::default(), 0.0, CostBasis::Config);
        a.updated_at = "2026-12-01T20:36:25.123Z".into();
        let mut b = info("beta", Usage::default(), 0.0, CostBasis::Config);
        b.updated_at = "2026-12-01T20:36:25.123Z".into();
        assert!(!sessions(&[a.clone(), b.clone()]).contains("NODE"));
        a.node = Some("build-1".into());
        let t = sessions(&[a, b]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].ends_with("UPDATED              NODE     DIR"),
            "{t}"
        );
        assert!(lines[1].contains(" build-1  "), "{t}");
        // A session no node holds (its owner died, none took it yet) shows "-".
        assert!(lines[2].contains(" -        "), "{t}");
    }

    #[test]
    fn the_usage_table_sums_sessions_and_marks_estimates_and_unpriced_models() {
        let u = |prompt, cached| Usage {
            prompt_tokens: prompt,
            completion_tokens: 10,
            cached_tokens: cached,
            ..Usage::default()
        };
        let out = usage(&[
            info("a", u(1000, 900), 0.5, CostBasis::Config),
            info("b", u(1000, 0), 0.25, CostBasis::Estimate),
            info("c", u(2000, 1100), 0.0, CostBasis::Unknown),
        ]);
        let lines: Vec<&str> = out.lines().collect();
        let cols = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(cols(lines[1])[6..], ["90%", "$0.5000"], "{out}");
        assert_eq!(cols(lines[2])[6..], ["0%", "~$0.2500"], "{out}");
        assert_eq!(cols(lines[3])[6..], ["55%", "-"], "{out}");
        assert_eq!(
            cols(lines[4]),
            ["TOTAL", "4000", "2000", "0", "30", "0", "50%", ">=~$0.7500"],
            "{out}"
        );
        assert!(lines[5].starts_with("~ an estimate"), "{out}");
        assert!(lines[6].starts_with("- no price known"), "{out}");
    }

    #[test]
    fn a_cost_limit_shows_the_digits_it_was_set_with() {
        assert_eq!(limit_dollars(2.5), "$2.50");
        assert_eq!(limit_dollars(0.05), "$0.05");
        assert_eq!(limit_dollars(0.001), "$0.001");
        assert_eq!(limit_dollars(0.0049), "$0.0049");
        assert_eq!(limit_dollars(10.0), "$10.00");
    }

    #[test]
    fn counts_are_short() {
        assert_eq!(short_count(950), "950");
        assert_eq!(short_count(13_750), "13.8k");
        assert_eq!(short_count(999_949), "999.9k");
        assert_eq!(short_count(999_950), "1.00M");
        assert_eq!(short_count(4_560_000), "4.56M");
    }
}
