//! Search (issue 11): its requests to the daemon, walking back to older
//! matches, and saying when nothing matches. The scenes and helpers are in
//! `reading.rs`.

use super::fixtures::*;
use super::reading::*;
use crate::ui::app::App;
use crate::ui::conn::{FromDaemon, ToDaemon};
use crate::ui::keymap::{Action, Context};

// ---------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------

#[test]
fn a_search_asks_the_daemon_and_walks_back_to_an_older_match() {
    let all = long_history();
    let mut app = attached_newest(&all, 60);
    search(&mut app, "needle");
    assert_eq!(
        app.outbox,
        vec![ToDaemon::Search {
            session: SID.into(),
            query: "needle".into()
        }]
    );
    assert!(screen(&app, 80, 24).contains("searching the whole history"));
    app.outbox.clear();
    app.on_daemon(FromDaemon::SearchHits {
        query: "needle".into(),
        result: hits(&[3]),
    });
    assert_eq!(
        app.outbox,
        vec![ToDaemon::BackfillPage {
            session: SID.into(),
            before: 61,
            limit: 5000
        }]
    );
    assert!(screen(&app, 80, 24).contains("loading the older events"));
    let app = search_older_match();
    let s = screen(&app, 80, 24);
    assert!(s.contains("/ needle (1/1)"), "{s}");
    assert!(
        s.lines()
            .nth(1)
            .is_some_and(|l| l.contains("where is the needle?")),
        "the match at the top:\n{s}"
    );
}

#[test]
fn next_and_previous_walk_every_match_loaded_or_not() {
    let mut app = search_marked();
    let current = |a: &App| {
        a.session
            .as_ref()
            .and_then(|v| v.search.as_ref())
            .map(|s| (s.current, s.matches.clone()))
    };
    // "readme": the steer message (seq 10) and the answer (seq 17).
    assert_eq!(current(&app), Some((1, vec![10, 17])));
    act(&mut app, Context::Session, Action::NextMatch);
    assert_eq!(current(&app).map(|c| c.0), Some(0));
    // An answer for an older query changes nothing.
    app.on_daemon(FromDaemon::SearchHits {
        query: "other".into(),
        result: hits(&[1]),
    });
    assert_eq!(current(&app).map(|c| c.1), Some(vec![10, 17]));
    // A daemon that cannot search: the loaded matches stay, and it is said.
    let mut app = scene::history();
    search(&mut app, "readme");
    app.on_daemon(FromDaemon::SearchFailed {
        query: "readme".into(),
        message: "method not found".into(),
    });
    assert!(
        app.flash
            .as_deref()
            .unwrap_or("")
            .contains("loaded events only")
    );
    assert!(!screen(&app, 80, 24).contains("searching"));
}

#[test]
fn no_match_is_said() {
    let app = search_no_match();
    let s = screen(&app, 80, 24);
    assert!(s.lines().next().unwrap_or("").contains("no match"), "{s}");
    assert_eq!(scroll(&app), 0);
}
