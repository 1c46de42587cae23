//! App tests: the requests keys make the app send (input, steering, interrupts,
//! the prefix key), what a read-only client refuses to send, the tick's
//! refreshes, and pastes. Approvals are in `approval.rs`, the session list and
//! its dialogs in `list.rs`.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use tether_shared::Delivery;

use crate::ui::app::{App, Screen};
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::keymap::Keymap;
use crate::ui::modals::Modal;

use super::fixtures::*;

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
                page: crate::ui::app::ATTACH_PAGE,
                read_only: true,
            },
            ToDaemon::Tools {
                session: "docs".into()
            },
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
    arm(&mut app);
    type_str(&mut app, "hello");
    press(&mut app, KeyCode::Enter);
    ctrl(&mut app, 's');
    ctrl(&mut app, 'c');
    ctrl(&mut app, 'y');
    ctrl(&mut app, 'd');
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
fn the_tick_refreshes_what_is_not_pushed() {
    // The list is pushed as deltas: the tick asks for nothing (issue 13).
    let mut app = scene::list();
    app.on_tick();
    assert_eq!(app.outbox, vec![]);
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
fn a_killed_session_goes_back_to_the_list() {
    let mut app = scene::history();
    app.on_daemon(FromDaemon::SessionClosed(None));
    assert_eq!(app.screen, Screen::List);
    assert!(app.session.is_none());
    assert_eq!(app.outbox, vec![ToDaemon::Detach, ToDaemon::ListSessions]);
    assert!(screen(&app, 80, 24).contains("the session was killed"));
}

#[test]
fn a_session_that_moved_to_another_node_says_where() {
    let mut app = scene::history();
    let why = "session \"fix-tests\" moved to node \"b\"; attach again";
    app.on_daemon(FromDaemon::SessionClosed(Some(why.into())));
    assert_eq!(app.screen, Screen::List);
    assert!(screen(&app, 80, 24).contains("moved to node \"b\"; attach again"));
}

#[test]
fn paste_goes_to_the_input_or_the_reason() {
    let mut app = scene::history();
    app.on_paste("pasted\ntext");
    assert_eq!(input_text(&app), "pasted\ntext");
    // While a call waits, a paste is still text for the message: it decides nothing.
    let mut app = scene::approval();
    app.on_paste("y");
    assert_eq!(input_text(&app), "y");
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
    pause(&mut app);
    ctrl(&mut app, 'd');
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

#[test]
fn ctrl_b_twice_then_d_detaches_for_tmux_users() {
    // Inside a tmux whose prefix is Ctrl-b, tmux takes the first press and its
    // `send-prefix` passes the second one on; outside tmux both arrive.
    let mut keymap = Keymap::default();
    keymap.inside_tmux(&[crate::ui::keymap::Key::parse("C-b").expect("a key")]);
    let mut app = attached_with(keymap, false, history_kinds());
    assert!(
        screen(&app, 160, 24).contains("Ctrl-b Ctrl-b d detach"),
        "{}",
        screen(&app, 160, 24)
    );
    ctrl(&mut app, 'b');
    ctrl(&mut app, 'b');
    assert!(app.prefix, "a repeated prefix keeps waiting for its key");
    press(&mut app, KeyCode::Char('d'));
    assert!(app.exit);
    assert_eq!(input_text(&app), "");
    // And the help says so.
    let mut app = scene::history();
    app.keymap
        .inside_tmux(&[crate::ui::keymap::Key::parse("C-b").expect("a key")]);
    press(&mut app, KeyCode::F(1));
    let s = screen(&app, 80, 120);
    assert!(s.contains("inside tmux: press Ctrl-b twice"), "{s}");
}

#[test]
fn a_bad_keys_entry_is_shown_from_the_start() {
    for mut app in [scene::list(), scene::history()] {
        app.warning = Some(
            "/home/ana/.config/tether/config.toml: [keys] approve: y can be typed or pasted; a decision takes a ctrl-, alt- or function key, like \"ctrl-y\"; using the default keys"
                .into(),
        );
        // Whole, wrapped: the end says what the TUI did about it.
        let s = screen(&app, 80, 24);
        assert!(s.contains("[keys] approve: y can be typed"), "{s}");
        assert!(s.contains("using the default"), "{s}");
        // It stays while the user works (a flash would go at the first key).
        type_str(&mut app, "x");
        assert!(screen(&app, 80, 24).contains("[keys] approve"));
    }
}
