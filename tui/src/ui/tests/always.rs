//! "Always allow" from the approval prompt (issue 11): the key opens a second
//! step that shows the rule about to be added (the scope, and for `shell` the
//! prefix, editable), and only the approve key adds it with the approval; calls
//! waiting together are reviewed one after another (`2 of 3`). Snapshots of the
//! step, and tests of what it sends.

use ratatui::crossterm::event::KeyCode;
use serde_json::json;
use tether_shared::protocol::AlwaysAllow;
use tether_shared::rules::RuleScope;
use tether_shared::{Decision, EventKind, SessionState};

use super::fixtures::*;
use super::snap;
use crate::ui::app::App;
use crate::ui::conn::ToDaemon;

fn state(s: SessionState) -> EventKind {
    EventKind::State { state: s }
}

/// A turn whose step asked for `calls` (id, tool, arguments), all waiting, armed.
fn waiting(calls: &[(&str, &str, serde_json::Value)]) -> App {
    let mut kinds = vec![
        created(),
        user("Look around the repository."),
        EventKind::TurnStarted,
        state(SessionState::Running),
        assistant("Listing files first."),
    ];
    for (id, tool, args) in calls {
        kinds.push(call(id, tool, args.clone()));
    }
    for (id, tool, _) in calls {
        kinds.push(ask(id, tool));
    }
    kinds.push(state(SessionState::AwaitingApproval));
    let mut app = session_with(kinds);
    arm(&mut app);
    app
}

fn shell(command: &str) -> serde_json::Value {
    json!({ "command": command })
}

fn approvals(app: &App) -> Vec<&ToDaemon> {
    app.outbox
        .iter()
        .filter(|m| matches!(m, ToDaemon::Approve { .. } | ToDaemon::Deny { .. }))
        .collect()
}

fn draft_open(app: &App) -> bool {
    app.session
        .as_ref()
        .and_then(|v| v.prompt.as_ref())
        .is_some_and(|p| p.always.is_some())
}

pub(super) mod scene {
    use super::*;

    /// `ls -la` waits; Ctrl-t: the rule offered is `ls`, for this session.
    pub fn always_shell() -> App {
        let mut app = waiting(&[("call_1", "shell", shell("ls -la src"))]);
        pause(&mut app);
        ctrl(&mut app, 't');
        app
    }

    /// The same, switched to the project.
    pub fn always_project() -> App {
        let mut app = always_shell();
        pause(&mut app);
        press(&mut app, KeyCode::Tab);
        app
    }

    /// A command with a pipe: approved once, never matched by the rule.
    pub fn always_not_plain() -> App {
        let mut app = waiting(&[("call_1", "shell", shell("ls -la | head -5"))]);
        pause(&mut app);
        ctrl(&mut app, 't');
        app
    }

    /// A prefix that runs anything: said in red.
    pub fn always_runs_anything() -> App {
        let mut app = waiting(&[("call_1", "shell", shell("bash scripts/check.sh"))]);
        pause(&mut app);
        ctrl(&mut app, 't');
        app
    }

    /// Another tool: every call of it.
    pub fn always_tool() -> App {
        let mut app = waiting(&[("call_1", "read_file", json!({"path": "/etc/hosts"}))]);
        pause(&mut app);
        ctrl(&mut app, 't');
        app
    }

    /// Three calls wait: the first is shown as `1 of 3`.
    pub fn several_waiting() -> App {
        waiting(&[
            ("call_1", "shell", shell("ls -la")),
            ("call_2", "shell", shell("cat Cargo.toml")),
            ("call_3", "shell", shell("rm -rf target")),
        ])
    }
}

const SCENES: &[(&str, Scene)] = &[
    ("approval_always_shell", scene::always_shell),
    ("approval_always_project", scene::always_project),
    ("approval_always_not_plain", scene::always_not_plain),
    ("approval_always_runs_anything", scene::always_runs_anything),
    ("approval_always_tool", scene::always_tool),
    ("approval_several_waiting", scene::several_waiting),
];

#[test]
fn snapshot_the_always_allow_step() {
    for (name, build) in SCENES {
        snap(name, *build);
    }
}

#[test]
fn the_always_allow_step_draws_at_small_sizes_without_panic() {
    for (name, build) in SCENES {
        for (w, h) in [(20, 5), (10, 4), (9, 3), (1, 1)] {
            let out = std::panic::catch_unwind(|| {
                let app = at_size(w, h, *build);
                screen(&app, w, h)
            });
            assert!(out.is_ok(), "{name} panicked at {w}x{h}");
        }
    }
}

#[test]
fn the_step_shows_the_rule_and_sends_it_with_the_approval() {
    let mut app = scene::always_shell();
    assert!(app.outbox.is_empty(), "Ctrl-t alone decides nothing");
    let s = screen(&app, 80, 24);
    assert!(s.contains("always allow  shell ls▌ + any arguments"), "{s}");
    assert!(s.contains("this command matches"), "{s}");
    assert!(s.contains("(•) this session  ( ) the project"), "{s}");
    // The prompt still shows the whole call.
    assert!(s.contains("$ ls -la src"), "{s}");
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        approvals(&app),
        vec![&ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_1".into(),
            always: Some(AlwaysAllow {
                scope: RuleScope::Session,
                tool: Some("shell".into()),
                prefix: Some("ls".into()),
            }),
        }]
    );
    assert!(!draft_open(&app));
    assert!(screen(&app, 80, 24).contains("waiting for the daemon"));
    // A second press sends nothing more.
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(approvals(&app).len(), 1, "{:?}", app.outbox);
}

#[test]
fn the_prefix_is_edited_and_the_scope_switched_before_it_is_sent() {
    let mut app = waiting(&[("call_1", "shell", shell("cargo test -p tether"))]);
    pause(&mut app);
    ctrl(&mut app, 't');
    type_str(&mut app, " test");
    pause(&mut app);
    press(&mut app, KeyCode::Tab);
    let s = screen(&app, 80, 24);
    assert!(s.contains("shell cargo test▌"), "{s}");
    assert!(s.contains("git work tree"), "{s}");
    assert_eq!(input_text(&app), "", "the typing went to the prefix");
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        approvals(&app),
        vec![&ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_1".into(),
            always: Some(AlwaysAllow {
                scope: RuleScope::Project,
                tool: Some("shell".into()),
                prefix: Some("cargo test".into()),
            }),
        }]
    );
}

#[test]
fn only_the_approve_key_pressed_on_its_own_adds_a_rule() {
    let mut app = scene::always_shell();
    // Enter, typing and pastes never add it.
    press(&mut app, KeyCode::Enter);
    app.on_paste(" -la\n");
    type_str(&mut app, "yes");
    press(&mut app, KeyCode::Enter);
    assert!(approvals(&app).is_empty(), "{:?}", app.outbox);
    assert!(draft_open(&app));
    // Inside a burst (an unmarked paste), neither the approve key nor Tab counts.
    pause(&mut app);
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Tab);
    ctrl(&mut app, 'y');
    assert!(approvals(&app).is_empty(), "{:?}", app.outbox);
    let s = screen(&app, 80, 24);
    assert!(
        s.contains("(•) this session"),
        "a burst's Tab changed the scope: {s}"
    );
    // The prefix now holds what was typed and pasted: it is not plain words.
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert!(approvals(&app).is_empty(), "{:?}", app.outbox);
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.contains("cannot be a rule")),
        "{:?}",
        app.flash
    );
}

#[test]
fn ctrl_t_while_arming_or_in_a_burst_opens_nothing() {
    let mut app = session_with(approval_kinds());
    ctrl(&mut app, 't');
    assert!(!draft_open(&app), "opened while arming");
    arm(&mut app);
    press(&mut app, KeyCode::Char('a'));
    ctrl(&mut app, 't');
    assert!(!draft_open(&app), "opened inside a burst");
    pause(&mut app);
    ctrl(&mut app, 't');
    assert!(draft_open(&app));
}

#[test]
fn esc_leaves_the_step_and_the_call_still_waits() {
    let mut app = scene::always_shell();
    press(&mut app, KeyCode::Esc);
    assert!(!draft_open(&app));
    assert!(app.outbox.is_empty(), "{:?}", app.outbox);
    assert_eq!(pending_calls(&app), vec!["call_1"]);
    let s = screen(&app, 80, 24);
    assert!(s.contains("Ctrl-t  always"), "{s}");
    // And the plain approve key approves once, without a rule.
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        approvals(&app),
        vec![&ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_1".into(),
            always: None,
        }]
    );
}

#[test]
fn an_empty_prefix_is_refused_and_another_tool_gets_a_whole_tool_rule() {
    let mut app = scene::always_shell();
    pause(&mut app);
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert!(approvals(&app).is_empty(), "{:?}", app.outbox);
    assert!(screen(&app, 80, 24).contains("type the words"));

    let mut app = scene::always_tool();
    assert!(screen(&app, 80, 24).contains("every read_file call"));
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert_eq!(
        approvals(&app),
        vec![&ToDaemon::Approve {
            session: SID.into(),
            call_id: "call_1".into(),
            always: Some(AlwaysAllow {
                scope: RuleScope::Session,
                tool: Some("read_file".into()),
                prefix: None,
            }),
        }]
    );
}

#[test]
fn the_deny_key_leaves_the_step_for_the_deny_dialog() {
    let mut app = scene::always_shell();
    pause(&mut app);
    ctrl(&mut app, 'd');
    assert!(!draft_open(&app));
    assert!(matches!(
        app.modal,
        Some(crate::ui::modals::Modal::DenyReason { .. })
    ));
}

#[test]
fn a_call_decided_elsewhere_closes_the_step_and_says_so() {
    let mut app = scene::always_shell();
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    app.on_daemon(live_event(
        next,
        decided("call_1", Decision::Approved, None),
    ));
    assert!(!draft_open(&app));
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.contains("no rule was added")),
        "{:?}",
        app.flash
    );
    pause(&mut app);
    ctrl(&mut app, 'y');
    assert!(approvals(&app).is_empty(), "{:?}", app.outbox);
}

/// Several calls wait: each decision shows the next one, `k of n`, armed anew;
/// calls approved by a rule added meanwhile drop out of the review.
#[test]
fn several_waiting_calls_are_reviewed_one_after_another() {
    let mut app = scene::several_waiting();
    assert!(screen(&app, 80, 24).contains("call_1 · 1 of 3"));
    pause(&mut app);
    ctrl(&mut app, 'y');
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    app.on_daemon(live_event(
        next,
        decided("call_1", Decision::Approved, None),
    ));
    let s = screen(&app, 80, 24);
    assert!(s.contains("call_2 · 2 of 3"), "{s}");
    assert!(s.contains("$ cat Cargo.toml"), "{s}");
    assert!(s.contains("arming"), "the next call arms anew: {s}");
    arm(&mut app);
    ctrl(&mut app, 'd');
    press(&mut app, KeyCode::Enter);
    app.on_daemon(live_event(
        next + 1,
        decided("call_2", Decision::Denied, None),
    ));
    let s = screen(&app, 80, 24);
    assert!(s.contains("call_3 · 3 of 3"), "{s}");
    assert_eq!(
        approvals(&app),
        vec![
            &ToDaemon::Approve {
                session: SID.into(),
                call_id: "call_1".into(),
                always: None,
            },
            &ToDaemon::Deny {
                session: SID.into(),
                call_id: "call_2".into(),
                reason: None,
            },
        ]
    );
}

#[test]
fn rule_events_show_in_the_transcript() {
    let mut app = scene::several_waiting();
    let next = app.session.as_ref().map_or(0, |v| v.last_seq()) + 1;
    let rule = tether_shared::rules::ApprovalRule {
        id: 7,
        scope: RuleScope::Project,
        tool: "shell".into(),
        prefix: Some("ls".into()),
        created_at: "2026-01-01T00:00:00Z".into(),
        session: None,
        project: Some(CWD.into()),
    };
    app.on_daemon(live_event(
        next,
        EventKind::ApprovalRuleAdded {
            rule: rule.clone(),
            call_id: Some("call_1".into()),
        },
    ));
    app.on_daemon(live_event(
        next + 1,
        decided("call_1", Decision::Approved, None),
    ));
    app.on_daemon(live_event(
        next + 2,
        EventKind::ApprovalDecided {
            call_id: "call_2".into(),
            decision: Decision::Approved,
            reason: None,
            rule: Some(7),
        },
    ));
    app.on_daemon(live_event(
        next + 3,
        EventKind::ApprovalRuleRemoved { rule },
    ));
    let cells = cells(&app).join("\n");
    assert!(
        cells
            .contains("always allow: shell \"ls\" … in project /home/ana/projects/tether (rule 7)"),
        "{cells}"
    );
    let s = screen(&app, 100, 40);
    assert!(s.contains("approved by rule 7"), "{s}");
    assert!(cells.contains("rule 7 removed"), "{cells}");
    assert_eq!(pending_calls(&app), vec!["call_3"]);
}
