//! Reading (issue 11): snapshots of copy mode with a selection, a search
//! with its match marked and with no match, one tool call expanded alone,
//! `write_file` and `edit_file` calls as diffs, the running turn's spinner and
//! the queued messages; and app tests of line scrolling, the mouse, the copied
//! text, the search's requests to the daemon and taking a queued message back.
//!
//! Snapshots of marked text show, under each row that has some, a row of
//! marks: `^` selected, `C` copy mode's cursor, `~` a search's word, `#` the
//! current match's word (the text snapshots alone would not show them).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::style::{Color, Modifier};
use serde_json::json;
use tether_shared::protocol::{LogsResult, QueuedInput, SearchHit, SearchResult};
use tether_shared::{Delivery, EventKind, Live, SessionState};

use super::fixtures::*;
use super::in_snapshot_dir;
use crate::ui::app::App;
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::keymap::{Action, Context, Key};

/// The screen's text, each row of the transcript (`body`) with marked cells
/// followed by a row of marks.
fn marked(buf: &Buffer, body: ratatui::layout::Rect) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let in_body = y >= body.y && y < body.y + body.height;
        let mut text = String::new();
        let mut marks = String::new();
        let mut any = false;
        for x in 0..area.width {
            let cell = &buf[(x, y)];
            text.push_str(cell.symbol());
            let m = if !in_body {
                ' '
            } else if cell.bg == Color::Cyan && cell.fg == Color::Black {
                'C'
            } else if cell.bg == Color::LightRed {
                '#'
            } else if cell.bg == Color::LightYellow {
                '~'
            } else if cell.modifier.contains(Modifier::REVERSED) {
                '^'
            } else {
                ' '
            };
            any |= m != ' ';
            marks.push(m);
        }
        out.push_str(&format!("{text:?}\n"));
        if any {
            out.push_str(&format!(" {}\n", marks.trim_end()));
        }
    }
    out
}

/// Snapshots a scene at 80x24 and 40x10 with its marks.
fn snap_marked(name: &str, build: fn() -> App) {
    in_snapshot_dir(|| {
        for (w, h) in [(80u16, 24u16), (40, 10)] {
            let app = at_size(w, h, build);
            let t = draw(&app, w, h);
            let body = app.session.as_ref().map(|v| v.body).unwrap_or_default();
            insta::assert_snapshot!(
                format!("{name}_{w}x{h}"),
                marked(t.backend().buffer(), body)
            );
        }
    });
}

/// Presses the key the keymap binds to `action` in `context`.
fn act(app: &mut App, context: Context, action: Action) {
    let label = app
        .keymap
        .keys_for(context, action)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{action:?} is not bound in {context:?}"));
    let k = Key::parse(&label).unwrap_or_else(|| panic!("cannot read {label}"));
    key(app, k.code, k.mods);
}

fn prefix(app: &mut App, action: Action) {
    ctrl(app, 'b');
    act(app, Context::Prefix, action);
}

fn search(app: &mut App, query: &str) {
    act(app, Context::Session, Action::Search);
    type_str(app, query);
    press(app, KeyCode::Enter);
}

/// The text of the line under copy mode's cursor.
fn cursor_line(app: &App) -> String {
    let Some(v) = app.session.as_ref() else {
        return String::new();
    };
    let Some(c) = v.copy.as_ref() else {
        return String::new();
    };
    let rows = v.tail(v.viewport.0, c.cursor.row + 1, true);
    rows.len()
        .checked_sub(c.cursor.row + 1)
        .map(|i| crate::ui::app::line_text(&rows[i].line))
        .unwrap_or_default()
}

/// Moves copy mode's cursor up to the first line that holds `text`.
fn cursor_up_to(app: &mut App, text: &str) {
    // (At a tiny size nothing is on screen to find: the scene stops at the top.)
    for _ in 0..200 {
        if cursor_line(app).contains(text) {
            return;
        }
        act(app, Context::Copy, Action::CursorUp);
    }
}

/// Lays the app out at 80x24 as the event loop does before a frame (the
/// mouse needs to know where the transcript is).
fn laid_out(app: &mut App) {
    app.fit(ratatui::layout::Rect::new(0, 0, 80, 24));
}

fn copy_state(app: &App) -> Option<crate::ui::app::CopyMode> {
    app.session.as_ref().and_then(|v| v.copy.clone())
}

fn scroll(app: &App) -> usize {
    app.session.as_ref().map_or(0, |v| v.scroll)
}

fn hits(seqs: &[u64]) -> SearchResult {
    SearchResult {
        hits: seqs
            .iter()
            .map(|&seq| SearchHit {
                seq,
                ts: "t".into(),
                kind: "user_message".into(),
                tool: None,
                excerpt: "…".into(),
            })
            .collect(),
        more: false,
    }
}

// ---------------------------------------------------------------------------
// Scenes
// ---------------------------------------------------------------------------

/// Copy mode over the history: from the answer's third word to the end of
/// the notice two lines below.
fn copy_selection() -> App {
    let mut app = scene::history();
    prefix(&mut app, Action::CopyMode);
    cursor_up_to(&mut app, "Done: the test now passes");
    act(&mut app, Context::Copy, Action::WordNext);
    act(&mut app, Context::Copy, Action::WordNext);
    act(&mut app, Context::Copy, Action::Select);
    act(&mut app, Context::Copy, Action::CursorDown);
    act(&mut app, Context::Copy, Action::CursorDown);
    act(&mut app, Context::Copy, Action::LineEnd);
    app
}

/// Filler around a needle at seq 3, only the newest page loaded.
fn long_history() -> Vec<tether_shared::Event> {
    let mut kinds = vec![created(), user("warm up"), user("where is the needle?")];
    for i in 0..40 {
        kinds.push(user(&format!("filler question {i}")));
        kinds.push(assistant(&format!("filler answer {i}")));
    }
    numbered(kinds)
}

fn attached_newest(events: &[tether_shared::Event], from: usize) -> App {
    let mut app = new_app(
        crate::ui::keymap::Keymap::default(),
        Some(SID.into()),
        false,
    );
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(attach_result(events[from..].to_vec(), true, ""));
    app.outbox.clear();
    app
}

/// A search whose only match is older than what is loaded: the daemon finds
/// it, the events back to it load, and it shows marked at the top.
fn search_older_match() -> App {
    let all = long_history();
    let mut app = attached_newest(&all, 60);
    search(&mut app, "needle");
    app.on_daemon(FromDaemon::SearchHits {
        query: "needle".into(),
        result: hits(&[3]),
    });
    app.on_daemon(FromDaemon::Backfill(LogsResult {
        events: all[..60].to_vec(),
        last_seq: all.len() as u64,
        more: false,
    }));
    app
}

/// A search with two matches in the loaded events, the newest current.
fn search_marked() -> App {
    let mut app = scene::history();
    search(&mut app, "readme");
    app.on_daemon(FromDaemon::SearchHits {
        query: "readme".into(),
        result: hits(&[10, 17]),
    });
    app
}

/// A search that nothing matches, loaded or stored.
fn search_no_match() -> App {
    let mut app = scene::history();
    search(&mut app, "zebra");
    app.on_daemon(FromDaemon::SearchHits {
        query: "zebra".into(),
        result: hits(&[]),
    });
    app
}

/// Finished calls, the second one expanded alone (in copy mode, `o` on it).
fn one_cell_expanded() -> App {
    let mut app = session_with(vec![
        created(),
        user("look around"),
        call("call_1", "shell", json!({"command": "ls"})),
        result("call_1", "shell", "Cargo.toml\nsrc\ntests", false),
        call("call_2", "shell", json!({"command": "git status --short"})),
        result(
            "call_2",
            "shell",
            " M README.md\n?? notes.txt\n M src/lib.rs",
            false,
        ),
        call("call_3", "shell", json!({"command": "cat VERSION"})),
        result("call_3", "shell", "0.3.1\n(from the tag)", false),
        assistant("Three calls done."),
    ]);
    prefix(&mut app, Action::CopyMode);
    // Up to the second call's head line.
    let v = app.session.as_ref().expect("attached");
    let i = v.transcript.tool_cell("call_2").expect("the call's cell");
    let (top, _) = v.cell_rows(i, v.viewport.0);
    while copy_state(&app).is_some_and(|c| c.cursor.row < top) {
        act(&mut app, Context::Copy, Action::CursorUp);
    }
    act(&mut app, Context::Copy, Action::ToggleCell);
    act(&mut app, Context::Copy, Action::CopyLeave);
    app
}

/// A new file written, then edited: both as diffs, the edit against the
/// content the write gave it.
fn file_diffs() -> App {
    let content = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
    session_with(vec![
        created(),
        user("make a crate"),
        call(
            "call_1",
            "write_file",
            json!({"path": "Cargo.toml", "content": content}),
        ),
        result(
            "call_1",
            "write_file",
            "wrote 62 bytes to Cargo.toml",
            false,
        ),
        call(
            "call_2",
            "edit_file",
            json!({"path": "Cargo.toml", "old_string": "version = \"0.1.0\"", "new_string": "version = \"0.2.0\"\nlicense = \"MIT\""}),
        ),
        result("call_2", "edit_file", "edited Cargo.toml", false),
        assistant("Done."),
    ])
}

/// A turn running for 12.3 s, streaming.
fn spinner() -> App {
    let mut app = session_with(vec![created(), user("Explain the session actor.")]);
    app.on_daemon(live_event(3, EventKind::TurnStarted));
    app.on_daemon(live_event(
        4,
        EventKind::State {
            state: SessionState::Running,
        },
    ));
    app.on_daemon(live(Live::AssistantDelta {
        text: "The session actor owns".into(),
    }));
    app.clock.advance(std::time::Duration::from_millis(12_300));
    app
}

/// Two messages waiting while a turn runs: one queued, one steering.
fn queued() -> App {
    let mut app = spinner();
    app.on_daemon(live(Live::Queued {
        inputs: vec![
            QueuedInput {
                input_id: 7,
                text: "then update the changelog".into(),
                delivery: Delivery::Queue,
            },
            QueuedInput {
                input_id: 8,
                text: "and keep it short, please: one paragraph at most".into(),
                delivery: Delivery::Steer,
            },
        ],
    }));
    app
}

#[test]
fn snapshot_reading_views() {
    snap_marked("copy_selection", copy_selection);
    snap_marked("search_older_match", search_older_match);
    snap_marked("search_marked", search_marked);
    snap_marked("search_no_match", search_no_match);
    snap_marked("one_cell_expanded", one_cell_expanded);
    snap_marked("file_diffs", file_diffs);
    snap_marked("spinner", spinner);
    snap_marked("queued", queued);
}

#[test]
fn every_reading_view_draws_at_small_sizes() {
    for build in [
        copy_selection as fn() -> App,
        search_older_match,
        search_no_match,
        one_cell_expanded,
        file_diffs,
        spinner,
        queued,
    ] {
        for (w, h) in [(20, 5), (10, 4), (1, 1)] {
            let app = at_size(w, h, build);
            screen(&app, w, h);
        }
    }
}

// ---------------------------------------------------------------------------
// Copy mode
// ---------------------------------------------------------------------------

#[test]
fn y_copies_the_selection_as_plain_text_and_leaves_copy_mode() {
    let mut app = copy_selection();
    let s = screen(&app, 80, 24);
    assert!(s.lines().last().unwrap_or("").contains("COPY"), "{s}");
    assert!(s.contains("3 lines selected"), "{s}");
    act(&mut app, Context::Copy, Action::Yank);
    assert!(copy_state(&app).is_none(), "copy mode ends");
    assert_eq!(
        app.clipboard.as_deref(),
        Some("the test now passes and the README mentions make test.\n\n── turn completed"),
        "what was selected, without styles"
    );
    assert!(
        app.flash
            .as_deref()
            .unwrap_or("")
            .contains("copied 3 lines"),
        "{:?}",
        app.flash
    );
    assert_eq!(scroll(&app), 0, "back where the view was");
}

#[test]
fn esc_drops_the_selection_first_then_leaves() {
    let mut app = copy_selection();
    press(&mut app, KeyCode::Esc);
    let c = copy_state(&app).expect("still in copy mode");
    assert!(c.anchor.is_none());
    press(&mut app, KeyCode::Esc);
    assert!(copy_state(&app).is_none());
    // Nothing selected: y copies nothing and says how to select.
    prefix(&mut app, Action::CopyMode);
    press(&mut app, KeyCode::Char('y'));
    assert!(app.clipboard.is_none());
    assert!(
        app.flash.as_deref().unwrap_or("").contains("v or Space"),
        "{:?}",
        app.flash
    );
    press(&mut app, KeyCode::Char('q'));
    assert!(copy_state(&app).is_none());
}

#[test]
fn copy_mode_scrolls_with_its_cursor_and_new_output_does_not_move_it() {
    let mut kinds = vec![created()];
    for i in 0..40 {
        kinds.push(user(&format!("question {i}")));
    }
    let mut app = session_with(kinds);
    prefix(&mut app, Action::CopyMode);
    for _ in 0..30 {
        act(&mut app, Context::Copy, Action::CursorUp);
    }
    let before = copy_state(&app).expect("copy mode");
    assert!(scroll(&app) > 0, "the view followed the cursor up");
    let text_before = screen(&app, 80, 24);
    // Events arrive while reading: the cursor stays on its line, the view too.
    app.on_daemon(live_event(42, user("a new question")));
    app.on_daemon(live(Live::AssistantDelta {
        text: "streaming\n\nmore".into(),
    }));
    let after = copy_state(&app).expect("copy mode");
    assert!(after.cursor.row > before.cursor.row);
    // The transcript's rows (not the status line, which counts the lines).
    let body = |s: &str| s.lines().take(20).collect::<Vec<_>>().join("\n");
    assert_eq!(
        body(&screen(&app, 80, 24)),
        body(&text_before),
        "nothing moved on screen"
    );
    act(&mut app, Context::Copy, Action::CursorBottom);
    assert_eq!(scroll(&app), 0);
}

#[test]
fn copy_mode_loads_older_events_at_the_top() {
    let all = long_history();
    let mut app = attached_newest(&all, 75);
    prefix(&mut app, Action::CopyMode);
    act(&mut app, Context::Copy, Action::CursorTop);
    assert!(
        app.outbox
            .iter()
            .any(|m| matches!(m, ToDaemon::Backfill { before: 76, .. })),
        "{:?}",
        app.outbox
    );
}

// ---------------------------------------------------------------------------
// One call expanded alone
// ---------------------------------------------------------------------------

#[test]
fn one_call_expands_alone_and_ctrl_o_still_does_them_all() {
    let mut app = one_cell_expanded();
    let s = screen(&app, 80, 40);
    assert!(
        s.contains("│ ?? notes.txt"),
        "the second call is expanded:\n{s}"
    );
    assert!(s.contains("(+2 lines)"), "the first stays collapsed:\n{s}");
    assert!(!s.contains("│ src\n"), "{s}");
    ctrl(&mut app, 'o');
    let all = screen(&app, 80, 40);
    assert!(
        all.contains("│ tests") && all.contains("│ (from the tag)"),
        "{all}"
    );
    ctrl(&mut app, 'o');
    let none = screen(&app, 80, 40);
    assert!(
        !none.contains("│ ?? notes.txt"),
        "Ctrl-o forgets the one:\n{none}"
    );
}

#[test]
fn a_click_on_a_call_s_first_line_expands_it() {
    let mut app = one_cell_expanded();
    ctrl(&mut app, 'o');
    ctrl(&mut app, 'o'); // all collapsed
    let s = screen(&app, 80, 24);
    let y = s
        .lines()
        .position(|l| l.contains("git status --short"))
        .expect("the call's head on screen") as u16;
    let click = |app: &mut App, kind| {
        app.on_mouse(MouseEvent {
            kind,
            column: 4,
            row: y,
            modifiers: KeyModifiers::NONE,
        })
    };
    click(&mut app, MouseEventKind::Down(MouseButton::Left));
    click(&mut app, MouseEventKind::Up(MouseButton::Left));
    let s = screen(&app, 80, 24);
    assert!(s.contains("│ ?? notes.txt"), "{s}");
    assert!(app.clipboard.is_none(), "a click copies nothing");
}

// ---------------------------------------------------------------------------
// Diffs
// ---------------------------------------------------------------------------

#[test]
fn file_changes_show_as_diffs_against_what_the_transcript_knows() {
    let app = file_diffs();
    let s = screen(&app, 80, 40);
    assert!(s.contains("✓ write_file Cargo.toml  ok"), "{s}");
    assert!(
        s.contains("    +name = \"demo\""),
        "a new file is all added:\n{s}"
    );
    assert!(s.contains("✓ edit_file Cargo.toml  ok"), "{s}");
    assert!(
        s.contains("    -version = \"0.1.0\"") && s.contains("    +license = \"MIT\""),
        "{s}"
    );
    assert!(
        s.contains("     name = \"demo\""),
        "the edit has the file's lines around it as context:\n{s}"
    );
    // The diff's colours are the approval prompt's.
    let t = draw(&app, 80, 40);
    let buf = t.backend().buffer();
    let row = s
        .lines()
        .position(|l| l.contains("+license"))
        .expect("the added line") as u16;
    assert_eq!(buf[(4, row)].fg, Color::Green);
}

#[test]
fn the_daemon_s_diff_wins_and_a_long_diff_is_cut_collapsed() {
    let content: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    let mut app = session_with(vec![
        created(),
        call(
            "call_1",
            "write_file",
            json!({"path": "notes.txt", "content": content}),
        ),
        ask_with_diff(
            "call_1",
            "write_file",
            "--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1,30 @@\n-the old first line\n+line 1",
        ),
        decided("call_1", tether_shared::Decision::Approved, None),
        result("call_1", "write_file", "wrote", false),
    ]);
    let s = screen(&app, 80, 24);
    assert!(s.contains("-the old first line"), "the daemon's diff:\n{s}");
    let mut app2 = session_with(vec![
        created(),
        call(
            "call_1",
            "write_file",
            json!({"path": "notes.txt", "content": content}),
        ),
        result("call_1", "write_file", "wrote", false),
    ]);
    let s = screen(&app2, 80, 24);
    assert!(s.contains("… +23 diff lines"), "{s}");
    ctrl(&mut app2, 'o');
    assert!(screen(&app2, 80, 60).contains("+line 30"));
    ctrl(&mut app, 'o');
    assert!(screen(&app, 80, 60).contains("+line 1"));
}

// ---------------------------------------------------------------------------
// Scrolling and the mouse
// ---------------------------------------------------------------------------

#[test]
fn up_and_down_scroll_a_line_with_the_box_empty_and_edit_it_otherwise() {
    let mut app = scene::history();
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    assert_eq!(scroll(&app), 2);
    press(&mut app, KeyCode::Down);
    assert_eq!(scroll(&app), 1);
    press(&mut app, KeyCode::End);
    type_str(&mut app, "two");
    ctrl(&mut app, 'j');
    type_str(&mut app, "lines");
    press(&mut app, KeyCode::Up);
    assert_eq!(scroll(&app), 0, "with text, Up moves in the box");
    type_str(&mut app, "x");
    assert_eq!(input_text(&app), "twox\nlines");
}

#[test]
fn the_wheel_scrolls_three_lines_and_the_mouse_toggles() {
    let mut app = scene::history();
    laid_out(&mut app);
    let wheel = |app: &mut App, kind| {
        app.on_mouse(MouseEvent {
            kind,
            column: 10,
            row: 5,
            modifiers: KeyModifiers::NONE,
        })
    };
    wheel(&mut app, MouseEventKind::ScrollUp);
    assert_eq!(scroll(&app), 3);
    wheel(&mut app, MouseEventKind::ScrollDown);
    assert_eq!(scroll(&app), 0);
    assert!(app.mouse, "on by default");
    prefix(&mut app, Action::ToggleMouse);
    assert!(!app.mouse);
    let s = screen(&app, 120, 24);
    assert!(s.contains("mouse off"), "the status bar says so:\n{s}");
    prefix(&mut app, Action::ToggleMouse);
    assert!(app.mouse);
}

#[test]
fn a_drag_selects_and_the_release_copies() {
    let mut app = scene::history();
    laid_out(&mut app);
    let s = screen(&app, 80, 24);
    let y = s
        .lines()
        .position(|l| l.contains("Done: the test now passes"))
        .expect("the answer on screen") as u16;
    let at = |app: &mut App, kind, column, row| {
        app.on_mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    at(&mut app, MouseEventKind::Down(MouseButton::Left), 2, y);
    at(&mut app, MouseEventKind::Drag(MouseButton::Left), 10, y);
    assert!(copy_state(&app).is_some_and(|c| c.by_mouse));
    at(&mut app, MouseEventKind::Drag(MouseButton::Left), 16, y);
    at(&mut app, MouseEventKind::Up(MouseButton::Left), 16, y);
    assert_eq!(app.clipboard.as_deref(), Some("Done: the test"));
    assert!(copy_state(&app).is_none());
}

// ---------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------

#[test]
fn a_search_asks_the_daemon_and_walks_back_to_an_older_match() {
    let all = long_history();
    let mut app = attached_newest(&all, 60);
    search(&mut app, "needle");
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Search {
            session: SID.into(),
            query: "needle".into()
        }]
    );
    assert!(screen(&app, 80, 24).contains("searching the whole history"));
    app.outbox.clear();
    app.on_daemon(FromDaemon::SearchHits {
        query: "needle".into(),
        result: hits(&[3]),
    });
    assert_eq!(
        app.outbox,
        vec![ToDaemon::BackfillPage {
            session: SID.into(),
            before: 61,
            limit: 5000
        }]
    );
    assert!(screen(&app, 80, 24).contains("loading the older events"));
    let app = search_older_match();
    let s = screen(&app, 80, 24);
    assert!(s.contains("/ needle (1/1)"), "{s}");
    assert!(
        s.lines()
            .nth(1)
            .is_some_and(|l| l.contains("where is the needle?")),
        "the match at the top:\n{s}"
    );
}

#[test]
fn next_and_previous_walk_every_match_loaded_or_not() {
    let mut app = search_marked();
    let current = |a: &App| {
        a.session
            .as_ref()
            .and_then(|v| v.search.as_ref())
            .map(|s| (s.current, s.matches.clone()))
    };
    // "readme": the steer message (seq 10) and the answer (seq 17).
    assert_eq!(current(&app), Some((1, vec![10, 17])));
    act(&mut app, Context::Session, Action::NextMatch);
    assert_eq!(current(&app).map(|c| c.0), Some(0));
    // An answer for an older query changes nothing.
    app.on_daemon(FromDaemon::SearchHits {
        query: "other".into(),
        result: hits(&[1]),
    });
    assert_eq!(current(&app).map(|c| c.1), Some(vec![10, 17]));
    // A daemon that cannot search: the loaded matches stay, and it is said.
    let mut app = scene::history();
    search(&mut app, "readme");
    app.on_daemon(FromDaemon::SearchFailed {
        query: "readme".into(),
        message: "method not found".into(),
    });
    assert!(
        app.flash
            .as_deref()
            .unwrap_or("")
            .contains("loaded events only")
    );
    assert!(!screen(&app, 80, 24).contains("searching"));
}

#[test]
fn no_match_is_said() {
    let app = search_no_match();
    let s = screen(&app, 80, 24);
    assert!(s.lines().next().unwrap_or("").contains("no match"), "{s}");
    assert_eq!(scroll(&app), 0);
}

// ---------------------------------------------------------------------------
// Spinner and queued messages
// ---------------------------------------------------------------------------

#[test]
fn the_spinner_turns_with_the_clock_and_stops_with_the_turn() {
    let mut app = spinner();
    let s = screen(&app, 80, 24);
    assert!(s.contains("⠸ working 12s"), "{s}");
    let wake = app.next_wake().expect("a wake for the next frame");
    assert_eq!(
        wake.saturating_duration_since(app.clock.now()),
        std::time::Duration::from_millis(100)
    );
    app.clock.advance(std::time::Duration::from_millis(100));
    assert!(screen(&app, 80, 24).contains("⠼ working 12s"));
    app.clock.advance(std::time::Duration::from_secs(60));
    assert!(screen(&app, 80, 24).contains("working 1m 12s"));
    app.on_daemon(live_event(5, EventKind::TurnCompleted));
    app.on_daemon(live_event(
        6,
        EventKind::State {
            state: SessionState::Idle,
        },
    ));
    assert!(!screen(&app, 80, 24).contains("working"));
    assert_eq!(app.next_wake(), None, "nothing to wake for");
}

#[test]
fn a_queued_message_is_taken_back_only_while_still_queued() {
    let mut app = queued();
    type_str(&mut app, "draft");
    act(&mut app, Context::Session, Action::Unqueue);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::CancelInput {
            session: SID.into(),
            input_id: 8,
            text: "and keep it short, please: one paragraph at most".into(),
        }]
    );
    app.on_daemon(FromDaemon::Cancelled {
        input_id: 8,
        text: "and keep it short, please: one paragraph at most".into(),
        cancelled: true,
    });
    assert_eq!(
        input_text(&app),
        "and keep it short, please: one paragraph at most\ndraft",
        "back in the box, before the draft"
    );
    // Too late for the other one: it says so and changes nothing.
    app.on_daemon(FromDaemon::Cancelled {
        input_id: 7,
        text: "then update the changelog".into(),
        cancelled: false,
    });
    assert!(app.flash.as_deref().unwrap_or("").contains("too late"));
    assert!(!input_text(&app).contains("changelog"));
    // The daemon's queue is what shows.
    app.on_daemon(live(Live::Queued { inputs: vec![] }));
    assert!(!screen(&app, 80, 24).contains("queued ›"));
    app.outbox.clear();
    act(&mut app, Context::Session, Action::Unqueue);
    assert!(app.outbox.is_empty());
    assert!(
        app.flash
            .as_deref()
            .unwrap_or("")
            .contains("no message is queued")
    );
}
