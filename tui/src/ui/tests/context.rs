//! Scenes for the context a session's model sees (issue 9): the status bar's
//! `ctx N%` and a compaction cell, collapsed and expanded. The snapshots are taken
//! in `mod.rs` (insta names them after the asserting module).

use serde_json::json;
use tether_shared::event::CompactReason;
use tether_shared::protocol::SessionInfo;
use tether_shared::{EventKind, SessionState};

use crate::ui::app::App;
use crate::ui::conn::FromDaemon;
use crate::ui::tests::fixtures::*;

/// A session whose first exchange was compacted away, then asked about it.
pub(super) fn compacted_kinds() -> Vec<EventKind> {
    vec![
        created(),
        user("REMEMBER alpha: the door code is 4711."),
        EventKind::TurnStarted,
        assistant("Noted: the door code is 4711."),
        EventKind::TurnCompleted,
        user("Fix the flaky test in tests/recovery.rs; no sleeps."),
        EventKind::TurnStarted,
        call(
            "call_1",
            "shell",
            json!({"command": "cargo test --test recovery"}),
        ),
        result(
            "call_1",
            "shell",
            "running 5 tests\ntest kill_9 ... FAILED\ntest result: FAILED. 4 passed; 1 failed",
            true,
        ),
        assistant("The wait in `kill_9` slept; it now waits on the log with a timeout."),
        EventKind::TurnCompleted,
        EventKind::ContextCompacted {
            summary: "The user is fixing the flaky test kill_9 in tests/recovery.rs.\n\
                      - Decided: wait on conditions with a timeout, never sleep.\n\
                      - Open: run the suite twice to be sure.\n\
                      - Files: tests/recovery.rs, tests/src/harness.rs"
                .into(),
            through_seq: 5,
            tool_outputs_through: 9,
            user_messages: vec!["REMEMBER alpha: the door code is 4711.".into()],
            tokens_before: 27_300,
            tokens_after: 6_120,
            reason: CompactReason::Auto,
            usage: None,
        },
        user("What was the door code?"),
        EventKind::TurnStarted,
        assistant("4711."),
        EventKind::TurnCompleted,
    ]
}

/// The session's summary with `tokens` of a 32,768-token window in use.
pub(super) fn with_context(app: &mut App, tokens: u64) {
    app.on_daemon(FromDaemon::Info(Box::new(SessionInfo {
        context_tokens: tokens,
        context_window: 32_768,
        state: SessionState::Idle,
        ..session_info()
    })));
}

/// The compacted session, its context 63% full.
pub(super) fn compacted() -> App {
    let mut app = session_with(compacted_kinds());
    with_context(&mut app, 20_640);
    app
}

/// The same with the cells expanded (ctrl-o).
pub(super) fn compacted_expanded() -> App {
    let mut app = compacted();
    ctrl(&mut app, 'o');
    app
}

#[test]
fn the_status_bar_shows_context_use_only_when_the_window_is_known() {
    let status = |app: &App| {
        screen(app, 160, 24)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    let mut app = session_with(compacted_kinds());
    assert!(!status(&app).contains("ctx"), "{}", status(&app));
    with_context(&mut app, 20_640);
    assert!(status(&app).contains(" · ctx 63% · "), "{}", status(&app));
    with_context(&mut app, 33_000);
    assert!(status(&app).contains("ctx 101%"), "{}", status(&app));
}

#[test]
fn a_compaction_cell_expands_to_its_summary_and_kept_messages() {
    let mut app = compacted();
    let collapsed = screen(&app, 80, 60);
    assert!(
        collapsed.contains(
            "── context compacted (auto) · 27,300 → 6,120 tokens · events 1–5 summarised"
        ),
        "{collapsed}"
    );
    assert!(
        collapsed.contains("│ The user is fixing the flaky test"),
        "{collapsed}"
    );
    assert!(collapsed.contains("(+3 lines)"), "{collapsed}");
    assert!(!collapsed.contains("Open: run the suite"), "{collapsed}");
    ctrl(&mut app, 'o');
    let expanded = screen(&app, 80, 60);
    for line in [
        "│ - Open: run the suite twice to be sure.",
        "user messages kept verbatim (1)",
        "› REMEMBER alpha: the door code is 4711.",
        "tool outputs up to seq 9 are shown to the model as stubs",
    ] {
        assert!(expanded.contains(line), "{line:?} in\n{expanded}");
    }
    let v = app.session.as_ref().expect("attached");
    let found = crate::ui::transcript::CellKind::Compaction {
        reason: CompactReason::Auto,
        tokens_before: 27_300,
        tokens_after: 6_120,
        through_seq: 5,
        tool_outputs_through: 9,
        summary: String::new(),
        user_messages: Vec::new(),
    };
    assert!(
        v.transcript
            .cells
            .iter()
            .any(|c| std::mem::discriminant(&c.kind) == std::mem::discriminant(&found)),
        "one cell, not a notice"
    );
}

#[test]
fn the_context_scenes_draw_at_small_sizes_without_panic() {
    for build in [compacted as fn() -> App, compacted_expanded] {
        for (w, h) in [(80, 24), (40, 10), (20, 5), (10, 4), (9, 3), (1, 1)] {
            let out = std::panic::catch_unwind(|| screen(&at_size(w, h, build), w, h));
            assert!(out.is_ok(), "panicked at {w}x{h}");
        }
    }
}

#[test]
fn the_status_bar_shows_tokens_cache_share_and_cost_against_the_budget() {
    use tether_shared::Usage;
    use tether_shared::event::Budget;
    use tether_shared::protocol::CostBasis;
    let status = |app: &App| {
        screen(app, 200, 24)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    let usage = Usage {
        prompt_tokens: 40_000,
        completion_tokens: 2_000,
        cached_tokens: 36_000,
        ..Usage::default()
    };
    let mut app = session_with(compacted_kinds());
    app.on_daemon(FromDaemon::Info(Box::new(SessionInfo {
        usage,
        cost_usd: 0.0421,
        cost_basis: CostBasis::Estimate,
        ..session_info()
    })));
    let s = status(&app);
    assert!(s.contains(" · 42.0k tok · cache 90% · ~$0.042 · "), "{s}");

    // A local model with no price shows no cost; a budget shows what is left of it.
    app.on_daemon(FromDaemon::Info(Box::new(SessionInfo {
        usage,
        cost_basis: CostBasis::Unknown,
        budget: Budget {
            max_tokens: Some(50_000),
            max_cost_usd: None,
        },
        state: SessionState::BudgetExhausted,
        ..session_info()
    })));
    let s = status(&app);
    assert!(s.contains("budget_exhausted"), "{s}");
    assert!(s.contains(" · 42.0k/50.0k tok · cache 90% · "), "{s}");
    assert!(!s.contains('$'), "{s}");

    app.on_daemon(FromDaemon::Info(Box::new(SessionInfo {
        usage,
        cost_usd: 1.5,
        cost_basis: CostBasis::Config,
        budget: Budget {
            max_tokens: None,
            max_cost_usd: Some(2.0),
        },
        ..session_info()
    })));
    let s = status(&app);
    assert!(s.contains(" · $1.50/$2.00"), "{s}");
}
