//! The context in the real TUI, in tmux, as a person sees it (issue 9): the status
//! bar's `ctx N%` and a compaction as a cell that `Ctrl-o` expands to its summary.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tether_tests::tmux::{self, Pane};
use tether_tests::{Reply, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_is_a_cell_that_expands_and_the_status_bar_shows_ctx() {
    tmux::require();
    let (model, env) =
        TestEnv::started("[models.\"mock/test-model\"]\ncontext_window = 4000\n").await;
    env.ok(&[
        "new",
        "-d",
        "-n",
        "long",
        "REMEMBER alpha: the door code is 4711.",
    ])
    .await;
    assert_eq!(env.wait_settled("long").await, "idle");
    for n in 1..=4 {
        let note = format!("note {n}: {}", "the quick brown fox jumps. ".repeat(50));
        env.ok(&["send", "long", &note]).await;
        assert_eq!(env.wait_settled("long").await, "idle");
    }
    model.push(Reply::text(
        "The user keeps notes.\nThe door code is 4711.\nNothing is open.",
    ));
    let out = env.run(&["compact", "long"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let pane = Pane::start(&env, "ctx", &["attach", "long"], 120, 40);
    let screen = pane.wait_text("context compacted (manual)").await;
    assert!(
        screen.contains("│ The user keeps notes.") && screen.contains("(+2 lines)"),
        "collapsed: the summary's first line\n{screen}"
    );
    assert!(!screen.contains("Nothing is open."), "{screen}");
    let status = pane
        .wait_for("the status bar to show ctx", |s| {
            s.lines()
                .last()
                .is_some_and(|l| l.contains("ctx ") && l.contains('%'))
        })
        .await;
    let last = status.lines().last().unwrap_or_default().to_string();
    assert!(last.contains(" · ctx "), "{last}");

    pane.keys(&["C-o"]);
    let expanded = pane.wait_text("Nothing is open.").await;
    for line in [
        "   summary",
        "│ The door code is 4711.",
        "user messages kept verbatim",
        "› note 3: the quick brown fox jumps. the quick",
    ] {
        assert!(expanded.contains(line), "{line:?} in\n{expanded}");
    }
    assert!(
        expanded.contains("jumps…"),
        "a kept message takes one line in the cell\n{expanded}"
    );
}
