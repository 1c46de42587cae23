//! Unit tests of the transcript: wrapping, cells updated in place, answers cut short.

use ratatui::text::{Line, Span};
use tether_shared::{Decision, Event, EventKind};

use super::cells::CUT_AT_TOKEN_LIMIT;
use super::*;
use serde_json::json;

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: "t".into(),
        kind,
    }
}

fn text_of(lines: &[Line<'_>]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect()
}

#[test]
fn wraps_at_spaces_and_breaks_long_words() {
    let l = wrap(vec![Span::raw("hello wide world")], 11, "");
    assert_eq!(text_of(&l), vec!["hello wide ", "world"]);
    let l = wrap(vec![Span::raw("abcdefghij")], 4, "");
    assert_eq!(text_of(&l), vec!["abcd", "efgh", "ij"]);
    for line in wrap(vec![Span::raw("日本語のテキストです")], 6, "") {
        assert!(line.width() <= 6);
    }
}

#[test]
fn tool_cells_update_in_place() {
    let mut t = Transcript::default();
    t.apply(&ev(
        1,
        EventKind::ToolCall {
            call_id: "c".into(),
            tool: "shell".into(),
            arguments: json!({"command": "ls"}),
            rule: None,
        },
    ));
    t.apply(&ev(
        2,
        EventKind::ApprovalRequested {
            call_id: "c".into(),
            tool: "shell".into(),
            diff: None,
        },
    ));
    assert_eq!(t.pending_approvals().len(), 1);
    t.apply(&ev(
        3,
        EventKind::ApprovalDecided {
            call_id: "c".into(),
            decision: Decision::Approved,
            reason: None,
            rule: None,
        },
    ));
    t.apply(&ev(
        4,
        EventKind::ToolResult {
            call_id: "c".into(),
            tool: "shell".into(),
            output: "a\nb".into(),
            is_error: false,
            images: Vec::new(),
        },
    ));
    assert_eq!(t.cells.len(), 1);
    assert!(t.pending_approvals().is_empty());
    let collapsed = t.cells[0].height(60, false);
    let expanded = t.cells[0].height(60, true);
    assert!(expanded > collapsed, "{collapsed} vs {expanded}");
    assert!(
        text_of(&t.cells[0].lines(60, false))
            .join("\n")
            .contains("(+1 lines)")
    );
}

#[test]
fn an_answer_cut_at_the_token_limit_says_so() {
    let mut t = Transcript::default();
    for (seq, reason) in [(1, "stop"), (2, "length")] {
        t.apply(&ev(
            seq,
            EventKind::AssistantMessage {
                text: format!("answer {seq}"),
                tool_calls: vec![],
                provider_items: Vec::new(),
                usage: None,
                partial: false,
                finish_reason: Some(reason.into()),
            },
        ));
    }
    let all: Vec<String> = t
        .cells
        .iter()
        .flat_map(|c| text_of(&c.lines(60, false)))
        .collect();
    let text = all.join("\n");
    assert_eq!(text.matches(CUT_AT_TOKEN_LIMIT).count(), 1, "{text}");
    assert!(
        text.find("answer 2").unwrap() < text.find(CUT_AT_TOKEN_LIMIT).unwrap(),
        "{text}"
    );
}

#[test]
fn a_fork_note_says_where_the_copied_events_end() {
    let mut t = Transcript::default();
    let fork = |at| EventKind::SessionForked {
        from: "main".into(),
        from_id: "s-1".into(),
        at,
    };
    t.apply(&ev(8, fork(7)));
    t.apply(&ev(2, fork(1)));
    let texts: Vec<String> = t.cells.iter().map(|c| c.plain()).collect();
    assert_eq!(
        texts,
        [
            "forked from main at seq 7: the events above are main's",
            "forked from main at seq 1"
        ]
    );
}

#[test]
fn a_compaction_without_a_summary_says_what_was_cut_and_has_nothing_to_expand() {
    let mut t = Transcript::default();
    t.apply(&ev(
        9,
        EventKind::ContextCompacted {
            summary: String::new(),
            through_seq: 0,
            tool_outputs_through: 6,
            user_messages: vec![],
            tokens_before: 1_234_567,
            tokens_after: 999,
            reason: tether_shared::event::CompactReason::Overflow,
            usage: None,
        },
    ));
    let collapsed = text_of(&t.cells[0].lines(100, false));
    assert_eq!(
        collapsed,
        [
            "── context compacted (overflow) · 1,234,567 → 999 tokens · tool outputs to seq 6 cut",
            ""
        ]
    );
    let expanded = text_of(&t.cells[0].lines(100, true));
    assert_eq!(
        expanded[1],
        "   tool outputs up to seq 6 are shown to the model as stubs"
    );
}

/// A long answer of every kind of block, each kind many times.
fn long_answer() -> String {
    let mut s = String::from("# The report\n\nIt starts with a summary.\n");
    for i in 0..120 {
        s.push_str(&format!(
            "\n## Part {i}\n\nA paragraph with **bold**, `code` and a [link](https://example.com/{i}) \
             that goes on long enough to wrap at a narrow width, and then some more words.\n\n\
             1. first of a loose list\n\n   its second paragraph\n\n2. second\n\n\
             - a tight list\n- of two\n\n> a quote\n> of two lines\n\n\
             ```rust\nfn part_{i}() {{\n\n    let x = 1;\n}}\n```\n\n\
             | col | another |\n|---|---|\n| {i} | a cell that is wide |\n\n---\n\n\
             日本語の段落 {i} です。\n"
        ));
    }
    s
}

#[test]
fn a_long_answers_last_lines_alone_are_the_last_lines_of_the_whole() {
    let text = long_answer();
    for width in [24u16, 60, 120] {
        for n in [1usize, 7, 33, 80] {
            let whole = super::cells::Cell::new(
                1,
                CellKind::Assistant {
                    text: text.clone(),
                    partial: n == 7,
                },
            );
            let alone = super::cells::Cell::new(
                1,
                CellKind::Assistant {
                    text: text.clone(),
                    partial: n == 7,
                },
            );
            let all = text_of(&whole.lines(width, false));
            let last = text_of(&alone.last_lines(width, false, n));
            assert!(
                last.len() > n,
                "width {width}, {n} lines: got {}",
                last.len()
            );
            // Laid out alone: fewer lines than the whole (else nothing was saved).
            assert!(last.len() < all.len() / 2, "width {width}, {n} lines");
            assert_eq!(
                last[..],
                all[all.len() - last.len()..],
                "width {width}, {n} lines"
            );
            // Styles too, not only the text.
            let (a, l) = (whole.lines(width, false), alone.last_lines(width, false, n));
            assert_eq!(l[..], a[a.len() - l.len()..], "width {width}, {n} lines");
        }
    }
    // Once laid out whole, that is what is shown.
    let c = super::cells::Cell::new(
        1,
        CellKind::Assistant {
            text,
            partial: false,
        },
    );
    let all = c.lines(60, false).len();
    assert_eq!(c.last_lines(60, false, 5).len(), all);
}
