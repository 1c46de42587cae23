//! Planning a compaction, cheapest stage first: (a) old tool outputs become stubs
//! that say how to read them back; (b) if that is not enough, the older
//! conversation is summarised by the session's own model, (c) keeping the user's
//! messages verbatim as long as they fit. The recent conversation stays verbatim.
//!
//! Everything here is pure: the actor runs the summary requests through a worker
//! and records the result as a `context_compacted` event, which the projection
//! (`view.rs`) replays.

use std::sync::Arc;

use tether_shared::EventKind;
use tether_shared::event::CompactReason;

use super::tokens;
use super::view::{Context, Entry, cut_output};
use crate::model::{Message, Role};

/// The sizes a compaction works to, in estimated tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The model's window.
    pub window: u64,
    /// The request should end up at most this big.
    pub target: u64,
    /// Recent conversation kept verbatim.
    pub keep_recent: u64,
}

impl Limits {
    /// Room for the user's messages kept verbatim.
    pub fn user_budget(&self) -> u64 {
        self.window / 8
    }

    /// Room for the summary: a tenth of the window, within sensible bounds.
    pub fn summary_tokens(&self) -> u64 {
        (self.window / 10).clamp(80, 1600)
    }
}

/// What a compaction will do.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Why.
    pub reason: CompactReason,
    /// Estimated tokens of the request before.
    pub tokens_before: u64,
    /// Entries before this index are summarised; 0 when stubs are enough.
    pub cut: usize,
    /// The last seq the new summary stands for (the previous one when `cut` is 0).
    pub through_seq: u64,
    /// Tool outputs up to this seq become stubs.
    pub tool_outputs_through: u64,
    /// The user's messages kept verbatim.
    pub user_messages: Vec<String>,
}

impl Plan {
    /// True when the model must write a summary.
    pub fn summarises(&self) -> bool {
        self.cut > 0
    }
}

/// Where the recent part that stays verbatim starts: the first index whose
/// entries up to the end fit in `keep` tokens.
fn recent_start(entries: &[Entry], keep: u64) -> usize {
    let mut sum = 0;
    let mut start = entries.len();
    while start > 0 {
        sum += entries[start - 1].tokens;
        if sum > keep {
            break;
        }
        start -= 1;
    }
    start
}

/// Plans a compaction of `ctx`, whose request costs `fixed` tokens besides the
/// conversation (system prompt, tools). `None` when there is nothing to compact.
/// A manual compaction summarises everything before the latest user message even
/// when the recent part would keep more.
pub fn plan(
    ctx: &Context,
    fixed: u64,
    limits: &Limits,
    reason: CompactReason,
    manual: bool,
) -> Option<Plan> {
    let entries = ctx.entries();
    let base = ctx.base();
    let before = fixed + ctx.tokens();
    // (a) Tool outputs older than the recent part become stubs.
    let t = recent_start(entries, limits.keep_recent);
    let tool_outputs_through = if t > 0 {
        entries[t - 1].seq.max(base.tool_outputs_through)
    } else {
        base.tool_outputs_through
    };
    let saved: u64 = entries[..t]
        .iter()
        .map(|e| {
            let mut stubbed = e.clone();
            cut_output(&mut stubbed);
            e.tokens.saturating_sub(stubbed.tokens)
        })
        .sum();
    let stubs_only = Plan {
        reason,
        tokens_before: before,
        cut: 0,
        through_seq: base.through_seq,
        tool_outputs_through,
        user_messages: base.user_messages.clone(),
    };
    if saved > 0 && before - saved <= limits.target && !manual {
        return Some(stubs_only);
    }
    // (b) The older part is summarised, from a point where a message starts.
    let mut cut = recent_start(entries, limits.keep_recent);
    if manual && let Some(last_user) = entries.iter().rposition(|e| e.user_text().is_some()) {
        cut = cut.max(last_user);
    }
    while cut < entries.len() && !entries[cut].starts_a_message() {
        cut += 1;
    }
    if cut == 0 {
        return (saved > 0).then_some(stubs_only);
    }
    // (c) The user's messages stay verbatim, the newest first, while they fit.
    let mut all: Vec<&str> = base.user_messages.iter().map(String::as_str).collect();
    all.extend(entries[..cut].iter().filter_map(Entry::user_text));
    let mut kept = Vec::new();
    let mut room = limits.user_budget();
    for m in all.iter().rev() {
        let cost = tokens::text(m) + 2;
        if cost > room {
            continue;
        }
        room -= cost;
        kept.push(m.to_string());
    }
    kept.reverse();
    Some(Plan {
        reason,
        tokens_before: before,
        cut,
        through_seq: entries[cut - 1].seq,
        tool_outputs_through,
        user_messages: kept,
    })
}

/// The summary requests of a plan: their conversations, run one after another,
/// each later one given the summary so far.
#[derive(Debug, Clone)]
pub struct SummaryJob {
    /// The first request shares the session's own prefix (the same system prompt,
    /// tools and messages), so the endpoint's prompt cache serves it.
    pub shares_prefix: bool,
    /// The system prompt.
    pub system: Arc<Message>,
    /// The messages of each request, without the prompt.
    pub chunks: Vec<Vec<Arc<Message>>>,
    /// The instruction to summarise, sent last.
    pub prompt: String,
}

impl SummaryJob {
    /// The messages of chunk `i`, given the summary so far.
    #[cfg(test)]
    pub fn messages(&self, i: usize, so_far: &str) -> Vec<Arc<Message>> {
        self.messages_of(&self.chunks[i], so_far)
    }

    /// The request that summarises `chunk` after the summary `so_far`.
    pub fn messages_of(&self, chunk: &[Arc<Message>], so_far: &str) -> Vec<Arc<Message>> {
        let mut out = vec![self.system.clone()];
        if !so_far.is_empty() {
            out.push(Arc::new(Message::text(
                Role::User,
                format!("[Summary of the conversation before this point]\n{so_far}"),
            )));
        }
        out.extend(chunk.iter().cloned());
        out.push(Arc::new(Message::text(Role::User, self.prompt.clone())));
        out
    }
}

/// A chunk whose summary request the model refused as over its window (the
/// estimate was short of the model's own count): its two halves, summarised
/// one after the other; a single message is cut to half its length instead.
/// `None` for a chunk that cannot get smaller.
pub fn split_chunk(chunk: &[Arc<Message>]) -> Option<Vec<Vec<Arc<Message>>>> {
    match chunk.len() {
        0 => None,
        1 => {
            let m = &chunk[0];
            let cost = tokens::message(m);
            if cost < 64 {
                return None;
            }
            let short = shorten(m, cost / 2);
            (tokens::message(&short) < cost).then(|| vec![vec![Arc::new(short)]])
        }
        n => Some(vec![chunk[..n / 2].to_vec(), chunk[n / 2..].to_vec()]),
    }
}

/// The instruction that asks for a summary.
pub fn summary_prompt(words: u64, instructions: Option<&str>) -> String {
    let mut p = format!(
        "Summarise the conversation so far for yourself. The earlier messages will be \
         removed from your context and this summary takes their place, so keep what is \
         needed to continue the work: the user's goals and requests, and every fact, \
         name, number or instruction the user gave (quote them exactly); decisions made \
         and why; open tasks and next steps; file paths, commands and identifiers that \
         matter; errors seen and whether they were resolved. Leave out greetings and \
         finished work that no longer matters. Do not call tools. Answer with the \
         summary only, in at most {words} words."
    );
    if let Some(extra) = instructions.map(str::trim).filter(|s| !s.is_empty()) {
        p.push_str("\n\nAlso, as the user asks: ");
        p.push_str(extra);
    }
    p
}

/// The summary requests for `plan`: the session's own prefix when it fits in the
/// window, else the part to summarise with its tool outputs cut, in chunks that fit.
pub fn summary_job(
    ctx: &Context,
    plan: &Plan,
    system: Arc<Message>,
    fixed: u64,
    limits: &Limits,
    instructions: Option<&str>,
) -> SummaryJob {
    let max_tokens = limits.summary_tokens();
    let prompt = summary_prompt(max_tokens * 3 / 4, instructions);
    let overhead = fixed + tokens::text(&prompt) + 2 * max_tokens + 16;
    let room = (limits.window * 9 / 10).saturating_sub(overhead).max(256);
    let entries = &ctx.entries()[..plan.cut];
    let mut prefix: Vec<Arc<Message>> = ctx.base_message().into_iter().cloned().collect();
    prefix.extend(entries.iter().map(|e| e.message.clone()));
    let prefix_tokens: u64 = ctx.base_message().map_or(0, |m| tokens::message(m))
        + entries.iter().map(|e| e.tokens).sum::<u64>();
    if prefix_tokens <= room {
        return SummaryJob {
            shares_prefix: true,
            system,
            chunks: vec![prefix],
            prompt,
        };
    }
    // Chunks that fit, after the tool outputs are cut and, for a single message
    // bigger than a chunk, its text shortened.
    let mut chunks: Vec<Vec<Arc<Message>>> = Vec::new();
    let mut chunk = Vec::new();
    let mut used = 0;
    if let Some(m) = ctx.base_message() {
        used += tokens::message(m);
        chunk.push(m.clone());
    }
    for e in entries {
        let mut e = e.clone();
        cut_output(&mut e);
        let mut msg = e.message.clone();
        let mut cost = e.tokens;
        if cost > room {
            msg = Arc::new(shorten(&msg, room));
            cost = tokens::message(&msg);
        }
        if used + cost > room && !chunk.is_empty() {
            chunks.push(std::mem::take(&mut chunk));
            used = 0;
        }
        used += cost;
        chunk.push(msg);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    SummaryJob {
        shares_prefix: false,
        system,
        chunks,
        prompt,
    }
}

/// A message's text cut to about `budget` tokens, saying so.
fn shorten(m: &Message, budget: u64) -> Message {
    let keep = (budget as usize * 4).saturating_sub(64);
    let parts = m
        .parts
        .iter()
        .map(|p| match p {
            crate::model::Part::Text(t) if t.len() > keep => {
                crate::model::Part::Text(format!("{} [... cut ...]", cut_str(t, keep)))
            }
            other => other.clone(),
        })
        .collect();
    Message {
        role: m.role,
        parts,
    }
}

/// At most `max` bytes of `s`, on a character boundary.
pub fn cut_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The event recording a compaction, with the sizes before and after it
/// (`calibrate` turns estimates into the endpoint's counts).
pub fn event(
    ctx: &Context,
    plan: &Plan,
    summary: String,
    fixed: u64,
    calibrate: impl Fn(u64) -> u64,
) -> EventKind {
    let summary = if plan.summarises() {
        summary
    } else {
        ctx.base().summary.clone()
    };
    let mut kind = EventKind::ContextCompacted {
        summary,
        through_seq: plan.through_seq,
        tool_outputs_through: plan.tool_outputs_through,
        user_messages: plan.user_messages.clone(),
        tokens_before: calibrate(plan.tokens_before),
        tokens_after: 0,
        reason: plan.reason,
        usage: None,
    };
    let mut after = ctx.clone();
    after.apply(&tether_shared::Event {
        seq: u64::MAX,
        ts: String::new(),
        kind: kind.clone(),
    });
    if let EventKind::ContextCompacted { tokens_after, .. } = &mut kind {
        *tokens_after = calibrate(fixed + after.tokens());
    }
    kind
}

#[cfg(test)]
mod split_tests {
    use std::sync::Arc;

    use super::split_chunk;
    use crate::model::{Message, Role};

    #[test]
    fn a_refused_chunk_splits_in_halves_and_a_single_message_is_cut() {
        let m = |t: &str| Arc::new(Message::text(Role::User, t.to_string()));
        let chunk = vec![m("a"), m("b"), m("c")];
        let parts = split_chunk(&chunk).unwrap();
        assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [1, 2]);
        let long = m(&"word ".repeat(2000));
        let cut = split_chunk(std::slice::from_ref(&long)).unwrap();
        assert_eq!(cut.len(), 1);
        assert!(
            super::tokens::message(&cut[0][0]) < super::tokens::message(&long),
            "shorter"
        );
        assert!(split_chunk(&[m("tiny")]).is_none(), "nothing left to cut");
        assert!(split_chunk(&[]).is_none());
    }
}
