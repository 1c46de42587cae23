//! Approval tests: which keys decide a waiting call and when (armed, not in a
//! burst, never a typed key or a paste), denying with a reason, decisions made
//! elsewhere, and scrolling a long call.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;
use tether_shared::{Decision, Delivery};

use crate::ui::app::App;
use crate::ui::conn::ToDaemon;
use crate::ui::keymap::Keymap;
use crate::ui::modals::Modal;

use super::fixtures::*;

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
            always: None,
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
            always: None,
        }]
    );
}

#[test]
fn a_prompt_hidden_by_a_dialog_arms_again_when_it_shows() {
    let mut app = scene::approval();
    press(&mut app, KeyCode::F(1));
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
    assert!(screen(&app, 80, 24).contains("call_9 · 1 of 2"));
    ctrl(&mut app, 'y');
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_9".into(),
            always: None,
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
