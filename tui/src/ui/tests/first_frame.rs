//! The first frame of `tether attach` (issue 13): drawn from the first page the
//! command line fetched, before the tools, the older events or the session
//! list came, saying what is still loading; then the same screen once they did.

use tether_shared::protocol::{AttachResult, LogsResult};

use crate::ui::app::{App, Clock};
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::keymap::Keymap;

use super::fixtures::*;
use super::in_snapshot_dir;

/// The size `tether attach` is timed at (docs/benchmarks.md).
const SIZE: (u16, u16) = (120, 35);

/// The app as `tether attach` opens it on `page` (the newest events of the log).
fn opened_on(events: Vec<tether_shared::Event>, truncated: bool) -> App {
    let FromDaemon::Attached(page) = attach_result(events, truncated, "") else {
        unreachable!("attach_result is an attach reply");
    };
    let page: AttachResult = *page;
    let mut app = App::from_page(Keymap::default(), page, false, CWD.into());
    app.clock = Clock::manual();
    app.time_zone = zone(0);
    if let Some(v) = app.session.as_mut() {
        v.clock = app.clock.clone();
    }
    app
}

fn shown(app: &App) -> String {
    screen(app, SIZE.0, SIZE.1)
}

#[test]
fn the_first_frame_shows_the_first_page_and_says_what_is_still_loading() {
    let all = numbered(history_kinds());
    let split = all.len() - 8;
    let (older, page) = (all[..split].to_vec(), all[split..].to_vec());
    let first_seq = page[0].seq;
    let mut app = opened_on(page, true);

    // Nothing was fetched for the frame but the page: the link adopts the
    // attach, then the rest is asked for, to come after the first frame.
    assert_eq!(
        app.outbox,
        vec![
            ToDaemon::Adopt {
                session: SID.into(),
                read_only: false,
                last_seq: all.len() as u64,
            },
            ToDaemon::Tools {
                session: SID.into(),
            },
            ToDaemon::BackfillPage {
                session: SID.into(),
                before: first_seq,
                limit: crate::ui::app::ATTACH_PAGE,
            },
        ]
    );
    app.outbox.clear();
    let first = shown(&app);
    // The page's newest messages, the status line, and placeholders where
    // data has not come: no "0 tools", no hint to load what is loading.
    for want in [
        "now run the benchmarks",
        "429 Too Many Requests",
        "loading older events…",
        "tools …",
        "api-refactor",
        "detach",
    ] {
        assert!(first.contains(want), "{want:?} missing:\n{first}");
    }
    assert!(!first.contains("0 tools"), "{first}");
    assert!(!first.contains("PgUp / Home to load"), "{first}");
    in_snapshot_dir(|| {
        let t = draw(&app, SIZE.0, SIZE.1);
        insta::assert_snapshot!("first_frame_loading", t.backend());
    });

    // Then the rest fills in.
    app.on_daemon(FromDaemon::Connected);
    app.on_daemon(FromDaemon::Sessions(sessions()));
    app.on_daemon(tools());
    app.on_daemon(FromDaemon::Backfill(LogsResult {
        events: older,
        last_seq: all.len() as u64,
        more: false,
    }));
    assert!(
        app.outbox
            .iter()
            .all(|c| !matches!(c, ToDaemon::Attach { .. }))
    );
    let filled = shown(&app);
    for want in [
        "Done: the test now passes",
        "now run the benchmarks",
        "3 tools",
    ] {
        assert!(filled.contains(want), "{want:?} missing:\n{filled}");
    }
    assert!(!filled.contains("loading"), "{filled}");
    in_snapshot_dir(|| {
        let t = draw(&app, SIZE.0, SIZE.1);
        insta::assert_snapshot!("first_frame_filled", t.backend());
    });
}

#[test]
fn a_whole_log_in_the_first_page_asks_for_no_older_events() {
    let app = opened_on(numbered(history_kinds()), false);
    assert!(
        !app.outbox
            .iter()
            .any(|c| matches!(c, ToDaemon::BackfillPage { .. } | ToDaemon::Backfill { .. })),
        "{:?}",
        app.outbox
    );
    let first = shown(&app);
    assert!(!first.contains("older events"), "{first}");
    assert!(first.contains("429 Too Many Requests"), "{first}");
}
