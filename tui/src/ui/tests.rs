//! The TUI's tests: insta snapshots of every view and modal at 80x24 and 40x10
//! through ratatui's `TestBackend`, and app tests that feed daemon messages and
//! keys and assert on what the app would send (`app.outbox`).
//!
//! States are built the way the real app gets them: daemon messages
//! (`Attached`, `Live`, ...) and key presses, with fixed ids and timestamps so the
//! snapshots are stable.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use tether_shared::protocol::{
    AttachResult, CreateParams, LiveParams, LogsResult, PartialState, ServerStatus, SessionInfo,
    ToolServerInfo,
};
use tether_shared::{Decision, Delivery, Event, EventKind, Live, SessionState, Usage};

use super::app::{App, ConnState, Modal, Screen};
use super::conn::{FromDaemon, ToDaemon};
use super::keymap::Keymap;
use super::view;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

const CWD: &str = "/home/ana/projects/tether";
const SID: &str = "01JQ7Z3M8K";
const MODEL: &str = "openai/gpt-4o-mini";

fn info(id: &str, name: &str, state: SessionState) -> SessionInfo {
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
    }
}

/// The attached session's summary as the daemon would send it.
fn session_info() -> SessionInfo {
    SessionInfo {
        attached_clients: 2,
        usage: Usage {
            prompt_tokens: 12_400,
            completion_tokens: 1_350,
        },
        ..info(SID, "api-refactor", SessionState::Idle)
    }
}

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: format!("2026-03-01T10:{:02}:{:02}Z", seq / 60 % 60, seq % 60),
        kind,
    }
}

fn created() -> EventKind {
    EventKind::SessionCreated {
        name: "api-refactor".into(),
        model: MODEL.into(),
        cwd: CWD.into(),
        instructions: None,
    }
}

fn user(text: &str) -> EventKind {
    EventKind::UserMessage {
        text: text.into(),
        delivery: Delivery::Queue,
    }
}

fn assistant(text: &str) -> EventKind {
    EventKind::AssistantMessage {
        text: text.into(),
        tool_calls: Vec::new(),
        usage: None,
        partial: false,
    }
}

fn call(id: &str, tool: &str, args: serde_json::Value) -> EventKind {
    EventKind::ToolCall {
        call_id: id.into(),
        tool: tool.into(),
        arguments: args,
    }
}

fn ask(id: &str, tool: &str) -> EventKind {
    EventKind::ApprovalRequested {
        call_id: id.into(),
        tool: tool.into(),
    }
}

fn decided(id: &str, decision: Decision, reason: Option<&str>) -> EventKind {
    EventKind::ApprovalDecided {
        call_id: id.into(),
        decision,
        reason: reason.map(str::to_string),
    }
}

fn result(id: &str, tool: &str, output: &str, is_error: bool) -> EventKind {
    EventKind::ToolResult {
        call_id: id.into(),
        tool: tool.into(),
        output: output.into(),
        is_error,
    }
}

fn state(s: SessionState) -> EventKind {
    EventKind::State { state: s }
}

/// Numbers a list of event kinds from seq 1.
fn numbered(kinds: Vec<EventKind>) -> Vec<Event> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, k)| ev(i as u64 + 1, k))
        .collect()
}

/// A finished history that has every kind of settled cell.
fn history_kinds() -> Vec<EventKind> {
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
        },
        EventKind::Error {
            message: "retrying the model call (2/5): connection reset".into(),
        },
        state(SessionState::Idle),
    ]
}

/// The history plus a turn in progress: one call running, one awaiting approval.
fn every_cell_kinds() -> Vec<EventKind> {
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
fn approval_kinds() -> Vec<EventKind> {
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

fn attach_result(events: Vec<Event>, truncated: bool, partial: &str) -> FromDaemon {
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
    }))
}

fn live(live: Live) -> FromDaemon {
    FromDaemon::Live(Box::new(LiveParams {
        session_id: SID.into(),
        live,
    }))
}

fn live_event(seq: u64, kind: EventKind) -> FromDaemon {
    live(Live::Event {
        event: ev(seq, kind),
    })
}

fn tools() -> FromDaemon {
    FromDaemon::Tools(vec![ToolServerInfo {
        name: "builtin".into(),
        source: "builtin".into(),
        status: ServerStatus::Running,
        tools: vec!["shell".into(), "read_file".into(), "write_file".into()],
        error: None,
    }])
}

fn sessions() -> Vec<SessionInfo> {
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
fn at_size<T>(w: u16, h: u16, f: impl FnOnce() -> T) -> T {
    let old = SIZE.get();
    SIZE.set((w, h));
    let out = f();
    SIZE.set(old);
    out
}

/// Draws as the event loop does after every change, so what depends on the
/// last layout (paging, search) sees the size the user sees.
fn settle(app: &App) {
    let (w, h) = SIZE.get();
    draw(app, w, h);
}

fn key(app: &mut App, code: KeyCode, mods: KeyModifiers) {
    settle(app);
    app.on_key(KeyEvent::new(code, mods));
    settle(app);
}

fn press(app: &mut App, code: KeyCode) {
    key(app, code, KeyModifiers::NONE);
}

fn ctrl(app: &mut App, c: char) {
    key(app, KeyCode::Char(c), KeyModifiers::CONTROL);
}

fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// The list screen, connected, with `list` from the daemon.
fn list_with(list: Vec<SessionInfo>) -> App {
    let mut app = App::new(Keymap::default(), None, false, CWD.into());
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(FromDaemon::Sessions(list));
    app.outbox.clear();
    app
}

/// Attached (as `tether attach`) to a session whose log is `kinds`.
fn attached_with(keymap: Keymap, read_only: bool, kinds: Vec<EventKind>) -> App {
    let mut app = App::new(keymap, Some(SID.into()), read_only, CWD.into());
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(tools());
    app.on_daemon(attach_result(numbered(kinds), false, ""));
    app.outbox.clear();
    app
}

fn session_with(kinds: Vec<EventKind>) -> App {
    attached_with(Keymap::default(), false, kinds)
}

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    t.draw(|f| view::draw(f, app)).expect("a draw");
    t
}

/// The screen as text, one line per row.
fn screen(app: &App, w: u16, h: u16) -> String {
    draw(app, w, h).backend().to_string()
}

fn cells(app: &App) -> Vec<String> {
    app.session
        .as_ref()
        .map(|v| v.transcript.cells.iter().map(|c| c.plain()).collect())
        .unwrap_or_default()
}

fn pending_calls(app: &App) -> Vec<String> {
    app.session
        .as_ref()
        .map(|v| v.pending().into_iter().map(|(id, _, _)| id).collect())
        .unwrap_or_default()
}

fn input_text(app: &App) -> String {
    app.session
        .as_ref()
        .map(|v| v.input.lines().join("\n"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Scenes: every view and modal, built from daemon messages and keys
// ---------------------------------------------------------------------------

mod scene {
    use super::*;

    pub fn list() -> App {
        list_with(sessions())
    }

    pub fn list_empty() -> App {
        list_with(Vec::new())
    }

    pub fn list_connecting() -> App {
        App::new(Keymap::default(), None, false, CWD.into())
    }

    pub fn list_filter() -> App {
        let mut app = list();
        press(&mut app, KeyCode::Char('/'));
        type_str(&mut app, "docs");
        app
    }

    pub fn list_filter_no_match() -> App {
        let mut app = list();
        press(&mut app, KeyCode::Char('/'));
        type_str(&mut app, "zzz");
        press(&mut app, KeyCode::Enter);
        app
    }

    pub fn list_reconnecting() -> App {
        let mut app = list();
        app.on_daemon(FromDaemon::Disconnected("connection refused".into()));
        app
    }

    pub fn attaching() -> App {
        let mut app = App::new(Keymap::default(), Some(SID.into()), false, CWD.into());
        app.on_daemon(FromDaemon::Connected);
        app
    }

    pub fn transcript() -> App {
        session_with(every_cell_kinds())
    }

    pub fn transcript_expanded() -> App {
        let mut app = transcript();
        ctrl(&mut app, 'o');
        app
    }

    pub fn history() -> App {
        session_with(history_kinds())
    }

    pub fn streaming() -> App {
        let mut app = session_with(vec![
            created(),
            user("Explain the session actor."),
            EventKind::TurnStarted,
            state(SessionState::Running),
        ]);
        for d in [
            "The session actor owns **all** state ",
            "for one session.\n\nIt takes commands ",
            "over a bounded channel and",
        ] {
            app.on_daemon(live(Live::AssistantDelta { text: d.into() }));
        }
        app
    }

    pub fn tool_output() -> App {
        let mut app = session_with(vec![
            created(),
            user("Run the tests."),
            EventKind::TurnStarted,
            state(SessionState::Running),
            call("call_4", "shell", json!({"command": "cargo test"})),
        ]);
        app.on_daemon(live(Live::ToolOutput {
            call_id: "call_4".into(),
            chunk: "   Compiling tether v0.1.0\n    Finished test profile\n     Running unittests src/lib.rs\ntest ui::tests::ok ... ok\n".into(),
        }));
        app
    }

    pub fn approval() -> App {
        session_with(approval_kinds())
    }

    pub fn deny_reason() -> App {
        let mut app = approval();
        press(&mut app, KeyCode::Char('n'));
        type_str(&mut app, "use cargo clean instead");
        app
    }

    pub fn help() -> App {
        let mut app = history();
        press(&mut app, KeyCode::Char('?'));
        app
    }

    pub fn create() -> App {
        let mut app = list();
        press(&mut app, KeyCode::Char('n'));
        type_str(&mut app, "demo");
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Tab);
        type_str(&mut app, "Set up CI for the repo");
        app
    }

    pub fn kill() -> App {
        let mut app = list();
        press(&mut app, KeyCode::Char('j'));
        press(&mut app, KeyCode::Char('x'));
        app
    }

    pub fn search_typing() -> App {
        let mut app = history();
        press(&mut app, KeyCode::Char('/'));
        type_str(&mut app, "shell");
        app
    }

    pub fn search_matches() -> App {
        let mut app = search_typing();
        press(&mut app, KeyCode::Enter);
        app
    }

    pub fn reconnecting() -> App {
        let mut app = history();
        app.on_daemon(FromDaemon::Disconnected(
            "the daemon closed the connection".into(),
        ));
        app
    }

    pub fn read_only() -> App {
        attached_with(Keymap::default(), true, approval_kinds())
    }

    pub fn scrolled_up() -> App {
        let mut app = history();
        press(&mut app, KeyCode::PageUp);
        app
    }

    pub fn input_multiline() -> App {
        let mut app = history();
        type_str(&mut app, "first line");
        ctrl(&mut app, 'j');
        type_str(&mut app, "second line");
        app
    }

    pub fn older_events() -> App {
        let mut app = App::new(Keymap::default(), Some(SID.into()), false, CWD.into());
        app.on_daemon(FromDaemon::Connected);
        let events = vec![
            ev(501, user("what changed since yesterday?")),
            ev(502, assistant("Two commits: the store and the keymap.")),
            ev(503, EventKind::TurnCompleted),
        ];
        app.on_daemon(attach_result(events, true, ""));
        app.outbox.clear();
        app
    }
}

/// Builds an app in some state.
type Scene = fn() -> App;

/// Every scene, for the resize test.
const SCENES: &[(&str, Scene)] = &[
    ("list", scene::list),
    ("list_empty", scene::list_empty),
    ("list_connecting", scene::list_connecting),
    ("list_filter", scene::list_filter),
    ("list_filter_no_match", scene::list_filter_no_match),
    ("list_reconnecting", scene::list_reconnecting),
    ("attaching", scene::attaching),
    ("transcript", scene::transcript),
    ("transcript_expanded", scene::transcript_expanded),
    ("history", scene::history),
    ("streaming", scene::streaming),
    ("tool_output", scene::tool_output),
    ("approval", scene::approval),
    ("deny_reason", scene::deny_reason),
    ("help", scene::help),
    ("create", scene::create),
    ("kill", scene::kill),
    ("search_typing", scene::search_typing),
    ("search_matches", scene::search_matches),
    ("reconnecting", scene::reconnecting),
    ("read_only", scene::read_only),
    ("scrolled_up", scene::scrolled_up),
    ("input_multiline", scene::input_multiline),
    ("older_events", scene::older_events),
];

// ---------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------

/// Snapshots a scene at 80x24 and at 40x10, each from a freshly built app.
fn snap(name: &str, build: Scene) {
    for (w, h) in [(80, 24), (40, 10)] {
        let app = at_size(w, h, build);
        let t = draw(&app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

macro_rules! snapshot_tests {
    ($($test:ident => $scene:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                snap(stringify!($scene), scene::$scene);
            }
        )*
    };
}

snapshot_tests! {
    snapshot_list => list,
    snapshot_list_empty => list_empty,
    snapshot_list_connecting => list_connecting,
    snapshot_list_filter => list_filter,
    snapshot_list_filter_no_match => list_filter_no_match,
    snapshot_list_reconnecting => list_reconnecting,
    snapshot_attaching => attaching,
    snapshot_transcript => transcript,
    snapshot_transcript_expanded => transcript_expanded,
    snapshot_streaming => streaming,
    snapshot_tool_output => tool_output,
    snapshot_approval => approval,
    snapshot_deny_reason => deny_reason,
    snapshot_help => help,
    snapshot_create => create,
    snapshot_kill => kill,
    snapshot_search_typing => search_typing,
    snapshot_search_matches => search_matches,
    snapshot_reconnecting => reconnecting,
    snapshot_read_only => read_only,
    snapshot_scrolled_up => scrolled_up,
    snapshot_input_multiline => input_multiline,
    snapshot_older_events => older_events,
}

/// The whole transcript on a tall screen, so every cell kind shows in one snapshot.
#[test]
fn snapshot_transcript_tall() {
    for (name, build) in [
        ("transcript_tall", scene::transcript as Scene),
        ("transcript_expanded_tall", scene::transcript_expanded),
    ] {
        let app = build();
        insta::assert_snapshot!(format!("{name}_80x80"), draw(&app, 80, 80).backend());
    }
}

#[test]
fn every_view_draws_at_small_sizes_without_panic() {
    for (name, build) in SCENES {
        for (w, h) in [(80, 24), (40, 10), (20, 5), (10, 4), (9, 3), (1, 1)] {
            let out = std::panic::catch_unwind(|| {
                let app = at_size(w, h, build);
                screen(&app, w, h)
            });
            assert!(out.is_ok(), "{name} panicked at {w}x{h}");
        }
    }
}

#[test]
fn a_resize_after_drawing_redraws_at_the_new_size() {
    for (name, build) in SCENES {
        let app = build();
        let mut t = draw(&app, 80, 24);
        for (w, h) in [(40, 10), (20, 5), (120, 40), (80, 24)] {
            t.backend_mut().resize(w, h);
            t.draw(|f| view::draw(f, &app))
                .unwrap_or_else(|e| panic!("{name} at {w}x{h}: {e}"));
            assert_eq!(t.backend().buffer().area.width, w, "{name}");
        }
    }
}

#[test]
fn too_small_a_window_says_so() {
    let app = scene::transcript();
    assert!(screen(&app, 9, 3).contains("tether: w"));
}

// ---------------------------------------------------------------------------
// App: what keys and daemon messages make it send
// ---------------------------------------------------------------------------

#[test]
fn starting_asks_for_the_list_or_attaches() {
    let app = App::new(Keymap::default(), None, false, CWD.into());
    assert_eq!(app.outbox, vec![ToDaemon::ListSessions]);
    let app = App::new(Keymap::default(), Some("docs".into()), true, CWD.into());
    assert_eq!(
        app.outbox,
        vec![
            ToDaemon::Attach {
                session: "docs".into(),
                page: super::app::ATTACH_PAGE,
                read_only: true,
            },
            ToDaemon::Tools,
        ]
    );
}

#[test]
fn enter_sends_queued_and_clears_the_input() {
    let mut app = scene::history();
    type_str(&mut app, "hello there");
    assert_eq!(input_text(&app), "hello there");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Send {
            session: SID.into(),
            text: "hello there".into(),
            delivery: Delivery::Queue,
        }]
    );
    assert_eq!(input_text(&app), "");
    // An empty input sends nothing.
    app.outbox.clear();
    press(&mut app, KeyCode::Enter);
    type_str(&mut app, "   ");
    press(&mut app, KeyCode::Enter);
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
}

#[test]
fn ctrl_s_steers_and_ctrl_x_interrupts() {
    let mut app = scene::history();
    type_str(&mut app, "look at src too");
    ctrl(&mut app, 's');
    type_str(&mut app, "stop, do this instead");
    ctrl(&mut app, 'x');
    assert_eq!(
        app.outbox,
        vec![
            ToDaemon::Send {
                session: SID.into(),
                text: "look at src too".into(),
                delivery: Delivery::Steer,
            },
            ToDaemon::Send {
                session: SID.into(),
                text: "stop, do this instead".into(),
                delivery: Delivery::Interrupt,
            },
        ]
    );
    assert_eq!(input_text(&app), "");
}

#[test]
fn ctrl_j_and_alt_enter_insert_newlines() {
    let mut app = scene::history();
    type_str(&mut app, "one");
    ctrl(&mut app, 'j');
    type_str(&mut app, "two");
    key(&mut app, KeyCode::Enter, KeyModifiers::ALT);
    type_str(&mut app, "three");
    assert!(app.outbox.is_empty());
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Send {
            session: SID.into(),
            text: "one\ntwo\nthree".into(),
            delivery: Delivery::Queue,
        }]
    );
}

#[test]
fn ctrl_c_interrupts_and_does_not_exit() {
    let mut app = scene::history();
    ctrl(&mut app, 'c');
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Interrupt {
            session: SID.into()
        }]
    );
    assert!(!app.exit);
    assert_eq!(app.screen, Screen::Session);
}

#[test]
fn y_approves_the_pending_call() {
    let mut app = scene::approval();
    assert_eq!(pending_calls(&app), vec!["call_9"]);
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_9".into(),
        }]
    );
    assert_eq!(input_text(&app), "", "y is not typed into the input");
}

#[test]
fn y_approves_the_oldest_of_several_pending_calls() {
    let mut kinds = approval_kinds();
    kinds.extend([
        call("call_10", "write_file", json!({"path": "a.txt"})),
        ask("call_10", "write_file"),
    ]);
    let mut app = session_with(kinds);
    assert!(screen(&app, 80, 24).contains("(+1 more)"));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_9".into(),
        }]
    );
}

#[test]
fn n_asks_for_a_reason_then_denies() {
    let mut app = scene::approval();
    press(&mut app, KeyCode::Char('n'));
    assert!(matches!(
        &app.modal,
        Some(Modal::DenyReason { call_id, .. }) if call_id == "call_9"
    ));
    assert!(app.outbox.is_empty());
    type_str(&mut app, "too riskyy");
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Deny {
            session: SID.into(),
            call_id: "call_9".into(),
            reason: Some("too risky".into()),
        }]
    );
    assert!(app.modal.is_none());
}

#[test]
fn deny_without_a_reason_sends_none() {
    let mut app = scene::approval();
    press(&mut app, KeyCode::Char('n'));
    type_str(&mut app, "  ");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Deny {
            session: SID.into(),
            call_id: "call_9".into(),
            reason: None,
        }]
    );
}

#[test]
fn esc_in_the_reason_modal_cancels_and_sends_nothing() {
    let mut app = scene::approval();
    press(&mut app, KeyCode::Char('n'));
    type_str(&mut app, "never mind");
    press(&mut app, KeyCode::Esc);
    assert!(app.modal.is_none());
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
    // The call still waits.
    assert_eq!(pending_calls(&app), vec!["call_9"]);
}

#[test]
fn approval_decided_elsewhere_removes_the_prompt() {
    let mut app = scene::approval();
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    app.on_daemon(live_event(
        next,
        decided("call_9", Decision::Approved, None),
    ));
    assert!(pending_calls(&app).is_empty());
    assert!(!screen(&app, 80, 24).contains(" approve "));
    // `y` is now just a letter.
    press(&mut app, KeyCode::Char('y'));
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
    assert_eq!(input_text(&app), "y");
}

#[test]
fn a_tool_result_elsewhere_removes_the_prompt() {
    let mut app = scene::approval();
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    app.on_daemon(live_event(
        next,
        result("call_9", "shell", "interrupted", true),
    ));
    assert!(pending_calls(&app).is_empty());
    press(&mut app, KeyCode::Char('n'));
    assert!(app.modal.is_none());
    assert_eq!(input_text(&app), "n");
}

/// Another client's denial, before the daemon's matching `tool_result` arrives.
/// The daemon stores both in one batch, so the gap is short, but until the result
/// arrives this client still shows the prompt and `y` would send an Approve that
/// the daemon must refuse.
#[test]
fn a_denial_elsewhere_removes_the_prompt() {
    let mut app = scene::approval();
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    app.on_daemon(live_event(
        next,
        decided("call_9", Decision::Denied, Some("no")),
    ));
    assert!(pending_calls(&app).is_empty());
}

#[test]
fn ctrl_b_d_detaches() {
    let mut app = scene::history();
    ctrl(&mut app, 'b');
    assert!(app.prefix);
    assert!(screen(&app, 80, 24).contains(" Ctrl-b "));
    assert!(!app.exit);
    press(&mut app, KeyCode::Char('d'));
    assert!(app.exit);
    assert_eq!(input_text(&app), "", "d went to the prefix, not the input");
}

#[test]
fn ctrl_b_then_an_unbound_key_does_nothing() {
    let mut app = scene::history();
    ctrl(&mut app, 'b');
    press(&mut app, KeyCode::Char('z'));
    assert!(!app.prefix);
    assert!(!app.exit);
    assert_eq!(input_text(&app), "");
    assert!(app.outbox.is_empty());
}

#[test]
fn ctrl_b_s_goes_back_to_the_list_and_detaches() {
    let mut app = scene::history();
    ctrl(&mut app, 'b');
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.screen, Screen::List);
    assert!(app.session.is_none());
    assert_eq!(app.outbox, vec![ToDaemon::Detach, ToDaemon::ListSessions]);
}

#[test]
fn ctrl_b_question_mark_toggles_help() {
    let mut app = scene::history();
    ctrl(&mut app, 'b');
    press(&mut app, KeyCode::Char('?'));
    assert!(matches!(app.modal, Some(Modal::Help)));
    // Any key closes it, and is not typed.
    press(&mut app, KeyCode::Char('q'));
    assert!(app.modal.is_none());
    assert_eq!(input_text(&app), "");
}

#[test]
fn a_custom_prefix_replaces_ctrl_b() {
    let table: toml::Table = toml::from_str("prefix = \"ctrl-a\"").expect("toml");
    let keymap = Keymap::with_overrides(&table).expect("a keymap");
    let mut app = attached_with(keymap, false, history_kinds());
    // Ctrl-b is no longer the prefix: `d` after it is typed.
    ctrl(&mut app, 'b');
    assert!(!app.prefix);
    press(&mut app, KeyCode::Char('d'));
    assert!(!app.exit);
    assert_eq!(input_text(&app), "d");
    // The status bar's hint follows the override (wide: at 80 columns the hint
    // is cut off, see the snapshots).
    assert!(screen(&app, 160, 24).contains("Ctrl-a d detach"));
    ctrl(&mut app, 'a');
    assert!(app.prefix);
    press(&mut app, KeyCode::Char('d'));
    assert!(app.exit);
}

#[test]
fn read_only_sends_nothing() {
    let mut app = scene::read_only();
    assert_eq!(pending_calls(&app), vec!["call_9"]);
    type_str(&mut app, "hello");
    press(&mut app, KeyCode::Enter);
    ctrl(&mut app, 's');
    ctrl(&mut app, 'c');
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Char('n'));
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
    assert!(app.modal.is_none(), "no deny modal in read-only mode");
    assert_eq!(input_text(&app), "", "nothing is typed");
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.contains("read-only"))
    );
    // It can still scroll and detach.
    ctrl(&mut app, 'b');
    press(&mut app, KeyCode::Char('d'));
    assert!(app.exit);
}

#[test]
fn list_keys_move_and_attach_to_the_selected_id() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.list.selected, 1);
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.outbox,
        vec![
            ToDaemon::Attach {
                session: "01JQ7Z4B2C".into(),
                page: super::app::ATTACH_PAGE,
                read_only: false,
            },
            ToDaemon::Tools,
        ]
    );
    assert_eq!(app.screen, Screen::Session);
}

#[test]
fn list_selection_stays_in_bounds() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.list.selected, 0);
    for _ in 0..10 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(app.list.selected, 3);
    // A shorter list from the daemon clamps the selection.
    app.on_daemon(FromDaemon::Sessions(
        sessions().into_iter().take(2).collect(),
    ));
    assert_eq!(app.list.selected, 1);
    app.on_daemon(FromDaemon::Sessions(Vec::new()));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('x'));
    assert!(app.outbox.is_empty());
    assert!(app.modal.is_none());
}

#[test]
fn n_tab_enter_creates_a_session_with_the_fields() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('n'));
    assert!(matches!(app.modal, Some(Modal::Create(_))));
    type_str(&mut app, "demo");
    press(&mut app, KeyCode::Tab);
    type_str(&mut app, "/srv/demox");
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Tab);
    type_str(&mut app, "Set up CI");
    // Tab wraps round, BackTab goes back.
    press(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    if let Some(Modal::Create(form)) = &app.modal {
        assert_eq!(form.focus, 2);
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Create(CreateParams {
            name: Some("demo".into()),
            cwd: "/srv/demo".into(),
            model: None,
            instructions: None,
            prompt: Some("Set up CI".into()),
        })]
    );
    assert!(app.modal.is_none());
    // The daemon's answer attaches to the new session.
    app.outbox.clear();
    app.on_daemon(FromDaemon::Created(Box::new(info(
        "01JQ8A0000",
        "demo",
        SessionState::Running,
    ))));
    assert_eq!(
        app.outbox,
        vec![
            ToDaemon::Attach {
                session: "01JQ8A0000".into(),
                page: super::app::ATTACH_PAGE,
                read_only: false,
            },
            ToDaemon::Tools,
        ]
    );
}

#[test]
fn an_empty_create_form_uses_the_current_directory() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Create(CreateParams {
            name: None,
            cwd: CWD.into(),
            model: None,
            instructions: None,
            prompt: None,
        })]
    );
}

#[test]
fn esc_cancels_the_create_form() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('n'));
    type_str(&mut app, "demo");
    press(&mut app, KeyCode::Esc);
    assert!(app.modal.is_none());
    assert!(app.outbox.is_empty());
}

#[test]
fn x_then_y_kills_and_anything_else_keeps() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('x'));
    assert!(matches!(&app.modal, Some(Modal::ConfirmKill(n)) if n == "docs-site"));
    press(&mut app, KeyCode::Char('n'));
    assert!(app.modal.is_none());
    assert!(app.outbox.is_empty());
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        app.outbox,
        vec![
            ToDaemon::Kill {
                session: "docs-site".into()
            },
            ToDaemon::ListSessions,
        ]
    );
}

#[test]
fn slash_filters_the_list() {
    let mut app = scene::list();
    assert_eq!(app.list.visible().len(), 4);
    press(&mut app, KeyCode::Char('/'));
    assert!(app.list.filtering);
    type_str(&mut app, "DOCS");
    let names: Vec<&str> = app.list.visible().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["docs-site"]);
    // The filter matches the directory too, and keys while filtering are text.
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    type_str(&mut app, "/srv");
    let names: Vec<&str> = app.list.visible().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["nightly-build"]);
    assert!(app.outbox.is_empty());
    // Enter ends typing, keeps the filter; Enter again attaches to the match.
    press(&mut app, KeyCode::Enter);
    assert!(!app.list.filtering);
    press(&mut app, KeyCode::Enter);
    assert!(matches!(
        app.outbox.first(),
        Some(ToDaemon::Attach { session, .. }) if session == "01JQ7Z5D9E"
    ));
}

#[test]
fn esc_clears_the_list_filter() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "docs");
    press(&mut app, KeyCode::Esc);
    assert!(!app.list.filtering);
    assert_eq!(app.list.visible().len(), 4);
    // And after Enter, Esc on the list clears it too.
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "docs");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.list.visible().len(), 4);
}

#[test]
fn q_on_the_list_quits() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('q'));
    assert!(app.exit);
}

#[test]
fn a_reattach_with_overlapping_events_adds_no_duplicates() {
    let all = numbered(every_cell_kinds());
    let mut app = App::new(Keymap::default(), Some(SID.into()), false, CWD.into());
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(attach_result(all[..20].to_vec(), false, ""));
    let before = cells(&app);
    // The daemon goes away and comes back; the link re-attaches from an older seq.
    app.on_daemon(FromDaemon::Disconnected("gone".into()));
    assert_eq!(app.conn, ConnState::Reconnecting("gone".into()));
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(attach_result(all[12..].to_vec(), false, "half an ans"));
    let after = cells(&app);
    let mut fresh = App::new(Keymap::default(), Some(SID.into()), false, CWD.into());
    fresh.on_daemon(attach_result(all.clone(), false, ""));
    assert_eq!(after, cells(&fresh), "same cells as one clean attach");
    assert!(after.len() > before.len());
    assert_eq!(after[..before.len()], before[..]);
    let v = app.session.as_ref().expect("attached");
    assert_eq!(v.events.len(), all.len());
    assert_eq!(
        v.partial, "half an ans",
        "the reconnect brings the partial answer"
    );
    assert_eq!(pending_calls(&app), vec!["call_5"]);
    // The same reply twice changes nothing.
    app.on_daemon(attach_result(all[12..].to_vec(), false, "half an ans"));
    assert_eq!(cells(&app), after);
}

#[test]
fn live_events_at_or_before_the_last_seq_are_ignored() {
    let mut app = scene::history();
    let n = cells(&app).len();
    let last = app.session.as_ref().map_or(0, |v| v.last_seq());
    app.on_daemon(live_event(last, user("a replay of the last event")));
    app.on_daemon(live_event(3, user("a replay of an old event")));
    assert_eq!(cells(&app).len(), n);
    assert_eq!(
        app.session.as_ref().map(|v| v.events.len()),
        Some(last as usize)
    );
    app.on_daemon(live_event(last + 1, user("new")));
    assert_eq!(cells(&app).len(), n + 1);
    assert_eq!(cells(&app).last().map(String::as_str), Some("new"));
}

#[test]
fn live_messages_for_another_session_are_ignored() {
    let mut app = scene::history();
    let n = cells(&app).len();
    app.on_daemon(FromDaemon::Live(Box::new(LiveParams {
        session_id: "someone-else".into(),
        live: Live::Event {
            event: ev(999, user("not ours")),
        },
    })));
    assert_eq!(cells(&app).len(), n);
}

#[test]
fn deltas_stream_then_the_stored_message_replaces_them() {
    let mut app = scene::streaming();
    let partial = |a: &App| a.session.as_ref().map(|v| v.partial.clone());
    assert!(partial(&app).is_some_and(|p| p.ends_with("bounded channel and")));
    assert!(screen(&app, 80, 24).contains("▌"));
    // A retried model call voids the partial text.
    app.on_daemon(live(Live::AssistantReset));
    assert_eq!(partial(&app).as_deref(), Some(""));
    app.on_daemon(live(Live::AssistantDelta {
        text: "Again: it owns".into(),
    }));
    app.on_daemon(live_event(5, assistant("Again: it owns the state.")));
    assert_eq!(partial(&app).as_deref(), Some(""));
    assert_eq!(
        cells(&app).last().map(String::as_str),
        Some("Again: it owns the state.")
    );
    assert!(!screen(&app, 80, 24).contains("▌"));
}

#[test]
fn pgup_at_the_top_asks_for_older_events_once() {
    let mut app = scene::older_events();
    let out = screen(&app, 80, 24);
    assert!(out.contains("older events: PgUp / Home to load"), "{out}");
    press(&mut app, KeyCode::PageUp);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Backfill {
            session: SID.into(),
            before: 501,
        }]
    );
    // In flight: no second request.
    press(&mut app, KeyCode::PageUp);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.outbox.len(), 1);
    // The older page arrives (with an overlap that must not duplicate).
    let older: Vec<Event> = (450..=501)
        .map(|s| ev(s, user(&format!("older message {s}"))))
        .collect();
    app.on_daemon(FromDaemon::Backfill(LogsResult {
        events: older,
        last_seq: 503,
        more: true,
    }));
    let v = app.session.as_ref().expect("attached");
    assert_eq!(v.events.first().map(|e| e.seq), Some(450));
    assert_eq!(v.events.len(), 51 + 3);
    assert!(v.events.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
    assert_eq!(cells(&app)[0], "older message 450");
    assert!(!v.backfilling);
    // Home goes to the very top and asks for the page before that.
    app.outbox.clear();
    draw(&app, 80, 24);
    press(&mut app, KeyCode::Home);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Backfill {
            session: SID.into(),
            before: 450,
        }]
    );
    app.on_daemon(FromDaemon::Backfill(LogsResult {
        events: vec![ev(449, user("the first"))],
        last_seq: 503,
        more: false,
    }));
    app.outbox.clear();
    press(&mut app, KeyCode::Home);
    press(&mut app, KeyCode::PageUp);
    assert!(app.outbox.is_empty(), "nothing more to load");
}

#[test]
fn pgup_without_older_events_asks_for_nothing() {
    let mut app = scene::history();
    draw(&app, 80, 24);
    for _ in 0..5 {
        press(&mut app, KeyCode::PageUp);
    }
    assert!(app.outbox.is_empty());
    let v = app.session.as_ref().expect("attached");
    assert!(v.scroll > 0);
    // Scrolling is clamped to the top of the transcript.
    let (w, h) = v.viewport.get();
    assert_eq!(v.scroll, v.total_height(w) - h as usize);
    assert!(screen(&app, 80, 24).contains("session created"));
    // End follows again.
    press(&mut app, KeyCode::End);
    assert_eq!(app.session.as_ref().map(|v| v.scroll), Some(0));
}

#[test]
fn scrolled_up_the_view_stays_put_while_events_arrive() {
    let mut app = scene::history();
    draw(&app, 80, 24);
    press(&mut app, KeyCode::PageUp);
    let top_before = screen(&app, 80, 24);
    let last = app.session.as_ref().map_or(0, |v| v.last_seq());
    app.on_daemon(live_event(last + 1, user("something new")));
    app.on_daemon(live_event(last + 2, assistant("and an answer")));
    let top_after = screen(&app, 80, 24);
    let body = |s: &str| s.lines().take(10).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&top_before), body(&top_after));
    assert!(top_after.contains("more below"));
}

#[test]
fn search_moves_the_view_to_the_match() {
    let mut kinds = vec![created(), user("find the needle here")];
    for i in 0..30 {
        kinds.push(user(&format!("filler question {i}")));
        kinds.push(assistant(&format!("filler answer {i}")));
    }
    let mut app = session_with(kinds);
    let out = screen(&app, 80, 24);
    assert!(!out.contains("needle"));
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "NEEDLE");
    assert!(app.outbox.is_empty(), "the query is not sent");
    assert_eq!(input_text(&app), "", "nor typed into the input");
    press(&mut app, KeyCode::Enter);
    let v = app.session.as_ref().expect("attached");
    assert!(v.scroll > 0);
    let s = v.search.as_ref().expect("searching");
    assert_eq!(s.matches, vec![1]);
    let out = screen(&app, 80, 24);
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[0].contains("/ NEEDLE (1/1)"), "{out}");
    assert!(
        rows[1].contains("› find the needle here"),
        "the match is at the top: {out}"
    );
    // Esc leaves search; End goes back to the bottom.
    press(&mut app, KeyCode::Esc);
    assert!(app.session.as_ref().is_some_and(|v| v.search.is_none()));
    press(&mut app, KeyCode::End);
    assert!(!screen(&app, 80, 24).contains("needle"));
}

#[test]
fn ctrl_n_and_ctrl_p_cycle_matches() {
    let mut app = scene::history();
    draw(&app, 80, 24);
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "shell");
    press(&mut app, KeyCode::Enter);
    let current = |a: &App| {
        a.session
            .as_ref()
            .and_then(|v| v.search.as_ref())
            .map(|s| (s.current, s.matches.len()))
    };
    // Two shell calls: the newest match comes first.
    assert_eq!(current(&app), Some((1, 2)));
    ctrl(&mut app, 'n');
    assert_eq!(current(&app), Some((0, 2)));
    ctrl(&mut app, 'n');
    assert_eq!(current(&app), Some((1, 2)));
    ctrl(&mut app, 'p');
    assert_eq!(current(&app), Some((0, 2)));
}

#[test]
fn search_with_no_match_leaves_the_view() {
    let mut app = scene::history();
    draw(&app, 80, 24);
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "no such text");
    press(&mut app, KeyCode::Enter);
    let v = app.session.as_ref().expect("attached");
    assert_eq!(v.scroll, 0);
    assert!(v.search.as_ref().is_some_and(|s| s.matches.is_empty()));
}

#[test]
fn ctrl_o_expands_tool_calls() {
    let mut app = scene::transcript();
    let collapsed = screen(&app, 80, 80);
    ctrl(&mut app, 'o');
    let expanded = screen(&app, 80, 80);
    assert!(collapsed.contains("(+2 lines)"));
    assert!(expanded.contains("│ tests"));
    assert!(expanded.contains("\"command\": \"ls\""));
    ctrl(&mut app, 'o');
    assert_eq!(screen(&app, 80, 80), collapsed);
}

#[test]
fn the_tick_refreshes_what_is_not_pushed() {
    let mut app = scene::list();
    app.on_tick();
    assert_eq!(app.outbox, vec![ToDaemon::ListSessions]);
    let mut app = scene::history();
    app.on_tick();
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Refresh {
            session: SID.into()
        }]
    );
    // Not while disconnected.
    app.outbox.clear();
    app.on_daemon(FromDaemon::Disconnected("gone".into()));
    app.on_tick();
    assert!(app.outbox.is_empty());
}

#[test]
fn info_updates_the_status_bar() {
    let mut app = scene::history();
    app.on_daemon(FromDaemon::Info(Box::new(SessionInfo {
        queued_inputs: 2,
        attached_clients: 3,
        state: SessionState::Running,
        ..session_info()
    })));
    let out = screen(&app, 160, 24);
    let status = out.lines().last().unwrap_or_default();
    assert!(status.contains("running"), "{status}");
    assert!(status.contains("3 attached"), "{status}");
    assert!(status.contains("2 queued"), "{status}");
}

#[test]
fn a_killed_session_goes_back_to_the_list() {
    let mut app = scene::history();
    app.on_daemon(FromDaemon::SessionClosed);
    assert_eq!(app.screen, Screen::List);
    assert!(app.session.is_none());
    assert_eq!(app.outbox, vec![ToDaemon::Detach, ToDaemon::ListSessions]);
    assert!(screen(&app, 80, 24).contains("the session was killed"));
}

#[test]
fn paste_goes_to_the_input_or_the_reason() {
    let mut app = scene::approval();
    app.on_paste("pasted\ntext");
    assert_eq!(input_text(&app), "pasted\ntext");
    press(&mut app, KeyCode::Char('n'));
    app.on_paste("a reason");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(
        app.outbox.last(),
        Some(ToDaemon::Deny { reason: Some(r), .. }) if r == "a reason"
    ));
    let mut app = scene::read_only();
    app.on_paste("nope");
    assert_eq!(input_text(&app), "");
}
