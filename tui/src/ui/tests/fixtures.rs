//! Fixtures for the TUI tests: sessions and events with fixed ids and timestamps,
//! the daemon messages that carry them, helpers that drive an [`App`] the way the
//! event loop does (keys, draws at a simulated terminal size); the scenes (every
//! view and modal, built from daemon messages and keys) are in `fixtures/scene.rs`.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use tether_shared::protocol::{
    AttachResult, LiveParams, PartialState, ServerStatus, SessionInfo, ToolServerInfo,
};
use tether_shared::{Decision, Delivery, Event, EventKind, Live, SessionState, Usage};

use crate::ui::app::{ARM_DELAY, App, Clock, TimeZone};
use crate::ui::conn::FromDaemon;
use crate::ui::keymap::Keymap;
use crate::ui::view;

pub(super) mod scene;

pub(super) use scene::{SCENES, Scene};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

pub(super) const CWD: &str = "/home/ana/projects/tether";
pub(super) const SID: &str = "01JQ7Z3M8K";
const MODEL: &str = "openai/gpt-4o-mini";

pub(super) fn info(id: &str, name: &str, state: SessionState) -> SessionInfo {
    SessionInfo {
        id: id.into(),
        name: name.into(),
        state,
        model: MODEL.into(),
        cwd: CWD.into(),
        created_at: "2026-03-01T09:00:00Z".into(),
        updated_at: "2026-03-01T09:30:00Z".into(),
        pending_approvals: Vec::new(),
        queued_inputs: 0,
        attached_clients: 1,
        last_seq: 0,
        usage: Usage::default(),
        instructions: None,
        last_error: None,
        context_tokens: 0,
        context_window: 0,
        budget: Default::default(),
        cost_usd: 0.0,
        cost_basis: Default::default(),
        waiting_since: None,
        pending_inputs: Vec::new(),
        worktree: None,
        node: None,
        portable: false,
    }
}

/// The attached session's summary as the daemon would send it.
pub(super) fn session_info() -> SessionInfo {
    SessionInfo {
        attached_clients: 2,
        usage: Usage {
            prompt_tokens: 12_400,
            completion_tokens: 1_350,
            ..Default::default()
        },
        ..info(SID, "api-refactor", SessionState::Idle)
    }
}

pub(super) fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: format!("2026-03-01T10:{:02}:{:02}Z", seq / 60 % 60, seq % 60),
        kind,
    }
}

pub(super) fn created() -> EventKind {
    EventKind::SessionCreated {
        name: "api-refactor".into(),
        model: MODEL.into(),
        cwd: CWD.into(),
        instructions: None,
    }
}

pub(super) fn user(text: &str) -> EventKind {
    EventKind::UserMessage {
        text: text.into(),
        delivery: Delivery::Queue,
    }
}

pub(super) fn assistant(text: &str) -> EventKind {
    EventKind::AssistantMessage {
        text: text.into(),
        tool_calls: Vec::new(),
        provider_items: Vec::new(),
        usage: None,
        partial: false,
        finish_reason: None,
    }
}

pub(super) fn call(id: &str, tool: &str, args: serde_json::Value) -> EventKind {
    EventKind::ToolCall {
        call_id: id.into(),
        tool: tool.into(),
        arguments: args,
        rule: None,
    }
}

/// An approval request with the daemon's diff of the change.
pub(super) fn ask_with_diff(id: &str, tool: &str, diff: &str) -> EventKind {
    EventKind::ApprovalRequested {
        call_id: id.into(),
        tool: tool.into(),
        diff: Some(diff.into()),
    }
}

pub(super) fn ask(id: &str, tool: &str) -> EventKind {
    EventKind::ApprovalRequested {
        call_id: id.into(),
        tool: tool.into(),
        diff: None,
    }
}

pub(super) fn decided(id: &str, decision: Decision, reason: Option<&str>) -> EventKind {
    EventKind::ApprovalDecided {
        call_id: id.into(),
        decision,
        reason: reason.map(str::to_string),
        rule: None,
    }
}

pub(super) fn result(id: &str, tool: &str, output: &str, is_error: bool) -> EventKind {
    EventKind::ToolResult {
        call_id: id.into(),
        tool: tool.into(),
        output: output.into(),
        is_error,
        images: Vec::new(),
    }
}

pub(super) fn state(s: SessionState) -> EventKind {
    EventKind::State { state: s }
}

/// Numbers a list of event kinds from seq 1.
pub(super) fn numbered(kinds: Vec<EventKind>) -> Vec<Event> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, k)| ev(i as u64 + 1, k))
        .collect()
}

/// A finished history that has every kind of settled cell.
pub(super) fn history_kinds() -> Vec<EventKind> {
    vec![
        created(),
        user("List the files and fix the failing test."),
        EventKind::TurnStarted,
        state(SessionState::Running),
        assistant("I'll look at the **repository** first.\n\n- run `ls`\n- read the failing test"),
        call("call_1", "shell", json!({"command": "ls"})),
        result("call_1", "shell", "Cargo.toml\nsrc\ntests", false),
        call("call_2", "read_file", json!({"path": "tests/api.rs"})),
        result(
            "call_2",
            "read_file",
            "no such file or directory: tests/api.rs",
            true,
        ),
        EventKind::UserMessage {
            text: "also check the README".into(),
            delivery: Delivery::Steer,
        },
        call("call_3", "shell", json!({"command": "rm -rf target"})),
        ask("call_3", "shell"),
        state(SessionState::AwaitingApproval),
        decided("call_3", Decision::Denied, Some("keep the build cache")),
        result(
            "call_3",
            "shell",
            "the user denied this tool call: keep the build cache",
            true,
        ),
        state(SessionState::Running),
        assistant("Done: the test now passes and the README mentions `make test`."),
        EventKind::TurnCompleted,
        state(SessionState::Idle),
        user("now run the benchmarks"),
        EventKind::TurnStarted,
        EventKind::TurnInterrupted {
            reason: "interrupted by the user".into(),
        },
        EventKind::TurnResumed { attempt: 1 },
        EventKind::TurnFailed {
            error: "model provider: 429 Too Many Requests".into(),
        },
        EventKind::ToolsChanged {
            added: vec!["github__search".into()],
            removed: vec!["old__lint".into()],
            errors: Vec::new(),
            fixed: Vec::new(),
        },
        EventKind::Error {
            message: "retrying the model call (2/5): connection reset".into(),
        },
        state(SessionState::Idle),
    ]
}

/// The history plus a turn in progress: one call running, one awaiting approval.
pub(super) fn every_cell_kinds() -> Vec<EventKind> {
    let mut k = history_kinds();
    k.extend([
        user("try once more"),
        EventKind::TurnStarted,
        state(SessionState::Running),
        call("call_4", "shell", json!({"command": "cargo bench"})),
        call(
            "call_5",
            "write_file",
            json!({"path": "BENCH.md", "content": "# results"}),
        ),
        ask("call_5", "write_file"),
        state(SessionState::AwaitingApproval),
    ]);
    k
}

/// A short turn stopped at an approval.
pub(super) fn approval_kinds() -> Vec<EventKind> {
    vec![
        created(),
        user("Clean up the build directory."),
        EventKind::TurnStarted,
        state(SessionState::Running),
        assistant("I will remove the `target` directory."),
        call("call_9", "shell", json!({"command": "rm -rf target"})),
        ask("call_9", "shell"),
        state(SessionState::AwaitingApproval),
    ]
}

pub(super) fn attach_result(events: Vec<Event>, truncated: bool, partial: &str) -> FromDaemon {
    let last_seq = events.last().map_or(0, |e| e.seq);
    FromDaemon::Attached(Box::new(AttachResult {
        info: SessionInfo {
            last_seq,
            ..session_info()
        },
        events,
        truncated,
        last_seq,
        partial: PartialState {
            assistant_text: partial.into(),
        },
        queued: Vec::new(),
    }))
}

pub(super) fn live(live: Live) -> FromDaemon {
    FromDaemon::Live(Box::new(LiveParams {
        session_id: SID.into(),
        live,
    }))
}

pub(super) fn live_event(seq: u64, kind: EventKind) -> FromDaemon {
    live(Live::Event {
        event: ev(seq, kind),
    })
}

pub(super) fn tools() -> FromDaemon {
    FromDaemon::Tools(vec![ToolServerInfo {
        name: "builtin".into(),
        source: "builtin".into(),
        status: ServerStatus::Running,
        tools: vec!["shell".into(), "read_file".into(), "write_file".into()],
        error: None,
        renamed: Default::default(),
        login: None,
    }])
}

pub(super) fn sessions() -> Vec<SessionInfo> {
    vec![
        SessionInfo {
            updated_at: "2026-03-01T09:58:12Z".into(),
            attached_clients: 2,
            ..info(SID, "api-refactor", SessionState::Running)
        },
        SessionInfo {
            cwd: "/home/ana/projects/docs".into(),
            updated_at: "2026-03-01T09:41:07Z".into(),
            pending_approvals: vec!["call_7".into()],
            attached_clients: 0,
            ..info("01JQ7Z4B2C", "docs-site", SessionState::AwaitingApproval)
        },
        SessionInfo {
            model: "ollama/qwen2.5-coder:7b".into(),
            cwd: "/srv/ci".into(),
            updated_at: "2026-03-01T03:00:45Z".into(),
            last_error: Some("model provider: 401 Unauthorized".into()),
            attached_clients: 0,
            ..info("01JQ7Z5D9E", "nightly-build", SessionState::Failed)
        },
        SessionInfo {
            cwd: "/tmp".into(),
            updated_at: "2026-02-28T17:20:00Z".into(),
            attached_clients: 0,
            ..info("01JQ7Z6F1G", "scratch", SessionState::Idle)
        },
    ]
}

// ---------------------------------------------------------------------------
// Driving the app
// ---------------------------------------------------------------------------

thread_local! {
    /// The terminal size the simulated event loop draws at.
    static SIZE: std::cell::Cell<(u16, u16)> = const { std::cell::Cell::new((80, 24)) };
}

/// Builds something with the simulated terminal at `w`x`h`.
pub(super) fn at_size<T>(w: u16, h: u16, f: impl FnOnce() -> T) -> T {
    let old = SIZE.get();
    SIZE.set((w, h));
    let out = f();
    SIZE.set(old);
    out
}

/// Fits and draws as the event loop does after every change, so what depends
/// on the last layout (paging, search) sees the size the user sees.
fn settle(app: &mut App) {
    let (w, h) = SIZE.get();
    app.fit(ratatui::layout::Rect::new(0, 0, w, h));
    draw(app, w, h);
}

pub(super) fn key(app: &mut App, code: KeyCode, mods: KeyModifiers) {
    settle(app);
    app.on_key(KeyEvent::new(code, mods));
    settle(app);
}

pub(super) fn press(app: &mut App, code: KeyCode) {
    key(app, code, KeyModifiers::NONE);
}

pub(super) fn ctrl(app: &mut App, c: char) {
    key(app, KeyCode::Char(c), KeyModifiers::CONTROL);
}

pub(super) fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// A human's pause between keys: longer than a burst.
pub(super) fn pause(app: &mut App) {
    app.clock.advance(crate::ui::app::BURST_GAP * 4);
}

/// A new app whose clock moves only when a test moves it, showing local time
/// in a zone at UTC+0 (the machine's own zone must not change the snapshots).
pub(super) fn new_app(keymap: Keymap, attach: Option<String>, read_only: bool) -> App {
    let mut app = App::new(keymap, attach, read_only, CWD.into());
    app.clock = Clock::manual();
    app.time_zone = zone(0);
    app
}

/// Local time in a zone `minutes` east of UTC.
pub(super) fn zone(minutes: i32) -> TimeZone {
    TimeZone::Fixed(
        chrono::FixedOffset::east_opt(minutes * 60)
            .unwrap_or(chrono::FixedOffset::east_opt(0).expect("UTC+0")),
    )
}

/// Lets the approval prompt's arming delay pass.
pub(super) fn arm(app: &mut App) {
    app.clock.advance(ARM_DELAY);
    settle(app);
}

/// The list screen, connected, with `list` from the daemon.
pub(super) fn list_with(list: Vec<SessionInfo>) -> App {
    let mut app = new_app(Keymap::default(), None, false);
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(FromDaemon::Sessions(list));
    app.outbox.clear();
    app
}

/// Attached (as `tether attach`) to a session whose log is `kinds`.
pub(super) fn attached_with(keymap: Keymap, read_only: bool, kinds: Vec<EventKind>) -> App {
    let mut app = new_app(keymap, Some(SID.into()), read_only);
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(tools());
    app.on_daemon(attach_result(numbered(kinds), false, ""));
    app.outbox.clear();
    app
}

pub(super) fn session_with(kinds: Vec<EventKind>) -> App {
    attached_with(Keymap::default(), false, kinds)
}

pub(super) fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    t.draw(|f| view::draw(f, app)).expect("a draw");
    t
}

/// The screen as text, one line per row.
pub(super) fn screen(app: &App, w: u16, h: u16) -> String {
    draw(app, w, h).backend().to_string()
}

pub(super) fn cells(app: &App) -> Vec<String> {
    app.session
        .as_ref()
        .map(|v| v.transcript.cells.iter().map(|c| c.plain()).collect())
        .unwrap_or_default()
}

pub(super) fn pending_calls(app: &App) -> Vec<String> {
    app.session
        .as_ref()
        .map(|v| v.pending().into_iter().map(|(id, _, _)| id).collect())
        .unwrap_or_default()
}

pub(super) fn input_text(app: &App) -> String {
    app.session
        .as_ref()
        .map(|v| v.input.lines().join("\n"))
        .unwrap_or_default()
}
