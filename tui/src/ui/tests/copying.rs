//! Moving about the transcript and copying from it (issue 11): copy mode and
//! its selection, one call expanded alone, line scrolling, the wheel and the
//! drag that copies. The scenes and helpers are in `reading.rs`.

use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tether_shared::Live;

use super::fixtures::*;
use super::reading::*;
use crate::ui::app::App;
use crate::ui::conn::ToDaemon;
use crate::ui::keymap::{Action, Context};

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
