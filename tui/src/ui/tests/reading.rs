//! Reading (issue 11): snapshots of copy mode with a selection, a search
//! with its match marked and with no match, one tool call expanded alone,
//! `write_file` and `edit_file` calls as diffs, the running turn's spinner and
//! the queued messages; the scenes and helpers the app tests of reading share
//! (`copying.rs`: copy mode, scrolling, the mouse; `searching.rs`: search); and
//! app tests of diffs, the spinner and taking a queued message back.
//!
//! Snapshots of marked text show, under each row that has some, a row of
//! marks: `^` selected, `C` copy mode's cursor, `~` a search's word, `#` the
//! current match's word (the text snapshots alone would not show them).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
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
pub(super) fn marked(buf: &Buffer, body: ratatui::layout::Rect) -> String {
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
pub(super) fn snap_marked(name: &str, build: fn() -> App) {
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
pub(super) fn act(app: &mut App, context: Context, action: Action) {
    let label = app
        .keymap
        .keys_for(context, action)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{action:?} is not bound in {context:?}"));
    let k = Key::parse(&label).unwrap_or_else(|| panic!("cannot read {label}"));
    key(app, k.code, k.mods);
}

pub(super) fn prefix(app: &mut App, action: Action) {
    ctrl(app, 'b');
    act(app, Context::Prefix, action);
}

pub(super) fn search(app: &mut App, query: &str) {
    act(app, Context::Session, Action::Search);
    type_str(app, query);
    press(app, KeyCode::Enter);
}

/// The text of the line under copy mode's cursor.
pub(super) fn cursor_line(app: &App) -> String {
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
pub(super) fn cursor_up_to(app: &mut App, text: &str) {
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
pub(super) fn laid_out(app: &mut App) {
    app.fit(ratatui::layout::Rect::new(0, 0, 80, 24));
}

pub(super) fn copy_state(app: &App) -> Option<crate::ui::app::CopyMode> {
    app.session.as_ref().and_then(|v| v.copy.clone())
}

pub(super) fn scroll(app: &App) -> usize {
    app.session.as_ref().map_or(0, |v| v.scroll)
}

pub(super) fn hits(seqs: &[u64]) -> SearchResult {
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
pub(super) fn copy_selection() -> App {
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
pub(super) fn long_history() -> Vec<tether_shared::Event> {
    let mut kinds = vec![created(), user("warm up"), user("where is the needle?")];
    for i in 0..40 {
        kinds.push(user(&format!("filler question {i}")));
        kinds.push(assistant(&format!("filler answer {i}")));
    }
    numbered(kinds)
}

pub(super) fn attached_newest(events: &[tether_shared::Event], from: usize) -> App {
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
pub(super) fn search_older_match() -> App {
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
pub(super) fn search_marked() -> App {
    let mut app = scene::history();
    search(&mut app, "readme");
    app.on_daemon(FromDaemon::SearchHits {
        query: "readme".into(),
        result: hits(&[10, 17]),
    });
    app
}

/// A search that nothing matches, loaded or stored.
pub(super) fn search_no_match() -> App {
    let mut app = scene::history();
    search(&mut app, "zebra");
    app.on_daemon(FromDaemon::SearchHits {
        query: "zebra".into(),
        result: hits(&[]),
    });
    app
}

/// Finished calls, the second one expanded alone (in copy mode, `o` on it).
pub(super) fn one_cell_expanded() -> App {
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
pub(super) fn file_diffs() -> App {
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
pub(super) fn spinner() -> App {
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
pub(super) fn queued() -> App {
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
