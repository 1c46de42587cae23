//! Issue 11's reading, in the real TUI in tmux against a real daemon: a search
//! finds a message older than the page the TUI loaded (the daemon searched the
//! whole log) and shows it; copy mode copies its line to the clipboard through
//! tmux, both ways: with tmux's default `set-clipboard external` as a
//! `load-buffer`, with `set-clipboard on` as the OSC 52 sequence that tmux takes
//! into a paste buffer; Up scrolls a line with the box empty.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tether_tests::tmux::{self, Pane};
use tether_tests::{Reply, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_an_unloaded_message_and_copy_mode_copies_it_through_tmux() {
    tmux::require();
    // The search key as the lead chose it, whatever the default of this build.
    let (model, env) = TestEnv::started("[keys]\nsearch = \"ctrl-f\"\n").await;
    model.push(Reply::text("noted the marker"));
    env.ok(&["new", "-d", "-n", "long", "remember zebra-4417 for later"])
        .await;
    assert_eq!(env.wait_settled("long").await, "idle");
    // Enough turns after it that the TUI's first page (500 events) leaves it out.
    for i in 0..100 {
        model.push(Reply::text(format!("answer {i}")));
        env.ok(&["send", "long", &format!("question {i}")]).await;
        assert_eq!(env.wait_settled("long").await, "idle");
    }
    let pane = Pane::start(&env, "reading", &["attach", "long"], 100, 30);
    pane.wait_text("answer 99").await;
    let s = pane.screen();
    assert!(!s.contains("zebra"), "{s}");

    // Up with the box empty: a line at a time.
    pane.keys(&["Up"]);
    pane.wait_text("more below").await;
    pane.keys(&["End"]);
    pane.wait_for("back at the bottom", |s| !s.contains("more below"))
        .await;

    pane.keys(&["C-f"]);
    pane.type_text("zebra-44");
    pane.keys(&["Enter"]);
    let s = pane.wait_text("› remember zebra-4417 for later").await;
    assert!(s.contains("/ zebra-44 (1/1)"), "{s}");
    assert!(!s.contains("no match"), "{s}");

    // Copy mode: to the match, its line selected, copied.
    pane.keys(&["C-b", "["]);
    pane.wait_text("COPY").await;
    pane.keys(&["n"]);
    pane.keys(&["V"]);
    pane.wait_text("1 line selected").await;
    pane.keys(&["y"]);
    pane.wait_text("copied 1 line").await;
    assert_eq!(
        pane.tmux(&["show-options", "-sv", "set-clipboard"]).trim(),
        "external"
    );
    let buffer = pane.tmux(&["show-buffer"]);
    assert_eq!(buffer, "› remember zebra-4417 for later");

    // With `set-clipboard on`, the OSC 52 sequence itself reaches tmux.
    pane.tmux(&["set", "-s", "set-clipboard", "on"]);
    pane.keys(&["C-b", "["]);
    pane.wait_text("COPY").await;
    pane.keys(&["n", "w", "v", "$"]);
    pane.wait_text("1 line selected").await;
    pane.keys(&["y"]);
    pane.wait_for("the OSC 52 copy in a tmux buffer", |_| {
        pane.tmux(&["show-buffer"]) == "remember zebra-4417 for later"
    })
    .await;

    // A search nothing matches says so.
    pane.keys(&["Escape"]);
    pane.keys(&["C-f"]);
    pane.type_text("nothing-like-this");
    pane.keys(&["Enter"]);
    pane.wait_text("no match").await;
}

/// The TUI asks the terminal for mouse reports (presses, drags, SGR form) by
/// default; `Ctrl-b m` gives the mouse back and takes it again; `[tui] mouse =
/// false` starts without it; leaving turns it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mouse_capture_is_on_by_default_toggles_and_can_start_off() {
    tmux::require();
    let (_model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "m"]).await;
    let pane = Pane::start(&env, "mouse", &["attach", "m"], 100, 30);
    pane.wait_text("session created").await;
    let flags = |p: &Pane| p.format("#{mouse_button_flag}#{mouse_sgr_flag}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while flags(&pane) != "11" {
        assert!(
            std::time::Instant::now() < deadline,
            "mouse reporting never turned on"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(pane.format("#{mouse_all_flag}"), "0", "not every motion");
    pane.keys(&["C-b", "m"]);
    pane.wait_text("mouse off: the terminal selects text").await;
    assert_eq!(flags(&pane), "00");
    pane.keys(&["C-b", "m"]);
    pane.wait_text("mouse on").await;
    assert_eq!(flags(&pane), "11");
    pane.keys(&["C-b", "d"]);
    assert_eq!(pane.wait_exit().await, "exit=0");
    assert_eq!(flags(&pane), "00", "left on after the TUI exited");

    env.write_config(&format!(
        "{}\n[tui]\nmouse = false\n",
        std::fs::read_to_string(env.config_dir.join("config.toml")).unwrap()
    ));
    let off = Pane::start(&env, "mouse-off", &["attach", "m"], 100, 30);
    off.wait_text("session created").await;
    assert_eq!(flags(&off), "00");
    off.keys(&["C-b", "m"]);
    off.wait_text("mouse on").await;
    assert_eq!(flags(&off), "11");
}
