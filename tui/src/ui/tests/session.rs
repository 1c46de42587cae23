//! Session view tests: how the transcript follows the daemon (re-attaching without
//! duplicates, live events, streaming deltas, older events paged in on PgUp/Home),
//! and scrolling, search, expanded tool calls and the status bar.

use ratatui::crossterm::event::KeyCode;
use tether_shared::protocol::{LiveParams, LogsResult, SessionInfo};
use tether_shared::{Event, Live, SessionState};

use crate::ui::app::{App, ConnState};
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::keymap::Keymap;

use super::fixtures::*;

#[test]
fn a_reattach_with_overlapping_events_adds_no_duplicates() {
    let all = numbered(every_cell_kinds());
    let mut app = App::new(Keymap::default(), Some(SID.into()), false, CWD.into());
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(attach_result(all[..20].to_vec(), false, ""));
    let before = cells(&app);
    // The daemon goes away and comes back; the link re-attaches from an older seq.
    app.on_daemon(FromDaemon::Disconnected("gone".into()));
    assert_eq!(app.conn, ConnState::Reconnecting("gone".into()));
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(attach_result(all[12..].to_vec(), false, "half an ans"));
    let after = cells(&app);
    let mut fresh = App::new(Keymap::default(), Some(SID.into()), false, CWD.into());
    fresh.on_daemon(attach_result(all.clone(), false, ""));
    assert_eq!(after, cells(&fresh), "same cells as one clean attach");
    assert!(after.len() > before.len());
    assert_eq!(after[..before.len()], before[..]);
    let v = app.session.as_ref().expect("attached");
    assert_eq!(v.events.len(), all.len());
    assert_eq!(
        v.partial, "half an ans",
        "the reconnect brings the partial answer"
    );
    assert_eq!(pending_calls(&app), vec!["call_5"]);
    // The same reply twice changes nothing.
    app.on_daemon(attach_result(all[12..].to_vec(), false, "half an ans"));
    assert_eq!(cells(&app), after);
}

#[test]
fn live_events_at_or_before_the_last_seq_are_ignored() {
    let mut app = scene::history();
    let n = cells(&app).len();
    let last = app.session.as_ref().map_or(0, |v| v.last_seq());
    app.on_daemon(live_event(last, user("a replay of the last event")));
    app.on_daemon(live_event(3, user("a replay of an old event")));
    assert_eq!(cells(&app).len(), n);
    assert_eq!(
        app.session.as_ref().map(|v| v.events.len()),
        Some(last as usize)
    );
    app.on_daemon(live_event(last + 1, user("new")));
    assert_eq!(cells(&app).len(), n + 1);
    assert_eq!(cells(&app).last().map(String::as_str), Some("new"));
}

#[test]
fn live_messages_for_another_session_are_ignored() {
    let mut app = scene::history();
    let n = cells(&app).len();
    app.on_daemon(FromDaemon::Live(Box::new(LiveParams {
        session_id: "someone-else".into(),
        live: Live::Event {
            event: ev(999, user("not ours")),
        },
    })));
    assert_eq!(cells(&app).len(), n);
}

#[test]
fn deltas_stream_then_the_stored_message_replaces_them() {
    let mut app = scene::streaming();
    let partial = |a: &App| a.session.as_ref().map(|v| v.partial.clone());
    assert!(partial(&app).is_some_and(|p| p.ends_with("bounded channel and")));
    assert!(screen(&app, 80, 24).contains("▌"));
    // A retried model call voids the partial text.
    app.on_daemon(live(Live::AssistantReset));
    assert_eq!(partial(&app).as_deref(), Some(""));
    app.on_daemon(live(Live::AssistantDelta {
        text: "Again: it owns".into(),
    }));
    app.on_daemon(live_event(5, assistant("Again: it owns the state.")));
    assert_eq!(partial(&app).as_deref(), Some(""));
    assert_eq!(
        cells(&app).last().map(String::as_str),
        Some("Again: it owns the state.")
    );
    assert!(!screen(&app, 80, 24).contains("▌"));
}

#[test]
fn pgup_at_the_top_asks_for_older_events_once() {
    let mut app = scene::older_events();
    let out = screen(&app, 80, 24);
    assert!(out.contains("older events: PgUp / Home to load"), "{out}");
    press(&mut app, KeyCode::PageUp);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Backfill {
            session: SID.into(),
            before: 501,
        }]
    );
    // In flight: no second request.
    press(&mut app, KeyCode::PageUp);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.outbox.len(), 1);
    // The older page arrives (with an overlap that must not duplicate).
    let older: Vec<Event> = (450..=501)
        .map(|s| ev(s, user(&format!("older message {s}"))))
        .collect();
    app.on_daemon(FromDaemon::Backfill(LogsResult {
        events: older,
        last_seq: 503,
        more: true,
    }));
    let v = app.session.as_ref().expect("attached");
    assert_eq!(v.events.first().map(|e| e.seq), Some(450));
    assert_eq!(v.events.len(), 51 + 3);
    assert!(v.events.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
    assert_eq!(cells(&app)[0], "older message 450");
    assert!(!v.backfilling);
    // Home goes to the very top and asks for the page before that.
    app.outbox.clear();
    draw(&app, 80, 24);
    press(&mut app, KeyCode::Home);
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Backfill {
            session: SID.into(),
            before: 450,
        }]
    );
    app.on_daemon(FromDaemon::Backfill(LogsResult {
        events: vec![ev(449, user("the first"))],
        last_seq: 503,
        more: false,
    }));
    app.outbox.clear();
    press(&mut app, KeyCode::Home);
    press(&mut app, KeyCode::PageUp);
    assert!(app.outbox.is_empty(), "nothing more to load");
}

#[test]
fn pgup_without_older_events_asks_for_nothing() {
    let mut app = scene::history();
    draw(&app, 80, 24);
    for _ in 0..5 {
        press(&mut app, KeyCode::PageUp);
    }
    assert!(app.outbox.is_empty());
    let v = app.session.as_ref().expect("attached");
    assert!(v.scroll > 0);
    // Scrolling is clamped to the top of the transcript.
    let (w, h) = v.viewport;
    assert_eq!(v.scroll, v.total_height(w) - h as usize);
    assert!(screen(&app, 80, 24).contains("session created"));
    // End follows again.
    press(&mut app, KeyCode::End);
    assert_eq!(app.session.as_ref().map(|v| v.scroll), Some(0));
}

#[test]
fn scrolled_up_the_view_stays_put_while_events_arrive() {
    let mut app = scene::history();
    draw(&app, 80, 24);
    press(&mut app, KeyCode::PageUp);
    let top_before = screen(&app, 80, 24);
    let last = app.session.as_ref().map_or(0, |v| v.last_seq());
    app.on_daemon(live_event(last + 1, user("something new")));
    app.on_daemon(live_event(last + 2, assistant("and an answer")));
    let top_after = screen(&app, 80, 24);
    let body = |s: &str| s.lines().take(10).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&top_before), body(&top_after));
    assert!(top_after.contains("more below"));
}

#[test]
fn search_moves_the_view_to_the_match() {
    let mut kinds = vec![created(), user("find the needle here")];
    for i in 0..30 {
        kinds.push(user(&format!("filler question {i}")));
        kinds.push(assistant(&format!("filler answer {i}")));
    }
    let mut app = session_with(kinds);
    let out = screen(&app, 80, 24);
    assert!(!out.contains("needle"));
    ctrl(&mut app, 'f');
    type_str(&mut app, "NEEDLE");
    assert!(app.outbox.is_empty(), "the query is not sent");
    assert_eq!(input_text(&app), "", "nor typed into the input");
    press(&mut app, KeyCode::Enter);
    let v = app.session.as_ref().expect("attached");
    assert!(v.scroll > 0);
    let s = v.search.as_ref().expect("searching");
    assert_eq!(s.matches, vec![1]);
    let out = screen(&app, 80, 24);
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[0].contains("/ NEEDLE (1/1)"), "{out}");
    assert!(
        rows[1].contains("› find the needle here"),
        "the match is at the top: {out}"
    );
    // Esc leaves search; End goes back to the bottom.
    press(&mut app, KeyCode::Esc);
    assert!(app.session.as_ref().is_some_and(|v| v.search.is_none()));
    press(&mut app, KeyCode::End);
    assert!(!screen(&app, 80, 24).contains("needle"));
}

#[test]
fn ctrl_n_and_ctrl_p_cycle_matches() {
    let mut app = scene::history();
    draw(&app, 80, 24);
    ctrl(&mut app, 'f');
    type_str(&mut app, "shell");
    press(&mut app, KeyCode::Enter);
    let current = |a: &App| {
        a.session
            .as_ref()
            .and_then(|v| v.search.as_ref())
            .map(|s| (s.current, s.matches.len()))
    };
    // Two shell calls: the newest match comes first.
    assert_eq!(current(&app), Some((1, 2)));
    ctrl(&mut app, 'n');
    assert_eq!(current(&app), Some((0, 2)));
    ctrl(&mut app, 'n');
    assert_eq!(current(&app), Some((1, 2)));
    ctrl(&mut app, 'p');
    assert_eq!(current(&app), Some((0, 2)));
}

#[test]
fn search_with_no_match_leaves_the_view() {
    let mut app = scene::history();
    draw(&app, 80, 24);
    ctrl(&mut app, 'f');
    type_str(&mut app, "no such text");
    press(&mut app, KeyCode::Enter);
    let v = app.session.as_ref().expect("attached");
    assert_eq!(v.scroll, 0);
    assert!(v.search.as_ref().is_some_and(|s| s.matches.is_empty()));
}

#[test]
fn ctrl_o_expands_tool_calls() {
    let mut app = scene::transcript();
    let collapsed = screen(&app, 80, 80);
    ctrl(&mut app, 'o');
    let expanded = screen(&app, 80, 80);
    assert!(collapsed.contains("(+2 lines)"));
    assert!(expanded.contains("│ tests"));
    assert!(expanded.contains("\"command\": \"ls\""));
    ctrl(&mut app, 'o');
    assert_eq!(screen(&app, 80, 80), collapsed);
}
#[test]
fn info_updates_the_status_bar() {
    let mut app = scene::history();
    app.on_daemon(FromDaemon::Info(Box::new(SessionInfo {
        queued_inputs: 2,
        attached_clients: 3,
        state: SessionState::Running,
        ..session_info()
    })));
    let out = screen(&app, 160, 24);
    let status = out.lines().last().unwrap_or_default();
    assert!(status.contains("running"), "{status}");
    assert!(status.contains("3 attached"), "{status}");
    assert!(status.contains("2 queued"), "{status}");
}

/// The sizes the keys page and scroll by come from `App::fit`, before a frame
/// is drawn, not from drawing: drawing reads the app only.
#[test]
fn fit_records_the_sizes_the_frame_gives_the_transcript_and_the_prompt() {
    let mut app = scene::history();
    let frame = ratatui::layout::Rect::new(0, 0, 100, 30);
    app.fit(frame);
    let v = app.session.as_ref().expect("attached");
    let body = crate::ui::screens::session::layout(&app, v, frame).body;
    assert_eq!(v.viewport, (100, body.height));
    assert!(body.height > 20, "{body:?}");
    let before = v.viewport;
    draw(&app, 60, 20);
    assert_eq!(app.session.as_ref().map(|v| v.viewport), Some(before));
    // Too small a window draws no transcript: nothing changes.
    app.fit(ratatui::layout::Rect::new(0, 0, 9, 3));
    assert_eq!(app.session.as_ref().map(|v| v.viewport), Some(before));

    let mut app = scene::approval_long_diff();
    app.fit(ratatui::layout::Rect::new(0, 0, 80, 24));
    let (total, shown) = app.session.as_ref().expect("attached").prompt_view;
    assert_eq!(total, 43);
    assert!(shown > 0 && shown < total, "{shown}/{total}");
}
