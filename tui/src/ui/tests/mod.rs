//! The TUI's tests: insta snapshots of every view and modal at 80x24 and 40x10
//! through ratatui's `TestBackend`, and app tests that feed daemon messages and
//! keys and assert on what the app would send (`app.outbox`).
//!
//! States are built the way the real app gets them: daemon messages
//! (`Attached`, `Live`, ...) and key presses, with fixed ids and timestamps so the
//! snapshots are stable.
//!
//! This module holds the snapshot and drawing tests. They stay here because insta
//! names a snapshot file after the asserting module (`tether__ui__tests__*.snap`).
//! The fixtures and scenes are in `fixtures`; the app tests in `app` (keys and the
//! requests they send), `approval` (deciding a waiting call), `list` (the session
//! list and its dialogs), `always` ("always allow" rules from the prompt),
//! `session` (the session view following the daemon) and
//! `context` (context use and compactions), `attention` (the bell, the badge,
//! switching sessions and deciding from the list) and `writing` (the message
//! box: its history, its editor, its keys and its wrapping; the list's smaller
//! fixes).

mod always;
mod app;
mod approval;
mod attention;
mod context;
mod copying;
mod first_frame;
mod fixtures;
mod list;
mod questions;
mod reading;
mod render;
mod searching;
mod session;
mod writing;

use fixtures::*;

use crate::ui::view;

/// Runs `f` with insta reading and writing the snapshots in `ui/snapshots/`, where
/// they were recorded when these tests lived in `ui/tests.rs`; by default insta
/// would look in `snapshots/` next to this file.
fn in_snapshot_dir(f: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.bind(f);
}

/// Snapshots a scene at 80x24 and at 40x10, each from a freshly built app.
fn snap(name: &str, build: Scene) {
    in_snapshot_dir(|| {
        for (w, h) in [(80, 24), (40, 10)] {
            let app = at_size(w, h, build);
            let t = draw(&app, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
        }
    });
}

macro_rules! snapshot_tests {
    ($($test:ident => $scene:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                snap(stringify!($scene), scene::$scene);
            }
        )*
    };
}

snapshot_tests! {
    snapshot_list => list,
    snapshot_list_empty => list_empty,
    snapshot_list_connecting => list_connecting,
    snapshot_list_filter => list_filter,
    snapshot_list_filter_no_match => list_filter_no_match,
    snapshot_list_reconnecting => list_reconnecting,
    snapshot_list_changed => list_changed,
    snapshot_attaching => attaching,
    snapshot_transcript => transcript,
    snapshot_transcript_expanded => transcript_expanded,
    snapshot_streaming => streaming,
    snapshot_tool_output => tool_output,
    snapshot_approval => approval,
    snapshot_approval_arming => approval_arming,
    snapshot_approval_long_shell => approval_long_shell,
    snapshot_approval_edit_file => approval_edit_file,
    snapshot_approval_edit_file_local => approval_edit_file_local,
    snapshot_approval_json => approval_json,
    snapshot_approval_long_diff => approval_long_diff,
    snapshot_deny_reason => deny_reason,
    snapshot_help => help,
    snapshot_create => create,
    snapshot_kill => kill,
    snapshot_search_typing => search_typing,
    snapshot_search_matches => search_matches,
    snapshot_reconnecting => reconnecting,
    snapshot_read_only => read_only,
    snapshot_scrolled_up => scrolled_up,
    snapshot_input_multiline => input_multiline,
    snapshot_older_events => older_events,
    snapshot_input_wrapped => input_wrapped,
    snapshot_input_wrapped_wide => input_wrapped_wide,
    snapshot_input_scrolled => input_scrolled,
    snapshot_list_utc => list_utc,
    snapshot_list_local => list_local,
    snapshot_list_cut => list_cut,
    snapshot_status_long_name => status_long_name,
    snapshot_create_error => create_error,
    snapshot_list_worktree => list_worktree,
    snapshot_session_worktree => session_worktree,
    snapshot_create_worktree => create_worktree,
}

/// Issue 11: the list with sessions that need you, its approval prompt, the
/// badge and the picker.
#[test]
fn snapshot_attention() {
    for (name, build) in attention::SCENES {
        snap(name, *build);
    }
}

#[test]
fn snapshot_compaction() {
    snap("compaction", context::compacted);
    snap("compaction_expanded", context::compacted_expanded);
}

/// The whole transcript on a tall screen, so every cell kind shows in one snapshot.
#[test]
fn snapshot_transcript_tall() {
    in_snapshot_dir(|| {
        for (name, build) in [
            ("transcript_tall", scene::transcript as Scene),
            ("transcript_expanded_tall", scene::transcript_expanded),
        ] {
            let app = build();
            insta::assert_snapshot!(format!("{name}_80x80"), draw(&app, 80, 80).backend());
        }
    });
}

#[test]
fn every_view_draws_at_small_sizes_without_panic() {
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

#[test]
fn a_resize_after_drawing_redraws_at_the_new_size() {
    for (name, build) in SCENES {
        let app = build();
        let mut t = draw(&app, 80, 24);
        for (w, h) in [(40, 10), (20, 5), (120, 40), (80, 24)] {
            t.backend_mut().resize(w, h);
            t.draw(|f| view::draw(f, &app))
                .unwrap_or_else(|e| panic!("{name} at {w}x{h}: {e}"));
            assert_eq!(t.backend().buffer().area.width, w, "{name}");
        }
    }
}

#[test]
fn too_small_a_window_says_so() {
    let app = scene::transcript();
    assert!(screen(&app, 9, 3).contains("tether: w"));
}
