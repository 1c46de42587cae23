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

/// A session with one finished `shell` call whose output is `output`, expanded.
fn tool_result_scene(output: &str) -> App {
    let mut app = session_with(vec![
        created(),
        user("Build it."),
        call(
            "call_1",
            "shell",
            serde_json::json!({"command": "cargo build"}),
        ),
        result("call_1", "shell", output, true),
    ]);
    ctrl(&mut app, 'o');
    app
}

const ANSI_OUTPUT: &str = "\u{1b}[1;32m   Compiling\u{1b}[0m tether v0.1.0\n\u{1b}]0;cargo build\u{7}\u{1b}[1;31merror[E0308]\u{1b}[0m: mismatched types\n  \u{1b}[1;34m-->\u{1b}[0m src/lib.rs:3:5\u{1b}[K\n\u{1b}[38;5;208mwarning\u{1b}[39m: \u{1b}[4munused\u{1b}[24m import\n";

fn tool_output_ansi() -> App {
    tool_result_scene(ANSI_OUTPUT)
}

fn tool_output_cr() -> App {
    let mut app = session_with(vec![
        created(),
        user("Fetch it."),
        call(
            "call_1",
            "shell",
            serde_json::json!({"command": "curl -O x"}),
        ),
        result(
            "call_1",
            "shell",
            "Downloading   0%\rDownloading  47%\rDownloading 100%\r\nchecking... \rchecked: ok\nfinal line\r\n",
            false,
        ),
        call("call_2", "shell", serde_json::json!({"command": "make"})),
    ]);
    app.on_daemon(live(Live::ToolOutput {
        call_id: "call_2".into(),
        chunk: "[1/3] cc a.c\n[=====     ]  50%\r[==========] 100%\r\n\u{1b}[32mbuilt\u{1b}[0m\n"
            .into(),
    }));
    ctrl(&mut app, 'o');
    app
}

fn tabs() -> App {
    let mut app = session_with(vec![
        created(),
        user("name\tsize\nCargo.toml\t1200\nsrc\t4096"),
        assistant("Here:\n\n```\nfn main() {\n\tprintln!(\"x\");\n}\n```"),
        call("call_1", "shell", serde_json::json!({"command": "ls -l"})),
        result("call_1", "shell", "a\tb\tc\nlonger-name\tx\ty", false),
    ]);
    ctrl(&mut app, 'o');
    app
}

const WIDE_TABLE: &str = "Comparison:\n\n| Crate | Purpose | Maintained | Notes on the API |\n|---|---|:---:|---|\n| ratatui | terminal user interfaces with widgets and layouts | yes | immediate mode: the app redraws every frame from its state |\n| crossterm | raw terminal input and output on every platform | yes | events, colours, cursor and the alternate screen |\n| tui-markdown | Markdown to ratatui text | yes | tables wrap inside their cells at a given width |\n\nThat is all.";

fn wide_table() -> App {
    session_with(vec![
        created(),
        user("Compare the crates."),
        assistant(WIDE_TABLE),
    ])
}

#[test]
fn snapshot_tool_output_ansi() {
    snap_text("tool_output_ansi", tool_output_ansi);
    // The colours themselves: the buffer with its styles.
    in_snapshot_dir(|| {
        let app = tool_output_ansi();
        insta::assert_debug_snapshot!(
            "tool_output_ansi_styles_80x24",
            draw(&app, 80, 24).backend().buffer()
        );
    });
}

#[test]
fn snapshot_tool_output_cr() {
    snap_text("tool_output_cr", tool_output_cr);
}

/// The transcript's tail copies only the lines a frame shows: each shorter
/// tail is the end of the whole one, a running call's live output included
/// (it sits before its cell's blank separator).
#[test]
fn every_tail_is_the_end_of_the_whole_transcript() {
    let app = tool_output_cr();
    let v = app.session.as_ref().expect("attached");
    let text = |rows: &[crate::ui::app::Row]| -> Vec<String> {
        rows.iter()
            .map(|r| crate::ui::app::line_text(&r.line))
            .collect()
    };
    let whole = text(&v.tail(60, usize::MAX, true));
    // The live output's last line, then the running call's blank separator.
    let n = whole.len();
    assert!(
        whole[n - 2].contains("┆ built") && whole[n - 1].trim().is_empty(),
        "the live output ends the running call, before its separator: {whole:#?}"
    );
    for want in 1..=whole.len() {
        let tail = text(&v.tail(60, want, true));
        assert!(tail.len() >= want, "{want}: {tail:#?}");
        assert_eq!(tail[..], whole[whole.len() - tail.len()..], "{want}");
    }
}

#[test]
fn snapshot_tabs() {
    snap_text("tabs", tabs);
}

#[test]
fn snapshot_wide_table() {
    in_snapshot_dir(|| {
        for (w, h) in [(80u16, 30u16), (40, 40)] {
            let app = wide_table();
            insta::assert_snapshot!(format!("wide_table_{w}x{h}"), draw(&app, w, h).backend());
        }
    });
}

#[test]
fn coloured_output_shows_colours_and_no_escape_text() {
    let app = tool_output_ansi();
    let t = draw(&app, 80, 24);
    let s = t.backend().to_string();
    assert!(s.contains("Compiling tether v0.1.0"), "{s}");
    assert!(s.contains("error[E0308]: mismatched types"), "{s}");
    assert!(
        !s.contains("[1;31m") && !s.contains("[0m") && !s.contains("[K"),
        "{s}"
    );
    assert!(
        !s.contains("cargo build\u{7}") && !s.contains("0;cargo"),
        "{s}"
    );
    let buf = t.backend().buffer();
    let find = |needle: &str| {
        (0..buf.area.height).find_map(|y| {
            let row: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            row.find(needle)
                .map(|x| (row[..x].chars().count() as u16, y))
        })
    };
    let (x, y) = find("error[E0308]").expect("the error line");
    assert_eq!(buf[(x, y)].fg, ratatui::style::Color::Indexed(1), "red");
    let (x, y) = find("Compiling").expect("the compiling line");
    assert_eq!(buf[(x, y)].fg, ratatui::style::Color::Indexed(2), "green");
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "{:?}",
            cell.symbol()
        );
    }
}

#[test]
fn cr_progress_shows_its_last_state() {
    let s = screen(&tool_output_cr(), 80, 24);
    assert!(s.contains("Downloading 100%"), "{s}");
    assert!(!s.contains("47%") && !s.contains("  0%"), "{s}");
    assert!(s.contains("checked: ok"), "{s}");
    assert!(
        s.contains("[==========] 100%") && !s.contains("50%"),
        "the live tail too:\n{s}"
    );
}

#[test]
fn tabs_are_expanded_not_dropped() {
    let s = screen(&tabs(), 80, 24);
    assert!(s.contains("› name    size"), "{s}");
    assert!(s.contains("Cargo.toml      1200"), "{s}");
    assert!(s.contains("│ a       b       c"), "{s}");
    assert!(s.contains("│ longer-name     x       y"), "{s}");
    assert!(s.contains("        println!"), "{s}");
}

/// A wide table's rows are never broken: a table that can keep its words whole
/// is a grid whose every line is a whole row of it; one that cannot is shown as
/// records. No word is lost or split.
#[test]
fn a_wide_table_fits_the_screen_with_its_cells_wrapped() {
    for w in [80u16, 40, 30] {
        let app = wide_table();
        let s = screen(&app, w, 60);
        let grid: Vec<&str> = s
            .lines()
            .map(|l| l.trim_matches('"'))
            // The answer's lines (2 columns of margin), not the message box.
            .filter_map(|l| l.strip_prefix("  "))
            .map(str::trim)
            .filter(|l| l.starts_with(['│', '┌', '├', '└']))
            .collect();
        for r in &grid {
            assert!(
                r.ends_with(['│', '┐', '┤', '┘']),
                "a broken row at {w}: {r:?}\n{s}"
            );
        }
        if w == 80 {
            assert!(grid.len() > 5, "a grid at {w}:\n{s}");
        } else {
            assert!(grid.is_empty(), "records at {w}:\n{s}");
            assert!(s.contains("Crate: ratatui"), "{s}");
            assert!(s.contains("- Notes on the API: "), "{s}");
        }
        let joined: String = s
            .lines()
            .map(|l| l.trim_matches('"'))
            .collect::<Vec<_>>()
            .join(" ");
        for word in [
            "immediate",
            "alternate",
            "platform",
            "tui-markdown",
            "Maintained",
            "interfaces",
        ] {
            assert!(joined.contains(word), "{word} lost or split at {w}:\n{s}");
        }
    }
}

#[test]
fn a_paste_with_cr_line_ends_keeps_its_lines() {
    let mut app = scene::history();
    app.on_paste("first line\rsecond line\r\nthird line");
    assert_eq!(input_text(&app), "first line\nsecond line\nthird line");
    let s = screen(&app, 80, 24);
    assert!(s.contains("second line") && s.contains("third line"), "{s}");
}

#[test]
fn ctrl_l_asks_for_a_full_redraw_on_the_list_and_in_a_session() {
    for mut app in [scene::list(), scene::history()] {
        assert!(!app.redraw);
        ctrl(&mut app, 'l');
        assert!(app.redraw, "Ctrl-l redraws");
        assert!(app.outbox.is_empty(), "and sends nothing");
        assert_eq!(input_text(&app), "", "and types nothing");
    }
    // The help is generated from the keymap, so it lists it.
    let mut app = scene::list();
    press(&mut app, ratatui::crossterm::event::KeyCode::Char('?'));
    let mut shown = String::new();
    for _ in 0..10 {
        shown.push_str(&screen(&app, 80, 24));
        press(&mut app, ratatui::crossterm::event::KeyCode::PageDown);
    }
    assert!(
        shown.contains("Ctrl-l") && shown.contains("redraw the screen"),
        "{shown}"
    );
}

/// A session that got messages from a schedule and a file trigger, and one a
/// person typed.
fn scheduled_messages() -> App {
    session_with(vec![
        created(),
        EventKind::UserMessage {
            text: "check CI and report failures".into(),
            delivery: tether_shared::Delivery::Schedule,
        },
        EventKind::TurnStarted,
        assistant("CI is green."),
        EventKind::TurnCompleted,
        user("thanks, keep watching"),
        EventKind::UserMessage {
            text: "summarise the new notes\n\nChanged files: notes/a.txt".into(),
            delivery: tether_shared::Delivery::Schedule,
        },
    ])
}

#[test]
fn snapshot_scheduled_messages() {
    snap_text("scheduled_messages", scheduled_messages);
}

#[test]
fn a_scheduled_message_is_shown_as_scheduled_not_as_typed() {
    let app = scheduled_messages();
    let s = screen(&app, 80, 24);
    assert!(
        s.contains("› (scheduled) check CI and report failures"),
        "{s}"
    );
    assert!(s.contains("› (scheduled) summarise the new notes"), "{s}");
    assert!(s.contains("› thanks, keep watching"), "{s}");
    assert!(!s.contains("(scheduled) thanks"), "{s}");
    // And in its own colour: the tag of a typed message is cyan.
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    let fg_of = |needle: &str| {
        let (x, y) = (0..buf.area.height)
            .find_map(|y| {
                let row: String = (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect();
                row.find(needle)
                    .map(|i| (row[..i].chars().count() as u16, y))
            })
            .unwrap_or_else(|| panic!("{needle:?} on screen"));
        buf[(x, y)].fg
    };
    assert_eq!(fg_of("› (scheduled)"), ratatui::style::Color::Magenta);
    assert_eq!(fg_of("› thanks"), ratatui::style::Color::Cyan);
}
