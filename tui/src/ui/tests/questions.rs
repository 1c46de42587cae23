//! A tool server's question as a form (issue 14): what it shows (server,
//! message, every field with its default), that typing only edits it, that only
//! the armed approval keys answer it (submit, decline, cancel), that a bad answer
//! is refused here naming the field, and that one answered elsewhere closes.
//! Sampling requests show in the approval prompt, the whole request visible.

use ratatui::crossterm::event::KeyCode;
use serde_json::json;
use tether_shared::event::{InputAction, SamplingText};
use tether_shared::{EventKind, SessionState};

use crate::ui::app::App;
use crate::ui::conn::ToDaemon;

use super::fixtures::*;

fn asked() -> EventKind {
    EventKind::InputRequested {
        request_id: "in-6".into(),
        server: "deploy".into(),
        message: "Who is deploying, and where?".into(),
        schema: json!({"type": "object", "properties": {
            "name": {"type": "string", "title": "Your name", "description": "as on the rota"},
            "region": {"type": "string", "enum": ["eu", "us", "ap"], "default": "us"},
            "count": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3},
            "notify": {"type": "boolean", "default": true}
        }, "required": ["name"]}),
        url: None,
        call_id: Some("call_5".into()),
    }
}

fn kinds(ask: EventKind) -> Vec<EventKind> {
    vec![
        created(),
        user("Deploy the release."),
        EventKind::TurnStarted,
        state(SessionState::Running),
        call("call_5", "deploy__release", json!({"tag": "v1.4"})),
        ask,
        state(SessionState::AwaitingApproval),
    ]
}

fn question_arming() -> App {
    session_with(kinds(asked()))
}

fn question() -> App {
    let mut app = question_arming();
    arm(&mut app);
    app
}

fn sampling() -> App {
    let mut app = session_with(kinds(EventKind::SamplingRequested {
        request_id: "sm-6".into(),
        server: "summarizer".into(),
        messages: vec![SamplingText {
            role: "user".into(),
            text: "Summarise the release notes: fixes the flaky test.".into(),
        }],
        system_prompt: Some("You write one line.".into()),
        max_tokens: 120,
        call_id: Some("call_5".into()),
    }));
    arm(&mut app);
    app
}

fn answers(app: &App) -> Vec<&ToDaemon> {
    app.outbox
        .iter()
        .filter(|m| {
            matches!(
                m,
                ToDaemon::Answer { .. } | ToDaemon::Approve { .. } | ToDaemon::Deny { .. }
            )
        })
        .collect()
}

#[test]
fn the_form_snapshots() {
    for (name, app) in [
        ("question_form", question()),
        ("question_form_arming", question_arming()),
        ("question_sampling", sampling()),
    ] {
        for (w, h) in [(80, 24), (44, 24)] {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), draw(&app, w, h).backend());
        }
    }
}

#[test]
fn the_form_shows_the_server_the_message_and_every_field_with_its_default() {
    let s = screen(&question(), 80, 24);
    for want in [
        "deploy asks · in-6",
        "Who is deploying, and where?",
        "Your name*",
        "(•) us",
        "count [3",
        "[x] yes",
        "Ctrl-y  submit",
        "Ctrl-d  decline",
        "Ctrl-q  cancel",
    ] {
        assert!(s.contains(want), "{want:?} missing:\n{s}");
    }
}

#[test]
fn typing_enter_and_pastes_answer_nothing_and_only_edit_the_form() {
    let mut app = question();
    let printable: String = (' '..='~').collect();
    type_str(&mut app, &printable);
    for code in [KeyCode::Enter, KeyCode::Tab, KeyCode::Backspace] {
        press(&mut app, code);
    }
    app.on_paste("y\n\r\n");
    press(&mut app, KeyCode::Enter);
    assert!(answers(&app).is_empty(), "{:?}", app.outbox);
    assert_eq!(input_text(&app), "", "nothing leaked into the message box");
    assert!(app.session.as_ref().unwrap().question.is_some());
}

#[test]
fn ctrl_y_submits_the_fields_once_armed_and_a_bad_answer_is_refused_here() {
    let mut app = question_arming();
    ctrl(&mut app, 'y');
    assert!(answers(&app).is_empty());
    assert!(app.flash.as_deref().is_some_and(|f| f.contains("arming")));
    arm(&mut app);
    // `name` is required and empty: refused here, naming the field.
    ctrl(&mut app, 'y');
    assert!(answers(&app).is_empty());
    assert!(screen(&app, 80, 24).contains("\"name\" is required"));
    // Fields come in name order: count, name, notify, region.
    press(&mut app, KeyCode::Down);
    type_str(&mut app, "Ana");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Right);
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        answers(&app),
        vec![&ToDaemon::Answer {
            session: SID.into(),
            request_id: "in-6".into(),
            action: InputAction::Accept,
            content: Some(json!({"count": 3, "name": "Ana", "notify": false, "region": "ap"})),
        }]
    );
    ctrl(&mut app, 'y');
    assert_eq!(answers(&app).len(), 1, "sent once");
}

#[test]
fn ctrl_d_declines_and_ctrl_q_cancels() {
    for (c, action) in [('d', InputAction::Decline), ('q', InputAction::Cancel)] {
        let mut app = question();
        ctrl(&mut app, c);
        assert_eq!(
            answers(&app),
            vec![&ToDaemon::Answer {
                session: SID.into(),
                request_id: "in-6".into(),
                action,
                content: None,
            }]
        );
    }
}

#[test]
fn a_question_answered_elsewhere_closes_its_form() {
    let mut app = question();
    app.on_daemon(live_event(
        8,
        EventKind::InputAnswered {
            request_id: "in-6".into(),
            action: InputAction::Accept,
            content: Some(json!({"name": "Bo"})),
            note: None,
        },
    ));
    assert!(app.session.as_ref().unwrap().question.is_none());
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.contains("answered elsewhere"))
    );
    assert!(!screen(&app, 80, 24).contains("Ctrl-q  cancel"));
}

#[test]
fn a_sampling_request_shows_whole_in_the_approval_prompt_and_ctrl_y_approves_it() {
    let mut app = sampling();
    let s = screen(&app, 80, 24);
    for want in [
        "sampling:summarizer",
        "You write one line.",
        "fixes the flaky test",
        "120",
    ] {
        assert!(s.contains(want), "{want:?} missing:\n{s}");
    }
    ctrl(&mut app, 'y');
    assert_eq!(
        answers(&app),
        vec![&ToDaemon::Approve {
            session: SID.into(),
            call_id: "sm-6".into(),
            always: None,
        }]
    );
}
