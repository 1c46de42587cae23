//! Fixtures for the TUI tests: sessions and events with fixed ids and timestamps,
//! the daemon messages that carry them, helpers that drive an [`App`] the way the
//! event loop does (keys, draws at a simulated terminal size), and the scenes: every
//! view and modal, built from daemon messages and keys.

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

fn tools() -> FromDaemon {
    FromDaemon::Tools(vec![ToolServerInfo {
        name: "builtin".into(),
        source: "builtin".into(),
        status: ServerStatus::Running,
        tools: vec!["shell".into(), "read_file".into(), "write_file".into()],
        error: None,
        renamed: Default::default(),
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

// ---------------------------------------------------------------------------
// Scenes: every view and modal, built from daemon messages and keys
// ---------------------------------------------------------------------------

pub(super) mod scene {
    use crate::ui::tests::fixtures::*;

    pub fn list() -> App {
        list_with(sessions())
    }

    pub fn list_empty() -> App {
        list_with(Vec::new())
    }

    pub fn list_connecting() -> App {
        new_app(Keymap::default(), None, false)
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
        let mut app = new_app(Keymap::default(), Some(SID.into()), false);
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
        let mut app = approval_arming();
        arm(&mut app);
        app
    }

    /// Just arrived: the decision keys are not live yet.
    pub fn approval_arming() -> App {
        session_with(approval_kinds())
    }

    fn approval_of(tool: &str, args: serde_json::Value, ask: EventKind) -> App {
        let mut app = session_with(vec![
            created(),
            user("Tidy up the repository."),
            EventKind::TurnStarted,
            state(SessionState::Running),
            call("call_20", tool, args),
            ask,
            state(SessionState::AwaitingApproval),
        ]);
        arm(&mut app);
        app
    }

    /// A long command with its dangerous tail: shown whole, wrapped.
    pub fn approval_long_shell() -> App {
        approval_of(
            "shell",
            json!({"command": "cd /home/ana/projects/tether && git stash && cargo build --release --workspace && cp target/release/tether ~/.local/bin/ && rm -rf /home/ana/projects/tether/target ~/.cache"}),
            ask("call_20", "shell"),
        )
    }

    /// An `edit_file` with the daemon's diff of the file.
    pub fn approval_edit_file() -> App {
        approval_of(
            "edit_file",
            json!({"path": "src/config.rs", "old_string": "    timeout_s: 30,", "new_string": "    timeout_s: 300,\n    retries: 5,"}),
            ask_with_diff(
                "call_20",
                "edit_file",
                "--- a/src/config.rs\n+++ b/src/config.rs\n@@ -10,5 +10,6 @@\n pub fn defaults() -> Config {\n     Config {\n-    timeout_s: 30,\n+    timeout_s: 300,\n+    retries: 5,\n     }\n }",
            ),
        )
    }

    /// An `edit_file` from a daemon that sent no diff: the change itself.
    pub fn approval_edit_file_local() -> App {
        approval_of(
            "edit_file",
            json!({"path": "README.md", "old_string": "cargo test\n", "new_string": "cargo test --workspace\n"}),
            ask("call_20", "edit_file"),
        )
    }

    /// An MCP tool: its arguments as pretty JSON.
    pub fn approval_json() -> App {
        approval_of(
            "github__create_issue",
            json!({"repo": "ana/tether", "title": "Flaky test", "labels": ["ci", "bug"], "body": "The tmux test fails once in ten runs."}),
            ask("call_20", "github__create_issue"),
        )
    }

    /// A diff longer than the room, scrolled down three lines.
    pub fn approval_long_diff() -> App {
        let content: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        let mut app = approval_of(
            "write_file",
            json!({"path": "notes.txt", "content": content}),
            ask("call_20", "write_file"),
        );
        for _ in 0..3 {
            key(&mut app, KeyCode::Down, KeyModifiers::ALT);
        }
        app
    }

    pub fn deny_reason() -> App {
        let mut app = approval();
        ctrl(&mut app, 'd');
        type_str(&mut app, "use cargo clean instead");
        app
    }

    pub fn help() -> App {
        let mut app = history();
        press(&mut app, KeyCode::F(1));
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
        ctrl(&mut app, 'f');
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

    /// A message longer than the box is wide: wrapped at words, the cursor
    /// moved back into the middle of its second row.
    pub fn input_wrapped() -> App {
        let mut app = history();
        type_str(
            &mut app,
            "Please refactor the session actor so that every command carries its own reply channel and nothing blocks",
        );
        for _ in 0..10 {
            press(&mut app, KeyCode::Left);
        }
        app
    }

    /// Wide characters (two columns each) wrapped, the cursor among them.
    pub fn input_wrapped_wide() -> App {
        let mut app = history();
        type_str(
            &mut app,
            "日本語のテキストを折り返して表示します。カーソルは正しい位置にあります。長い行は枠の中で次の行に続きます",
        );
        for _ in 0..5 {
            press(&mut app, KeyCode::Left);
        }
        app
    }

    /// More text than the box's third of the screen: it scrolls to the cursor.
    pub fn input_scrolled() -> App {
        let mut app = history();
        for i in 1..=12 {
            type_str(&mut app, &format!("line {i} of a long message"));
            ctrl(&mut app, 'j');
        }
        type_str(&mut app, "the last line");
        app
    }

    /// Times as UTC (`[tui] time = "utc"`), labelled.
    pub fn list_utc() -> App {
        let mut app = list();
        app.time_zone = TimeZone::Utc;
        app
    }

    /// Local time five and a half hours east of UTC: 03-01 23:58 UTC is past
    /// midnight there.
    pub fn list_local() -> App {
        let mut app = list_with(
            sessions()
                .into_iter()
                .map(|s| SessionInfo {
                    updated_at: s.updated_at.replace("T09:", "T23:"),
                    ..s
                })
                .collect(),
        );
        app.time_zone = zone(330);
        app
    }

    /// Names and directories longer than their columns: cut with `…`, paths
    /// from the left.
    pub fn list_cut() -> App {
        let mut list = sessions();
        list[0].name = "api-refactor-of-the-session-actor-and-its-channels".into();
        list[0].cwd = "/home/ana/projects/tether/daemon/src/session/actor".into();
        list[1].cwd = "/home/ana/a-directory-with-a-name-much-longer-than-its-column".into();
        list[2].model = "openrouter/anthropic/claude-sonnet-4.5-preview".into();
        list_with(list)
    }

    /// The status bar with a name too long for it.
    pub fn status_long_name() -> App {
        let mut app = new_app(Keymap::default(), Some(SID.into()), false);
        app.on_daemon(FromDaemon::Connected);
        app.on_daemon(tools());
        let mut r = attach_result(numbered(history_kinds()), false, "");
        if let FromDaemon::Attached(a) = &mut r {
            a.info.name = "a-session-name-that-is-far-too-long-for-the-status-bar-to-show".into();
        }
        app.on_daemon(r);
        app.outbox.clear();
        app
    }

    /// Creating failed: the fields stay, with the daemon's reason.
    pub fn create_error() -> App {
        let mut app = list();
        press(&mut app, KeyCode::Char('n'));
        type_str(&mut app, "docs-site");
        press(&mut app, KeyCode::Tab);
        type_str(&mut app, "~/projects/docs");
        press(&mut app, KeyCode::Tab);
        type_str(&mut app, "Fix the broken links");
        press(&mut app, KeyCode::Enter);
        app.on_daemon(FromDaemon::CreateFailed(
            "a session named \"docs-site\" already exists".into(),
        ));
        app
    }

    pub fn older_events() -> App {
        let mut app = new_app(Keymap::default(), Some(SID.into()), false);
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
pub(super) type Scene = fn() -> App;

/// Every scene, for the resize test.
pub(super) const SCENES: &[(&str, Scene)] = &[
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
    ("approval_arming", scene::approval_arming),
    ("approval_long_shell", scene::approval_long_shell),
    ("approval_edit_file", scene::approval_edit_file),
    ("approval_edit_file_local", scene::approval_edit_file_local),
    ("approval_json", scene::approval_json),
    ("approval_long_diff", scene::approval_long_diff),
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
    ("input_wrapped", scene::input_wrapped),
    ("input_wrapped_wide", scene::input_wrapped_wide),
    ("input_scrolled", scene::input_scrolled),
    ("list_utc", scene::list_utc),
    ("list_local", scene::list_local),
    ("list_cut", scene::list_cut),
    ("status_long_name", scene::status_long_name),
    ("create_error", scene::create_error),
];
