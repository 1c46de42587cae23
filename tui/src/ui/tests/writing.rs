//! Writing a message: the input history (Up / Down by prefix, Alt-p / Alt-n),
//! `?` and `/` as text, `Esc` that keeps the draft (and interrupts a running
//! turn), `Ctrl-g` and what the editor hands back, and long lines wrapped in
//! the box with the cursor where it belongs. Also the smaller list and form
//! fixes: a fresh filter, a create form that survives a failure, times.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::style::Modifier;
use tether_shared::protocol::CreateParams;
use tether_shared::{Delivery, SessionState};

use crate::ui::app::{App, TimeZone};
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::modals::Modal;

use super::fixtures::*;

fn alt(app: &mut App, c: char) {
    key(app, KeyCode::Char(c), KeyModifiers::ALT);
}

/// A session whose log has these user messages (oldest first).
fn with_messages(texts: &[&str]) -> App {
    let mut kinds = vec![created()];
    for t in texts {
        kinds.push(user(t));
        kinds.push(assistant("ok"));
        kinds.push(EventKind::TurnCompleted);
    }
    session_with(kinds)
}

use tether_shared::EventKind;

#[test]
fn up_on_a_typed_prefix_walks_the_messages_that_start_with_it() {
    let mut app = with_messages(&["git status", "cargo test", "git log -3", "cargo build"]);
    type_str(&mut app, "git");
    press(&mut app, KeyCode::Up);
    assert_eq!(input_text(&app), "git log -3");
    press(&mut app, KeyCode::Up);
    assert_eq!(input_text(&app), "git status");
    press(&mut app, KeyCode::Up);
    assert_eq!(
        input_text(&app),
        "git status",
        "nothing older starts with git"
    );
    press(&mut app, KeyCode::Down);
    assert_eq!(input_text(&app), "git log -3");
    press(&mut app, KeyCode::Down);
    assert_eq!(input_text(&app), "git", "past the newest: the draft again");
    assert!(app.outbox.is_empty(), "walking sends nothing");
    // What a walk shows can be edited and sent like anything typed.
    press(&mut app, KeyCode::Up);
    type_str(&mut app, " --oneline");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(
        app.outbox.as_slice(),
        [ToDaemon::Send { text, .. }] if text == "git log -3 --oneline"
    ));
}

#[test]
fn alt_p_and_alt_n_walk_everything_from_an_empty_box() {
    let mut app = with_messages(&["first", "second"]);
    alt(&mut app, 'p');
    assert_eq!(input_text(&app), "second");
    alt(&mut app, 'p');
    assert_eq!(input_text(&app), "first");
    alt(&mut app, 'p');
    assert_eq!(input_text(&app), "first");
    alt(&mut app, 'n');
    assert_eq!(input_text(&app), "second");
    alt(&mut app, 'n');
    assert_eq!(input_text(&app), "", "the empty draft comes back");
    // From a typed draft too, ignoring what it starts with.
    type_str(&mut app, "zzz");
    alt(&mut app, 'p');
    assert_eq!(input_text(&app), "second");
    alt(&mut app, 'n');
    assert_eq!(input_text(&app), "zzz");
}

#[test]
fn up_and_down_move_inside_a_message_before_they_walk() {
    let mut app = with_messages(&["old message"]);
    type_str(&mut app, "line one");
    ctrl(&mut app, 'j');
    type_str(&mut app, "line two");
    // On the second line, Up goes to the first.
    press(&mut app, KeyCode::Up);
    assert_eq!(input_text(&app), "line one\nline two");
    // On the first line, Up walks: nothing starts with the whole draft.
    press(&mut app, KeyCode::Up);
    assert_eq!(input_text(&app), "line one\nline two");
    // Alt-p walks from anywhere, and Down on the last line brings the draft back.
    alt(&mut app, 'p');
    assert_eq!(input_text(&app), "old message");
    press(&mut app, KeyCode::Down);
    assert_eq!(input_text(&app), "line one\nline two");
}

#[test]
fn up_and_down_in_an_empty_box_leave_it_empty() {
    // They belong to the transcript then, never to the history.
    let mut app = with_messages(&["a message"]);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Down);
    assert_eq!(input_text(&app), "");
}

#[test]
fn what_this_tui_sent_is_in_the_history_before_the_log_shows_it() {
    let mut app = with_messages(&["logged"]);
    type_str(&mut app, "just sent");
    press(&mut app, KeyCode::Enter);
    assert_eq!(input_text(&app), "");
    alt(&mut app, 'p');
    assert_eq!(input_text(&app), "just sent");
    alt(&mut app, 'p');
    assert_eq!(input_text(&app), "logged");
    // The daemon's echo does not make it show twice.
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    app.on_daemon(live_event(next, user("just sent")));
    alt(&mut app, 'n');
    alt(&mut app, 'n');
    alt(&mut app, 'p');
    alt(&mut app, 'p');
    alt(&mut app, 'p');
    assert_eq!(input_text(&app), "logged");
}

#[test]
fn question_mark_and_slash_are_text_in_the_message_box() {
    let mut app = scene::history();
    type_str(&mut app, "/help? and ?x /y");
    assert_eq!(input_text(&app), "/help? and ?x /y");
    assert!(app.modal.is_none(), "no help opened");
    assert!(
        app.session.as_ref().is_some_and(|v| v.search.is_none()),
        "no search opened"
    );
    press(&mut app, KeyCode::Enter);
    assert!(matches!(
        app.outbox.as_slice(),
        [ToDaemon::Send { text, .. }] if text == "/help? and ?x /y"
    ));
    // Help and search have their own keys, from an empty box or not.
    type_str(&mut app, "draft");
    press(&mut app, KeyCode::F(1));
    assert!(matches!(app.modal, Some(Modal::Help)));
    press(&mut app, KeyCode::Esc);
    ctrl(&mut app, 'f');
    assert!(app.session.as_ref().is_some_and(|v| v.search.is_some()));
    assert_eq!(input_text(&app), "draft");
    // Ctrl-b ? still opens the help.
    press(&mut app, KeyCode::Esc);
    ctrl(&mut app, 'b');
    press(&mut app, KeyCode::Char('?'));
    assert!(matches!(app.modal, Some(Modal::Help)));
}

#[test]
fn esc_keeps_the_draft_and_does_nothing_else_when_no_turn_runs() {
    let mut app = scene::history();
    type_str(&mut app, "half a thought");
    press(&mut app, KeyCode::Esc);
    assert_eq!(input_text(&app), "half a thought");
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
    // With a search open, Esc closes it, and the draft stays.
    ctrl(&mut app, 'f');
    type_str(&mut app, "shell");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert!(app.session.as_ref().is_some_and(|v| v.search.is_none()));
    assert_eq!(input_text(&app), "half a thought");
    assert_eq!(interrupts(&app), 0, "{:?}", app.outbox);
}

/// The interrupts the app asked for (a search also asks the daemon to search).
fn interrupts(app: &App) -> usize {
    app.outbox
        .iter()
        .filter(|m| matches!(m, ToDaemon::Interrupt { .. }))
        .count()
}

#[test]
fn esc_interrupts_a_running_turn_and_keeps_the_draft() {
    let mut app = session_with(vec![
        created(),
        user("a long job"),
        EventKind::TurnStarted,
        state(SessionState::Running),
    ]);
    type_str(&mut app, "next, do this");
    press(&mut app, KeyCode::Esc);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Interrupt {
            session: SID.into()
        }]
    );
    assert_eq!(input_text(&app), "next, do this");
    // A search open while it runs is closed first, with no interrupt.
    app.outbox.clear();
    ctrl(&mut app, 'f');
    type_str(&mut app, "job");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert_eq!(interrupts(&app), 0, "{:?}", app.outbox);
    press(&mut app, KeyCode::Esc);
    assert_eq!(interrupts(&app), 1, "{:?}", app.outbox);
    // Read-only: it says so, as Ctrl-c does.
    let mut ro = attached_with(
        crate::ui::keymap::Keymap::default(),
        true,
        vec![
            created(),
            EventKind::TurnStarted,
            state(SessionState::Running),
        ],
    );
    press(&mut ro, KeyCode::Esc);
    assert!(ro.outbox.is_empty());
    assert_eq!(ro.flash.as_deref(), Some("read-only: cannot interrupt"));
}

#[test]
fn esc_leaves_a_waiting_approval_alone() {
    // Awaiting approval is not "running": Esc does not cancel the turn under it.
    let mut app = scene::approval();
    press(&mut app, KeyCode::Esc);
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
}

#[test]
fn ctrl_g_asks_for_the_editor_and_its_text_becomes_the_draft() {
    let mut app = scene::history();
    type_str(&mut app, "a draft");
    ctrl(&mut app, 'g');
    assert_eq!(app.editor.as_deref(), Some("a draft"));
    assert!(app.outbox.is_empty());
    app.editor = None;
    app.edited(Ok("a draft\nwritten in the editor".into()));
    assert_eq!(input_text(&app), "a draft\nwritten in the editor");
    assert!(app.outbox.is_empty(), "not sent");
    // A failed editor leaves the draft and says why.
    app.edited(Err(
        "the editor `vi` exited with status 1; the message is unchanged".into(),
    ));
    assert_eq!(input_text(&app), "a draft\nwritten in the editor");
    assert!(screen(&app, 120, 24).contains("exited with status 1"));
    // Read-only has no draft to edit.
    let mut ro = scene::read_only();
    ctrl(&mut ro, 'g');
    assert_eq!(ro.editor, None);
}

/// The one cell drawn as the cursor (reversed), and its symbol.
fn cursor_cell(app: &App, w: u16, h: u16) -> (u16, u16, String) {
    let t = draw(app, w, h);
    let buf = t.backend().buffer();
    let found: Vec<(u16, u16, String)> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| buf[(x, y)].modifier.contains(Modifier::REVERSED))
        .map(|(x, y)| (x, y, buf[(x, y)].symbol().to_string()))
        .collect();
    assert_eq!(found.len(), 1, "one cursor: {found:?}");
    found[0].clone()
}

#[test]
fn a_long_line_wraps_and_the_box_grows_with_the_cursor_in_place() {
    // Keys handled at the size drawn: the box wraps at its width.
    at_size(30, 24, long_line_in_a_narrow_box);
}

fn long_line_in_a_narrow_box() {
    let mut app = scene::history();
    let text = "one two three four five six seven eight nine ten eleven";
    type_str(&mut app, text);
    let s = screen(&app, 30, 24);
    // 28 columns inside the border: two rows, broken at words, and the box
    // grown to hold them.
    let rows: Vec<&str> = s.lines().map(|l| l.trim_matches('"')).collect();
    let top = rows.iter().position(|r| r.starts_with('┌')).unwrap_or(0);
    assert_eq!(rows[top + 1], "│one two three four five six │", "{s}");
    assert_eq!(rows[top + 2], "│seven eight nine ten eleven │", "{s}");
    assert!(rows[top + 3].starts_with('└'), "{s}");
    // The cursor after the last character, on the last row.
    let (x, y, _) = cursor_cell(&app, 30, 24);
    let rows: Vec<&str> = s.lines().collect();
    assert!(rows[y as usize].contains("eleven"), "{s}");
    assert_eq!(x, 1 + "seven eight nine ten eleven".len() as u16);
    // Moved back into the first row, it is on the letter it is before.
    for _ in 0..("seven eight nine ten eleven".len() + 4) {
        press(&mut app, KeyCode::Left);
    }
    let (x, y2, sym) = cursor_cell(&app, 30, 24);
    assert_eq!(y2, y - 1);
    assert_eq!((x, sym.as_str()), (1 + 24, "s"), "the s of six");
    // Up and Down move between the wrapped rows before they walk any history.
    press(&mut app, KeyCode::Down);
    assert_eq!(cursor_cell(&app, 30, 24).1, y);
    assert_eq!(input_text(&app), text);
}

#[test]
fn the_cursor_lands_right_among_wide_characters() {
    at_size(26, 24, wide_characters_in_a_narrow_box);
}

fn wide_characters_in_a_narrow_box() {
    let mut app = scene::history();
    // 19 wide characters (38 columns) in a box 24 columns wide inside: 12 on
    // the first row, 7 on the second.
    let text = "日本語のテキストを折り返して表示します";
    let chars: Vec<char> = text.chars().collect();
    type_str(&mut app, text);
    let s = screen(&app, 26, 24);
    assert!(s.contains("│日本語のテキストを折り返│"), "{s}");
    let (x, y, _) = cursor_cell(&app, 26, 24);
    assert_eq!(x, 1 + 2 * 7, "after the last character: {s}");
    assert!(
        s.lines()
            .nth(y as usize)
            .unwrap_or("")
            .contains("して表示します"),
        "{s}"
    );
    // Three back: on the 17th character, the 5th of the second row.
    for _ in 0..3 {
        press(&mut app, KeyCode::Left);
    }
    let (x, y2, sym) = cursor_cell(&app, 26, 24);
    assert_eq!((x, y2, sym), (1 + 2 * 4, y, chars[16].to_string()));
    // Up to the row above: the character in the same columns.
    press(&mut app, KeyCode::Up);
    let (x, y3, sym) = cursor_cell(&app, 26, 24);
    assert_eq!((x, y3, sym), (1 + 2 * 4, y - 1, chars[4].to_string()));
}

#[test]
fn a_slash_on_the_list_starts_a_fresh_filter() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "docs");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.list.visible().len(), 1);
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "scr");
    assert_eq!(app.list.filter.text(), "scr", "not docsscr");
    let names: Vec<&str> = app.list.visible().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["scratch"]);
}

#[test]
fn a_failed_create_keeps_the_form_and_a_tilde_is_the_home_directory() {
    let mut app = scene::create_error();
    let Some(Modal::Create(form)) = &app.modal else {
        panic!("the form is still open");
    };
    assert_eq!(form.fields[0].text(), "docs-site");
    assert_eq!(form.fields[1].text(), "~/projects/docs");
    assert_eq!(form.fields[2].text(), "Fix the broken links");
    assert!(screen(&app, 80, 24).contains("already exists"));
    let home = std::env::var("HOME").unwrap_or_default();
    assert!(
        matches!(
            app.outbox.as_slice(),
            [ToDaemon::Create(CreateParams { cwd, .. })] if home.is_empty() || *cwd == format!("{home}/projects/docs")
        ),
        "{:?}",
        app.outbox
    );
    // Fixed and sent again: this time it works, and the form closes.
    app.outbox.clear();
    key(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    key(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    press(&mut app, KeyCode::End);
    type_str(&mut app, "2");
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(
            app.outbox.as_slice(),
            [ToDaemon::Create(CreateParams { name: Some(n), .. })] if n == "docs-site2"
        ),
        "{:?}",
        app.outbox
    );
    app.on_daemon(FromDaemon::Created(Box::new(info(
        "01JQ8B0000",
        "docs-site2",
        SessionState::Idle,
    ))));
    assert!(app.modal.is_none());
}

#[test]
fn list_times_are_local_unless_utc_is_asked_for_and_labelled() {
    let local = screen(&scene::list_local(), 80, 24);
    assert!(
        local.contains("03-02 05:28"),
        "23:58 UTC at +05:30: {local}"
    );
    assert!(!local.contains("UTC"), "{local}");
    let utc = screen(&scene::list_utc(), 80, 24);
    assert!(utc.contains("ACTIVE UTC"), "{utc}");
    assert!(utc.contains("03-01 09:58"), "{utc}");
    assert_eq!(scene::list().time_zone, zone(0));
    assert_ne!(scene::list_utc().time_zone, TimeZone::Local);
}

#[test]
fn cut_names_and_paths_say_so() {
    let s = screen(&scene::list_cut(), 80, 24);
    assert!(s.contains("api-refactor-…"), "{s}");
    assert!(s.contains("…/actor"), "paths keep their end: {s}");
    let s = screen(&scene::status_long_name(), 80, 24);
    let status = s.lines().last().unwrap_or("");
    assert!(
        status.contains("a-session-name-that-is-far-too-long-for…"),
        "{status}"
    );
    assert!(status.contains("idle"), "the state still shows: {status}");
    let _ = Delivery::Queue;
}

#[test]
fn ctrl_u_deletes_to_the_start_of_the_line_as_in_a_shell() {
    let mut app = scene::history();
    type_str(&mut app, "first line");
    ctrl(&mut app, 'j');
    type_str(&mut app, "abc def");
    ctrl(&mut app, 'u');
    assert_eq!(input_text(&app), "first line\n");
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
}
