//! App tests: the requests keys make the app send (input, steering, interrupts,
//! approvals and denials, the prefix key, the session list, creating and killing
//! sessions), what a read-only client refuses to send, the tick's refreshes, and
//! pastes.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;
use tether_shared::protocol::CreateParams;
use tether_shared::{Decision, Delivery, SessionState};

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

fn decisions(app: &App) -> Vec<&ToDaemon> {
    app.outbox
        .iter()
        .filter(|m| matches!(m, ToDaemon::Approve { .. } | ToDaemon::Deny { .. }))
        .collect()
}

/// Issue 7 item 1: with `rm -rf` waiting, typing `hey` approved it at the `y`.
/// No key that typing or a paste produces may decide a call, armed or not.
#[test]
fn typing_enter_and_pastes_with_a_call_waiting_decide_nothing() {
    let mut app = scene::approval();
    assert_eq!(pending_calls(&app), vec!["call_9"]);
    // Every printable ASCII character, some others, shifted too, then Enter.
    let printable: String = (' '..='~').chain("éßñ€→".chars()).collect();
    for c in printable.chars() {
        press(&mut app, KeyCode::Char(c));
        key(
            &mut app,
            KeyCode::Char(c.to_ascii_uppercase()),
            KeyModifiers::SHIFT,
        );
    }
    for code in [
        KeyCode::Tab,
        KeyCode::Backspace,
        KeyCode::Left,
        KeyCode::Enter,
    ] {
        press(&mut app, code);
    }
    for sentence in ["hey", "draft in main", "yes yes y", "no n N Y"] {
        type_str(&mut app, sentence);
        press(&mut app, KeyCode::Enter);
    }
    app.on_paste("y\nn\ny\r\n");
    press(&mut app, KeyCode::Enter);
    assert!(decisions(&app).is_empty(), "{:?}", app.outbox);
    assert!(
        app.modal.is_none(),
        "no deny dialog opened: {:?}",
        app.modal
    );
    assert_eq!(pending_calls(&app), vec!["call_9"]);
    // The typing went where typing goes: messages, sent as usual.
    assert!(app.outbox.contains(&ToDaemon::Send {
        session: SID.into(),
        text: "draft in main".into(),
        delivery: Delivery::Queue,
    }));
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.contains("once the waiting call is decided")),
        "{:?}",
        app.flash
    );
    // The prompt is still there, and still says how to decide.
    assert!(screen(&app, 80, 24).contains("Ctrl-y  approve"));
}

#[test]
fn ctrl_y_approves_once_the_prompt_is_armed() {
    let mut app = scene::approval_arming();
    assert!(screen(&app, 80, 24).contains("arming…"));
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty(), "decided while arming");
    assert!(
        app.flash.as_deref().is_some_and(|f| f.contains("arming")),
        "{:?}",
        app.flash
    );
    ctrl(&mut app, 'd');
    assert!(app.modal.is_none());
    app.clock.advance(crate::ui::app::ARM_DELAY / 2);
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty(), "decided while arming");
    arm(&mut app);
    assert!(!screen(&app, 80, 24).contains("arming…"));
    ctrl(&mut app, 'y');
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_9".into(),
        }]
    );
    assert_eq!(input_text(&app), "", "nothing typed into the message");
}

#[test]
fn a_new_call_at_the_head_of_the_queue_arms_again() {
    let mut app = scene::approval();
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    app.on_daemon(live_event(
        next,
        call("call_10", "shell", json!({"command": "ls"})),
    ));
    app.on_daemon(live_event(next + 1, ask("call_10", "shell")));
    // The head is still call_9: armed.
    assert!(!screen(&app, 80, 24).contains("arming…"));
    app.on_daemon(live_event(
        next + 2,
        decided("call_9", Decision::Approved, None),
    ));
    // Now call_10 is the head, just shown: a key pressed for call_9 a moment
    // too late cannot approve it.
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty(), "{:?}", app.outbox);
    assert!(screen(&app, 80, 24).contains("arming…"));
    arm(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        decisions(&app),
        vec![&ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_10".into(),
        }]
    );
}

#[test]
fn a_prompt_hidden_by_a_dialog_arms_again_when_it_shows() {
    let mut app = scene::approval();
    press(&mut app, KeyCode::Char('?'));
    assert!(matches!(app.modal, Some(Modal::Help)));
    arm(&mut app);
    press(&mut app, KeyCode::Esc);
    assert!(app.modal.is_none());
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty(), "{:?}", app.outbox);
    arm(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(decisions(&app).len(), 1);
}

#[test]
fn ctrl_y_approves_the_oldest_of_several_pending_calls() {
    let mut kinds = approval_kinds();
    kinds.extend([
        call("call_10", "write_file", json!({"path": "a.txt"})),
        ask("call_10", "write_file"),
    ]);
    let mut app = session_with(kinds);
    arm(&mut app);
    assert!(screen(&app, 80, 24).contains("(+1 more)"));
    ctrl(&mut app, 'y');
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_9".into(),
        }]
    );
}

#[test]
fn ctrl_d_asks_for_a_reason_then_denies() {
    let mut app = scene::approval();
    ctrl(&mut app, 'd');
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
    ctrl(&mut app, 'd');
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
    ctrl(&mut app, 'd');
    type_str(&mut app, "never mind");
    press(&mut app, KeyCode::Esc);
    assert!(app.modal.is_none());
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
    // The call still waits.
    assert_eq!(pending_calls(&app), vec!["call_9"]);
}

/// Another client (or `tether approve`) decides while the deny dialog is open:
/// the dialog closes at once, so its Enter cannot send a stale denial.
#[test]
fn a_decision_elsewhere_closes_the_deny_dialog() {
    for decision in [Decision::Approved, Decision::Denied] {
        let mut app = scene::approval();
        ctrl(&mut app, 'd');
        type_str(&mut app, "half a reason");
        let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
        app.on_daemon(live_event(next, decided("call_9", decision, None)));
        assert!(app.modal.is_none(), "{decision:?}: the dialog stays open");
        assert!(
            screen(&app, 80, 24).contains("call_9 was decided elsewhere"),
            "{decision:?}"
        );
        press(&mut app, KeyCode::Enter);
        assert!(decisions(&app).is_empty(), "{:?}", app.outbox);
    }
    // A result (the call interrupted) closes it too.
    let mut app = scene::approval();
    ctrl(&mut app, 'd');
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    app.on_daemon(live_event(
        next,
        result("call_9", "shell", "interrupted", true),
    ));
    assert!(app.modal.is_none());
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
    assert!(!screen(&app, 80, 24).contains("approve?"));
    // Ctrl-y now decides nothing.
    ctrl(&mut app, 'y');
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
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
    ctrl(&mut app, 'd');
    assert!(app.modal.is_none());
}

/// Another client's denial, before the daemon's matching `tool_result` arrives.
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
fn alt_down_and_up_scroll_a_long_call_within_its_length() {
    let mut app = scene::approval_long_diff();
    let s = screen(&app, 80, 24);
    assert!(s.contains("Alt-Up/Alt-Down scroll · 4-"), "{s}");
    for _ in 0..100 {
        key(&mut app, KeyCode::Down, KeyModifiers::ALT);
    }
    let s = screen(&app, 80, 24);
    assert!(s.contains("+line 40") && s.contains("/43"), "{s}");
    for _ in 0..100 {
        key(&mut app, KeyCode::Up, KeyModifiers::ALT);
    }
    let s = screen(&app, 80, 24);
    assert!(
        s.contains("scroll · 1-") && s.contains("file notes.txt"),
        "{s}"
    );
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
}

#[test]
fn a_custom_approve_key_decides_and_the_prompt_names_it() {
    let table: toml::Table = toml::from_str("approve = \"alt-a\"").expect("toml");
    let keymap = Keymap::with_overrides(&table).expect("a keymap");
    let mut app = attached_with(keymap, false, approval_kinds());
    arm(&mut app);
    assert!(screen(&app, 80, 24).contains("Alt-a  approve"));
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty());
    pause(&mut app);
    key(&mut app, KeyCode::Char('a'), KeyModifiers::ALT);
    assert_eq!(decisions(&app).len(), 1);
}

/// A human's pause between keys: longer than a burst.
fn pause(app: &mut App) {
    app.clock.advance(crate::ui::app::BURST_GAP * 4);
}

/// A paste the terminal did not mark as one arrives as keys microseconds apart;
/// a Ctrl-y or Ctrl-d byte inside it decides nothing.
#[test]
fn a_decision_key_inside_a_burst_of_keys_decides_nothing() {
    let mut app = scene::approval();
    pause(&mut app);
    for c in "line1".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    ctrl(&mut app, 'y');
    ctrl(&mut app, 'd');
    for c in "yes".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert!(decisions(&app).is_empty(), "{:?}", app.outbox);
    assert!(app.modal.is_none(), "no deny dialog from a burst");
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.contains("on its own")),
        "{:?}",
        app.flash
    );
    // Right after a bracketed paste, too.
    pause(&mut app);
    app.on_paste("pasted");
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty(), "{:?}", app.outbox);
    // Pressed on its own, it decides.
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(decisions(&app).len(), 1, "{:?}", app.outbox);
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
                page: crate::ui::app::ATTACH_PAGE,
                read_only: false,
            },
            ToDaemon::Tools {
                session: "01JQ7Z4B2C".into()
            },
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
                page: crate::ui::app::ATTACH_PAGE,
                read_only: false,
            },
            ToDaemon::Tools {
                session: "01JQ8A0000".into()
            },
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
    press(&mut app, KeyCode::Char('?'));
    let s = screen(&app, 80, 60);
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
