//! Session list tests: moving, attaching, filtering, creating and killing
//! sessions, and quitting.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use tether_shared::SessionState;
use tether_shared::protocol::CreateParams;

use crate::ui::app::Screen;
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::modals::Modal;

use super::fixtures::*;

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
            ..Default::default()
        })]
    );
    // The form waits for the daemon's answer, which attaches to the new session.
    assert!(matches!(&app.modal, Some(Modal::Create(f)) if f.creating));
    app.outbox.clear();
    press(&mut app, KeyCode::Enter);
    assert!(app.outbox.is_empty(), "one request at a time");
    app.on_daemon(FromDaemon::Created(Box::new(info(
        "01JQ8A0000",
        "demo",
        SessionState::Running,
    ))));
    assert!(app.modal.is_none());
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
            ..Default::default()
        })]
    );
}

#[test]
fn the_worktree_switch_asks_for_a_worktree_and_text_keys_do_not_flip_it() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('n'));
    type_str(&mut app, "demo");
    for _ in 0..3 {
        press(&mut app, KeyCode::Tab);
    }
    // Only Space flips it; other keys there type nowhere.
    type_str(&mut app, "yx");
    if let Some(Modal::Create(form)) = &app.modal {
        assert!(!form.worktree);
        assert_eq!(form.fields[0].text(), "demo");
    }
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Create(CreateParams {
            name: Some("demo".into()),
            cwd: CWD.into(),
            worktree: Some(tether_shared::protocol::WorktreeParams::default()),
            ..Default::default()
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

/// The filter, the search, the deny reason and the form's fields are one
/// line-input widget: the cursor moves, and text goes in where it is.
#[test]
fn the_filter_and_the_form_edit_at_the_cursor() {
    let mut app = scene::list();
    press(&mut app, KeyCode::Char('/'));
    type_str(&mut app, "dcs");
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Char('o'));
    assert!(screen(&app, 80, 24).contains("filter: do▌cs"));
    press(&mut app, KeyCode::End);
    let names: Vec<&str> = app.list.visible().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["docs-site"]);
    ctrl(&mut app, 'w');
    assert_eq!(app.list.visible().len(), 4);
    press(&mut app, KeyCode::Enter);

    press(&mut app, KeyCode::Char('n'));
    type_str(&mut app, "demo");
    press(&mut app, KeyCode::Home);
    press(&mut app, KeyCode::Delete);
    type_str(&mut app, "my-d");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(
        app.outbox.first(),
        Some(ToDaemon::Create(p)) if p.name.as_deref() == Some("my-demo")
    ));
}

#[test]
fn the_selection_follows_its_session_when_the_list_reorders() {
    let mut app = scene::list();
    // Select a session that does not need you, then one listed below it starts
    // waiting: the list sorts that one first, above the selected one, and the
    // selection stays on the session it was on, not on its row.
    let calm = |s: &tether_shared::protocol::SessionInfo| {
        s.pending_approvals.is_empty()
            && !matches!(
                s.state,
                SessionState::Failed | SessionState::AwaitingApproval
            )
    };
    let rows: Vec<(String, bool)> = app
        .list
        .visible()
        .iter()
        .map(|s| (s.id.clone(), calm(s)))
        .collect();
    let at = rows.iter().position(|(_, c)| *c).unwrap();
    let later = rows[at + 1..]
        .iter()
        .find(|(_, c)| *c)
        .map(|(id, _)| id.clone())
        .unwrap();
    for _ in 0..at {
        press(&mut app, KeyCode::Down);
    }
    let chosen = app.list.selected_id().unwrap();
    assert_eq!(chosen, rows[at].0);
    let mut list = sessions();
    let other = list.iter().position(|s| s.id == later).unwrap();
    list[other].state = SessionState::AwaitingApproval;
    list[other].pending_approvals = vec!["call_9".into()];
    app.on_daemon(FromDaemon::Sessions(list));
    let order: Vec<String> = app.list.visible().iter().map(|s| s.id.clone()).collect();
    let pos = |id: &str| order.iter().position(|o| o == id).unwrap();
    assert!(
        pos(&later) < pos(&chosen),
        "the waiting one moved above: {order:?}"
    );
    assert_eq!(app.list.selected_id().as_deref(), Some(chosen.as_str()));
    app.outbox.clear();
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(&app.outbox[0], ToDaemon::Attach { session, .. } if *session == chosen),
        "Enter attaches to the session that was selected: {:?}",
        app.outbox
    );
    // Back on the list, the session just left is selected.
    app.outbox.clear();
    ctrl(&mut app, 'b');
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.screen, Screen::List);
    assert_eq!(app.list.selected_id().as_deref(), Some(chosen.as_str()));
}

/// `sessions.changed` (issue 13): a changed session replaces the one with its
/// id, a new one is added in the daemon's order, a removed one goes, and the
/// selection follows its session.
#[test]
fn a_list_delta_upserts_removes_and_keeps_the_selection() {
    let mut app = scene::list();
    // nightly-build failed, so it is listed among those that need a person.
    app.list.select_id(Some("01JQ7Z5D9E"));
    assert_eq!(app.list.selected, 0);
    let mut fixed = info("01JQ7Z5D9E", "nightly-build", SessionState::Idle);
    fixed.last_seq = 40;
    let mut older = info("01JQ7Z0000", "aaa-older", SessionState::Idle);
    older.created_at = "2026-02-01T00:00:00Z".into();
    app.on_daemon(FromDaemon::SessionsChanged {
        sessions: vec![fixed.clone(), older],
        removed: vec!["01JQ7Z4B2C".into(), "not-listed".into()],
    });
    let names: Vec<&str> = app.list.sessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["aaa-older", "api-refactor", "nightly-build", "scratch"]
    );
    assert_eq!(app.list.sessions[2], fixed);
    // Idle now, nightly-build moved down among the others; the selection moved with it.
    assert_eq!(app.list.selected_id().as_deref(), Some("01JQ7Z5D9E"));
    assert_eq!(app.list.selected, 2, "{:?}", app.list.visible());
    // An empty delta changes nothing; removing the selected session keeps the row.
    let before = app.list.sessions.clone();
    app.on_daemon(FromDaemon::SessionsChanged {
        sessions: vec![],
        removed: vec![],
    });
    assert_eq!(app.list.sessions, before);
    app.on_daemon(FromDaemon::SessionsChanged {
        sessions: vec![],
        removed: vec!["01JQ7Z5D9E".into()],
    });
    assert_eq!(app.list.sessions.len(), 3);
    assert!(app.list.selected < 3);
}

/// A whole list after deltas (the daemon resyncs a client that fell behind)
/// replaces everything the deltas built.
#[test]
fn a_whole_list_after_deltas_replaces_them() {
    let mut app = scene::list();
    app.on_daemon(FromDaemon::SessionsChanged {
        sessions: vec![info("01JQ7Z7H3J", "release", SessionState::Running)],
        removed: vec![],
    });
    assert_eq!(app.list.sessions.len(), 5);
    app.on_daemon(FromDaemon::Sessions(
        sessions().into_iter().take(1).collect(),
    ));
    assert_eq!(app.list.sessions.len(), 1);
}
