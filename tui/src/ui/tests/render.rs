//! Snapshots and tests of how content is rendered: tool output with colours,
//! carriage returns and tabs, wide Markdown tables, and the session shown while
//! the daemon is away (states unknown, nothing live).

use tether_shared::{EventKind, Live, SessionState};

use super::fixtures::*;
use super::in_snapshot_dir;
use crate::ui::app::App;
use crate::ui::conn::FromDaemon;

/// Snapshots a scene's text at 80x24 and 40x10.
fn snap_text(name: &str, build: fn() -> App) {
    in_snapshot_dir(|| {
        for (w, h) in [(80u16, 24u16), (40, 10)] {
            let app = at_size(w, h, build);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), draw(&app, w, h).backend());
        }
    });
}

/// A turn streaming an answer, 2 clients attached, when the daemon goes away.
fn disconnected_streaming() -> App {
    let mut app = session_with(vec![
        created(),
        user("Explain the session actor."),
        EventKind::TurnStarted,
        EventKind::State {
            state: SessionState::Running,
        },
    ]);
    app.on_daemon(live(Live::AssistantDelta {
        text: "The session actor owns all state".into(),
    }));
    app.on_daemon(FromDaemon::Disconnected(
        "the daemon went away; starting it again".into(),
    ));
    app
}

#[test]
fn snapshot_disconnected_streaming() {
    snap_text("disconnected_streaming", disconnected_streaming);
}

#[test]
fn while_disconnected_nothing_is_shown_as_live() {
    let app = disconnected_streaming();
    let s = screen(&app, 80, 24);
    assert!(s.contains(" unknown "), "{s}");
    assert!(!s.contains("running"), "{s}");
    assert!(!s.contains("attached"), "{s}");
    assert!(!s.contains('▌'), "no streaming cursor:\n{s}");
    assert!(s.contains("owns all state"), "the text so far stays:\n{s}");
    // Connected again: live.
    let mut app = app;
    app.on_daemon(FromDaemon::Connected);
    let s = screen(&app, 80, 24);
    assert!(
        s.contains(" running ") && s.contains("2 attached") && s.contains('▌'),
        "{s}"
    );

    let mut list = scene::list();
    list.on_daemon(FromDaemon::Disconnected("gone".into()));
    let s = screen(&list, 80, 24);
    assert!(
        !s.contains("running") && !s.contains("awaiting") && !s.contains("idle"),
        "{s}"
    );
    assert_eq!(s.matches("unknown").count(), 4, "{s}");
}
