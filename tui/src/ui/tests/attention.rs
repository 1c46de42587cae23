//! Attention tests (issue 11): the bell's rules as the app applies them, the
//! badge, the jump, next and previous session, the picker, the list sorted by
//! who needs you, approving and denying from the list, and the title. The
//! scenes here are snapshotted in `mod.rs`.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;
use tether_shared::SessionState;
use tether_shared::protocol::{AlwaysAllow, SessionInfo};
use tether_shared::rules::RuleScope;

use crate::ui::app::{App, Screen};
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::keymap::Keymap;
use crate::ui::modals::Modal;
use crate::ui::view;

use super::fixtures::*;

pub(super) const DOCS: &str = "01JQ7Z4B2C";
const NIGHTLY: &str = "01JQ7Z5D9E";
const SCRATCH: &str = "01JQ7Z6F1G";
const BUDGET: &str = "01JQ7Z7H2J";

/// The fixture list plus a session that ran out of budget.
fn waiting_sessions() -> Vec<SessionInfo> {
    let mut list = sessions();
    list.push(SessionInfo {
        updated_at: "2026-03-01T08:12:00Z".into(),
        usage: tether_shared::Usage {
            prompt_tokens: 48_000,
            completion_tokens: 3_100,
            ..Default::default()
        },
        budget: tether_shared::event::Budget {
            max_tokens: Some(50_000),
            max_cost_usd: None,
        },
        ..info(BUDGET, "translate", SessionState::BudgetExhausted)
    });
    list
}

/// The daemon's answer to the fetch of docs-site's waiting calls.
fn docs_calls(calls: &[(&str, &str)]) -> FromDaemon {
    let mut events = Vec::new();
    for (i, (id, command)) in calls.iter().enumerate() {
        let seq = 40 + 2 * i as u64;
        events.push(ev(seq, call(id, "shell", json!({ "command": command }))));
        events.push(ev(seq + 1, ask(id, "shell")));
    }
    FromDaemon::PendingCalls {
        session: DOCS.into(),
        events: Some(events),
    }
}

const DEPLOY: &str = "npm run build && rsync -a --delete dist/ /var/www/docs";

/// A list where `id`'s state is `state` (waiting for `calls`), the rest calm.
fn calm_but(id: &str, state: SessionState, calls: &[&str]) -> Vec<SessionInfo> {
    sessions()
        .into_iter()
        .map(|s| {
            let (state, pending) = if s.id == id {
                (state, calls.iter().map(|c| c.to_string()).collect())
            } else {
                (SessionState::Idle, Vec::new())
            };
            SessionInfo {
                state,
                pending_approvals: pending,
                ..s
            }
        })
        .collect()
}

fn calm() -> Vec<SessionInfo> {
    calm_but("", SessionState::Idle, &[])
}

fn prefix(app: &mut App, c: char) {
    ctrl(app, 'b');
    press(app, KeyCode::Char(c));
}

fn select(app: &mut App, id: &str) {
    let at = app
        .list
        .visible()
        .iter()
        .position(|s| s.id == id)
        .expect("the session is listed");
    app.list.selected = at;
}

fn attaches_to(app: &App) -> Vec<String> {
    app.outbox
        .iter()
        .filter_map(|m| match m {
            ToDaemon::Attach { session, .. } => Some(session.clone()),
            _ => None,
        })
        .collect()
}

fn decisions(app: &App) -> Vec<&ToDaemon> {
    app.outbox
        .iter()
        .filter(|m| matches!(m, ToDaemon::Approve { .. } | ToDaemon::Deny { .. }))
        .collect()
}

// ---------------------------------------------------------------------------
// Scenes
// ---------------------------------------------------------------------------

pub(super) mod scenes {
    use super::*;

    /// The list with a failed, a waiting (its call loaded) and an exhausted session.
    pub fn list_waiting() -> App {
        let mut app = list_with(waiting_sessions());
        app.on_daemon(docs_calls(&[("call_7", DEPLOY)]));
        app
    }

    /// The list's approval prompt for docs-site's call, armed.
    pub fn list_review() -> App {
        let mut app = list_waiting();
        select(&mut app, DOCS);
        press(&mut app, KeyCode::Char('a'));
        arm(&mut app);
        app
    }

    /// The list's prompt in its "always allow" step, for the project.
    pub fn list_review_always() -> App {
        let mut app = list_review();
        pause(&mut app);
        ctrl(&mut app, 't');
        pause(&mut app);
        press(&mut app, KeyCode::Tab);
        app
    }

    /// On api-refactor while docs-site waits: the status bar's badge.
    pub fn badge() -> App {
        let mut app = session_with(history_kinds());
        app.on_daemon(FromDaemon::Sessions(calm()));
        app.on_daemon(FromDaemon::Sessions(calm_but(
            DOCS,
            SessionState::AwaitingApproval,
            &["call_7"],
        )));
        app.on_daemon(docs_calls(&[("call_7", DEPLOY)]));
        app
    }

    /// The picker over the session view.
    pub fn picker() -> App {
        let mut app = session_with(history_kinds());
        app.on_daemon(FromDaemon::Sessions(waiting_sessions()));
        app.on_daemon(docs_calls(&[("call_7", DEPLOY)]));
        prefix(&mut app, 'w');
        app
    }

    /// The picker, filtered.
    pub fn picker_filter() -> App {
        let mut app = picker();
        type_str(&mut app, "dc");
        press(&mut app, KeyCode::Backspace);
        app
    }
}

/// The scenes above, for the snapshot and small-size tests.
pub(super) const SCENES: &[(&str, Scene)] = &[
    ("list_waiting", scenes::list_waiting),
    ("list_review", scenes::list_review),
    ("list_review_always", scenes::list_review_always),
    ("badge", scenes::badge),
    ("picker", scenes::picker),
    ("picker_filter", scenes::picker_filter),
];

#[test]
fn the_attention_scenes_draw_at_small_sizes_without_panic() {
    for (name, build) in SCENES {
        for (w, h) in [(80, 24), (40, 10), (20, 5), (10, 4), (9, 3), (1, 1)] {
            let out = std::panic::catch_unwind(|| {
                let app = at_size(w, h, build);
                screen(&app, w, h)
            });
            assert!(out.is_ok(), "{name} panicked at {w}x{h}");
        }
    }
}

// ---------------------------------------------------------------------------
// The bell
// ---------------------------------------------------------------------------

#[test]
fn another_session_that_starts_waiting_rings_the_bell_once() {
    let mut app = session_with(history_kinds());
    app.on_daemon(FromDaemon::Sessions(calm()));
    assert!(!app.ring, "the first list is no transition");
    app.on_daemon(FromDaemon::Sessions(calm_but(
        DOCS,
        SessionState::AwaitingApproval,
        &["call_7"],
    )));
    assert!(app.ring, "docs-site started waiting: bell");
    app.ring = false;
    // The same state again, with something else changed: no transition, no bell.
    let mut again = calm_but(DOCS, SessionState::AwaitingApproval, &["call_7"]);
    again[1].attached_clients = 3;
    app.on_daemon(FromDaemon::Sessions(again));
    assert!(!app.ring, "an update that is not a transition rang");
    // A failure and an exhausted budget ring too.
    for state in [SessionState::Failed, SessionState::BudgetExhausted] {
        app.on_daemon(FromDaemon::Sessions(calm()));
        app.on_daemon(FromDaemon::Sessions(calm_but(NIGHTLY, state, &[])));
        assert!(std::mem::take(&mut app.ring), "{state:?}");
    }
}

#[test]
fn the_session_on_screen_rings_only_while_the_terminal_is_not_focused() {
    let mut app = session_with(history_kinds());
    app.on_daemon(FromDaemon::Sessions(calm()));
    app.on_daemon(FromDaemon::Sessions(calm_but(
        SID,
        SessionState::AwaitingApproval,
        &["call_1"],
    )));
    assert!(!app.ring, "the person is looking at it");
    app.on_daemon(FromDaemon::Sessions(calm()));
    app.focused = false;
    app.on_daemon(FromDaemon::Sessions(calm_but(
        SID,
        SessionState::AwaitingApproval,
        &["call_2"],
    )));
    assert!(app.ring, "the terminal is not focused: bell");
}

#[test]
fn with_the_bell_off_nothing_rings() {
    let mut app = session_with(history_kinds());
    app.bell = false;
    app.focused = false;
    app.on_daemon(FromDaemon::Sessions(calm()));
    for id in [DOCS, SID] {
        app.on_daemon(FromDaemon::Sessions(calm_but(
            id,
            SessionState::AwaitingApproval,
            &["call_7"],
        )));
        app.on_daemon(FromDaemon::Sessions(calm()));
    }
    assert!(!app.ring);
}

// ---------------------------------------------------------------------------
// Badge, jump, next and previous
// ---------------------------------------------------------------------------

#[test]
fn the_badge_counts_the_other_sessions_that_need_you() {
    let app = scenes::badge();
    let s = screen(&app, 80, 24);
    let status = s.lines().last().unwrap_or_default();
    assert!(status.contains(" 1 waiting  Ctrl-b a"), "{status}");
    // The session on screen does not count itself.
    let mut app = session_with(history_kinds());
    app.on_daemon(FromDaemon::Sessions(calm_but(
        SID,
        SessionState::AwaitingApproval,
        &["call_1"],
    )));
    assert!(!screen(&app, 80, 24).contains("waiting "));
    assert!(app.others_waiting().is_empty());
}

#[test]
fn ctrl_b_a_jumps_to_the_session_that_has_waited_longest() {
    let mut app = session_with(history_kinds());
    prefix(&mut app, 'a');
    assert_eq!(app.flash.as_deref(), Some("no other session needs you"));
    assert!(app.outbox.is_empty());
    app.on_daemon(FromDaemon::Sessions(calm()));
    // scratch waits first, docs-site later (its update is newer).
    let mut list = calm_but(SCRATCH, SessionState::AwaitingApproval, &["call_1"]);
    list[3].updated_at = "2026-03-01T10:00:00.000Z".into();
    app.on_daemon(FromDaemon::Sessions(list.clone()));
    list[1].state = SessionState::Failed;
    list[1].updated_at = "2026-03-01T10:05:00.000Z".into();
    app.on_daemon(FromDaemon::Sessions(list));
    app.outbox.clear();
    prefix(&mut app, 'a');
    assert_eq!(
        app.outbox,
        vec![
            ToDaemon::Detach,
            ToDaemon::Attach {
                session: SCRATCH.into(),
                page: crate::ui::app::ATTACH_PAGE,
                read_only: false,
            },
            ToDaemon::Tools {
                session: SCRATCH.into()
            },
        ]
    );
    // Nothing typed goes to the session left while the new one attaches.
    assert!(app.session.is_none());
    assert_eq!(app.screen, Screen::Session);
}

#[test]
fn ctrl_b_n_and_p_walk_the_list_order_and_wrap() {
    let mut app = session_with(history_kinds());
    app.on_daemon(FromDaemon::Sessions(sessions()));
    // The list's order: those that need you first, the longest waiting first.
    let order: Vec<&str> = app.list.visible().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        order,
        ["nightly-build", "docs-site", "api-refactor", "scratch"]
    );
    app.outbox.clear();
    prefix(&mut app, 'n');
    prefix(&mut app, 'n');
    prefix(&mut app, 'p');
    prefix(&mut app, 'p');
    prefix(&mut app, 'p');
    assert_eq!(
        attaches_to(&app),
        [SCRATCH, NIGHTLY, SCRATCH, SID, DOCS],
        "from api-refactor: scratch, wrap to nightly-build, back, back, back"
    );
    // A late reply to an attach switched away from does not take the screen.
    app.on_daemon(attach_result(numbered(history_kinds()), false, ""));
    assert!(
        app.session.is_none(),
        "the reply for api-refactor was shown"
    );
    assert_eq!(app.attaching.as_deref(), Some(DOCS));
}

// ---------------------------------------------------------------------------
// The picker
// ---------------------------------------------------------------------------

#[test]
fn the_picker_shows_who_needs_you_first_and_enter_switches_without_the_list() {
    let mut app = scenes::picker();
    let Some(Modal::Picker(p)) = &app.modal else {
        panic!("no picker: {:?}", app.modal);
    };
    let names: Vec<&str> = app
        .picker_rows(&p.filter)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "nightly-build",
            "translate",
            "docs-site",
            "api-refactor",
            "scratch"
        ]
    );
    let s = screen(&app, 80, 24);
    for reason in [
        "model provider: 401 Unauthorized",
        "budget reached: 51.1k/50.0k",
        "shell: npm run build",
    ] {
        assert!(s.contains(reason), "{reason} missing:\n{s}");
    }
    app.outbox.clear();
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert!(app.modal.is_none());
    assert_eq!(app.screen, Screen::Session, "never via the list");
    assert_eq!(attaches_to(&app), [DOCS]);
    assert_eq!(app.outbox.first(), Some(&ToDaemon::Detach));
}

#[test]
fn typing_filters_the_picker_and_esc_closes_it() {
    let mut app = scenes::picker();
    app.outbox.clear();
    type_str(&mut app, "scr");
    // j and k are text once something is typed.
    type_str(&mut app, "j");
    let Some(Modal::Picker(p)) = &app.modal else {
        panic!("no picker");
    };
    assert_eq!(p.filter.text(), "scrj");
    assert!(app.picker_rows(&p.filter).is_empty());
    assert!(screen(&app, 80, 24).contains("no session matches"));
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Enter);
    assert_eq!(attaches_to(&app), [SCRATCH]);
    let mut app = scenes::picker();
    app.outbox.clear();
    press(&mut app, KeyCode::Esc);
    assert!(app.modal.is_none());
    assert!(app.outbox.is_empty());
    // Enter on the session on screen only closes the picker.
    prefix(&mut app, 'w');
    type_str(&mut app, "api");
    press(&mut app, KeyCode::Enter);
    assert!(app.modal.is_none());
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
    assert!(app.session.is_some());
}

// ---------------------------------------------------------------------------
// The list: sorted, why, and deciding from it
// ---------------------------------------------------------------------------

#[test]
fn the_list_asks_the_daemon_for_waiting_calls_once() {
    let mut app = new_app(Keymap::default(), None, false);
    app.on_daemon(FromDaemon::Connected);
    app.outbox.clear();
    app.on_daemon(FromDaemon::Sessions(sessions()));
    assert_eq!(
        app.outbox,
        vec![ToDaemon::PendingCalls {
            session: DOCS.into(),
            before: 1,
        }]
    );
    app.outbox.clear();
    app.on_daemon(FromDaemon::Sessions(sessions()));
    assert!(app.outbox.is_empty(), "asked twice: {:?}", app.outbox);
    app.on_daemon(docs_calls(&[("call_7", DEPLOY)]));
    let s = screen(&app, 80, 24);
    assert!(s.contains("└ shell: npm run build && rsync"), "{s}");
    assert!(s.contains("└ model provider: 401 Unauthorized"), "{s}");
}

#[test]
fn a_long_failure_is_cut_with_an_ellipsis() {
    let mut list = sessions();
    list[2].last_error = Some(format!("model provider: {}", "very long ".repeat(20)));
    let app = list_with(list);
    let s = screen(&app, 80, 24);
    let line = s
        .lines()
        .find(|l| l.contains("└ model provider"))
        .expect("the reason shows")
        .trim_matches('"');
    assert!(line.trim_end().ends_with("long…"), "{line}");
    assert_eq!(line.chars().count(), 80, "cut at the screen's edge: {line}");
}

#[test]
fn a_on_a_waiting_session_shows_its_whole_call_and_ctrl_y_approves_it_once_armed() {
    let mut app = scenes::list_waiting();
    select(&mut app, DOCS);
    press(&mut app, KeyCode::Char('a'));
    assert!(matches!(app.modal, Some(Modal::Review(_))));
    let s = screen(&app, 80, 24);
    assert!(
        s.contains("$ npm run build && rsync -a --delete dist/ /var/www/docs"),
        "{s}"
    );
    assert!(s.contains("in docs-site"), "{s}");
    // Not armed yet: nothing decides.
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty());
    assert!(app.flash.as_deref().unwrap_or("").contains("arming"));
    arm(&mut app);
    // Typed text and Enter never decide.
    for c in "yes y n".chars() {
        pause(&mut app);
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert!(decisions(&app).is_empty(), "{:?}", app.outbox);
    app.on_paste("y\n");
    assert!(decisions(&app).is_empty());
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        decisions(&app),
        [&ToDaemon::Approve {
            session: DOCS.into(),
            call_id: "call_7".into(),
            always: None,
        }]
    );
    assert!(app.outbox.contains(&ToDaemon::ListSessions));
    assert!(app.modal.is_none(), "nothing else waits");
    assert_eq!(app.flash.as_deref(), Some("approved call_7 in docs-site"));
}

#[test]
fn ctrl_d_from_the_list_denies_with_a_reason_and_the_next_call_shows_armed_anew() {
    let mut list = waiting_sessions();
    list[1].pending_approvals = vec!["call_7".into(), "call_8".into()];
    let mut app = list_with(list);
    app.on_daemon(docs_calls(&[
        ("call_7", DEPLOY),
        ("call_8", "rm -rf /var/www/old"),
    ]));
    select(&mut app, DOCS);
    press(&mut app, KeyCode::Char('a'));
    assert!(screen(&app, 80, 24).contains("call_7 · 1 of 2 in docs-site"));
    arm(&mut app);
    pause(&mut app);
    ctrl(&mut app, 'd');
    type_str(&mut app, "not today");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        decisions(&app),
        [&ToDaemon::Deny {
            session: DOCS.into(),
            call_id: "call_7".into(),
            reason: Some("not today".into()),
        }]
    );
    // The next call shows, and arms again before a key decides it.
    let s = screen(&app, 80, 24);
    assert!(s.contains("$ rm -rf /var/www/old"), "{s}");
    assert!(s.contains("call_8 · 2 of 2 in docs-site"), "{s}");
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(decisions(&app).len(), 1, "decided before it armed");
    arm(&mut app);
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        decisions(&app).last(),
        Some(&&ToDaemon::Approve {
            session: DOCS.into(),
            call_id: "call_8".into(),
            always: None,
        })
    );
}

#[test]
fn a_call_not_loaded_yet_cannot_be_decided_and_a_call_decided_elsewhere_closes() {
    let mut app = list_with(sessions());
    select(&mut app, DOCS);
    press(&mut app, KeyCode::Char('a'));
    assert!(screen(&app, 80, 24).contains("loading the waiting call"));
    arm(&mut app);
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty());
    // It loads: it shows, armed from now.
    app.on_daemon(docs_calls(&[("call_7", DEPLOY)]));
    assert!(screen(&app, 80, 24).contains("$ npm run build"));
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty(), "decided on a call just shown");
    // Another client decides it: the prompt goes, saying so.
    let mut list = sessions();
    list[1].state = SessionState::Running;
    list[1].pending_approvals.clear();
    app.on_daemon(FromDaemon::Sessions(list));
    assert!(app.modal.is_none());
    assert_eq!(
        app.flash.as_deref(),
        Some("nothing waits in docs-site any more")
    );
    // A session with nothing waiting has nothing to review.
    select(&mut app, SCRATCH);
    press(&mut app, KeyCode::Char('a'));
    assert!(app.modal.is_none());
    assert!(
        app.flash
            .as_deref()
            .unwrap_or("")
            .contains("no call of scratch")
    );
}

/// The list's prompt for docs-site waiting on `commands` (call_7, call_8, …),
/// the first one shown and armed.
fn reviewing(commands: &[&str]) -> App {
    let ids: Vec<String> = (0..commands.len())
        .map(|i| format!("call_{}", 7 + i))
        .collect();
    let mut list = waiting_sessions();
    list[1].pending_approvals = ids.clone();
    let mut app = list_with(list);
    let calls: Vec<(&str, &str)> = ids
        .iter()
        .map(String::as_str)
        .zip(commands.iter().copied())
        .collect();
    app.on_daemon(docs_calls(&calls));
    select(&mut app, DOCS);
    press(&mut app, KeyCode::Char('a'));
    arm(&mut app);
    app
}

fn review_drafting(app: &App) -> bool {
    matches!(&app.modal, Some(Modal::Review(r)) if r.call.as_ref().is_some_and(|c| c.always.is_some()))
}

#[test]
fn ctrl_t_from_the_list_shows_the_rule_and_ctrl_y_adds_it_with_the_approval() {
    let mut app = reviewing(&["ls -la", "rm -rf /var/www/old"]);
    pause(&mut app);
    ctrl(&mut app, 't');
    assert!(review_drafting(&app));
    let s = screen(&app, 80, 24);
    assert!(s.contains("always allow  shell ls▌ + any arguments"), "{s}");
    assert!(s.contains("(•) this session"), "{s}");
    assert!(s.contains("$ ls -la"), "the call stays on screen:\n{s}");
    assert!(s.contains("call_7 · 1 of 2 in docs-site"), "{s}");
    assert!(decisions(&app).is_empty(), "the step decides nothing yet");
    // Typed text edits the prefix, a paste too; Tab switches the scope; Enter
    // adds nothing.
    type_str(&mut app, " -la");
    app.on_paste("x");
    press(&mut app, KeyCode::Backspace);
    pause(&mut app);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    assert!(decisions(&app).is_empty());
    assert!(screen(&app, 80, 24).contains("(•) the project"));
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        decisions(&app),
        [&ToDaemon::Approve {
            session: DOCS.into(),
            call_id: "call_7".into(),
            always: Some(AlwaysAllow {
                scope: RuleScope::Project,
                tool: Some("shell".into()),
                prefix: Some("ls -la".into()),
            }),
        }]
    );
    assert_eq!(
        app.flash.as_deref(),
        Some("approved call_7 in docs-site and added the rule")
    );
    // The next call shows, without the step, armed anew.
    let s = screen(&app, 80, 24);
    assert!(s.contains("$ rm -rf /var/www/old"), "{s}");
    assert!(s.contains("call_8 · 2 of 2 in docs-site"), "{s}");
    assert!(!review_drafting(&app));
    pause(&mut app);
    ctrl(&mut app, 't');
    assert!(!review_drafting(&app), "opened before it armed");
}

#[test]
fn the_list_s_step_takes_only_the_approve_key_pressed_on_its_own_and_esc_goes_back() {
    let mut app = reviewing(&["ls -la"]);
    // Ctrl-t right after another key (a paste?) opens nothing.
    press(&mut app, KeyCode::Char('x'));
    ctrl(&mut app, 't');
    assert!(!review_drafting(&app));
    pause(&mut app);
    ctrl(&mut app, 't');
    assert!(review_drafting(&app));
    // Ctrl-y right after another key: nothing added, nothing decided.
    press(&mut app, KeyCode::Char(' '));
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty(), "{:?}", app.outbox);
    assert!(app.flash.as_deref().unwrap_or("").contains("no rule added"));
    // Esc leaves the step, not the prompt; the call still waits.
    pause(&mut app);
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.modal, Some(Modal::Review(_))));
    assert!(!review_drafting(&app));
    // An empty prefix is refused.
    pause(&mut app);
    ctrl(&mut app, 't');
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty());
    assert!(
        app.flash
            .as_deref()
            .unwrap_or("")
            .contains("cannot be a rule")
    );
    // The deny key leaves the step for the deny dialog.
    pause(&mut app);
    ctrl(&mut app, 'd');
    assert!(!review_drafting(&app));
    assert!(matches!(&app.modal, Some(Modal::Review(r)) if r.deny.is_some()));
}

#[test]
fn a_call_decided_elsewhere_while_the_list_s_rule_is_drafted_says_no_rule_was_added() {
    let mut app = reviewing(&["ls -la", "rm -rf /var/www/old"]);
    pause(&mut app);
    ctrl(&mut app, 't');
    assert!(review_drafting(&app));
    let mut list = waiting_sessions();
    list[1].pending_approvals = vec!["call_8".into()];
    app.on_daemon(FromDaemon::Sessions(list));
    assert_eq!(
        app.flash.as_deref(),
        Some("call_7 was decided elsewhere; no rule was added from here")
    );
    assert!(!review_drafting(&app));
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert!(decisions(&app).is_empty(), "the next call arms anew");
}

#[test]
fn a_read_only_client_cannot_review_from_the_list() {
    let mut app = new_app(Keymap::default(), None, true);
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(FromDaemon::Sessions(sessions()));
    select(&mut app, DOCS);
    press(&mut app, KeyCode::Char('a'));
    assert!(app.modal.is_none());
    assert_eq!(
        app.flash.as_deref(),
        Some("read-only: cannot approve or deny")
    );
}

// ---------------------------------------------------------------------------
// The title
// ---------------------------------------------------------------------------

#[test]
fn the_title_names_the_session_and_its_state() {
    assert_eq!(view::title(&scene::list()), "tether");
    let mut app = session_with(approval_kinds());
    assert_eq!(view::title(&app), "tether: api-refactor: awaiting_approval");
    app.on_daemon(live_event(9, state(SessionState::Running)));
    assert_eq!(view::title(&app), "tether: api-refactor: running");
    app.on_daemon(FromDaemon::Disconnected("gone".into()));
    assert_eq!(view::title(&app), "tether: api-refactor: unknown");
    app.host = Some("box".into());
    assert_eq!(view::title(&app), "tether@box: api-refactor: unknown");
    key(&mut app, KeyCode::Char('b'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(view::title(&app), "tether@box");
    app.host = None;
    assert_eq!(view::title(&app), "tether");
}
