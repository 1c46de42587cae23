//! `tether attach` in tmux on a session with history (issue 13): the first
//! frame comes from the first page, then the tools, the session list and the
//! older events fill in.
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tether_tests::tmux::{self, Pane};
use tether_tests::{Reply, TestEnv};

/// Whether the status line counts tools (a number, not the placeholder).
fn counts_tools(screen: &str) -> bool {
    screen.lines().any(|l| {
        l.split(" · ").any(|seg| {
            seg.ends_with(" tools")
                && seg
                    .trim_end_matches(" tools")
                    .parse::<usize>()
                    .is_ok_and(|n| n > 0)
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_shows_the_last_messages_then_the_tools_the_list_and_older_events_fill_in() {
    tmux::require();
    let (model, env) = TestEnv::started("[approvals]\ndefault = \"ask\"\n").await;
    // A history longer than the first page (twice the 35 rows, in events).
    // The pane is wide enough for the status line to keep its tool count.
    env.ok(&["new", "-d", "-n", "long"]).await;
    for turn in 0..25 {
        model.push(Reply::text(format!("answer {turn} in full")));
        env.ok(&["send", "long", &format!("question {turn}")]).await;
        env.wait_settled("long").await;
    }
    // Another session that needs a person: the list shows it as a badge.
    env.ok(&["new", "-d", "-n", "other"]).await;
    model.push(Reply::tool_call(
        "call_wait",
        "shell",
        json!({"command": "echo waiting"}),
    ));
    env.ok(&["send", "other", "run something"]).await;
    env.wait_event("other", "the call to wait for approval", |e| {
        e["type"] == "approval_requested"
    })
    .await;

    let pane = Pane::start(&env, "first", &["attach", "long"], 150, 35);
    // One capture holds all of it (a capture may be torn mid-frame).
    let filled = pane
        .wait_for(
            "the last messages, the tool count and the other session's badge",
            |s| {
                s.contains("› question 24")
                    && s.contains("answer 24 in full")
                    && s.contains("1 waiting")
                    && counts_tools(s)
            },
        )
        .await;
    assert!(!filled.contains("tools …"), "{filled}");
    assert!(!filled.contains("attaching"), "{filled}");

    // The older events came after the first frame: the oldest turn is there
    // on scrolling up, with nothing left to load.
    pane.keys(&["Home"]);
    let top = pane
        .wait_for("the first turn at the top", |s| {
            s.contains("› question 0") && s.contains("answer 0 in full")
        })
        .await;
    assert!(!top.contains("older events"), "{top}");
    assert!(!top.contains("loading"), "{top}");
}

/// The lines of the screen that hold `text`.
fn rows_with<'a>(screen: &'a str, text: &str) -> Vec<&'a str> {
    screen.lines().filter(|l| l.contains(text)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_last_answer_shows_its_end_then_its_start_and_follows_a_resize() {
    tmux::require();
    let (model, env) = TestEnv::started("").await;
    env.ok(&["new", "-d", "-n", "report"]).await;
    // Long enough that the first frame lays out only its last paragraphs;
    // one line each at 150 columns, two at 80.
    let answer: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "Paragraph {i} of the report is long enough to wrap at eighty \
                 columns, not at a hundred and fifty."
            )
        })
        .collect();
    model.push(Reply::text(format!(
        "{}\n\nThe end of the report.",
        answer.join("\n\n")
    )));
    env.ok(&["send", "report", "write the report"]).await;
    env.wait_settled("report").await;

    let pane = Pane::start(&env, "report", &["attach", "report"], 150, 35);
    let end = pane
        .wait_for("the end of the answer", |s| {
            s.contains("The end of the report.") && s.contains("Paragraph 299 ")
        })
        .await;
    // The paragraphs above it, in order, each on one line, blank lines between.
    let shown: Vec<usize> = end
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Paragraph "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    assert!(shown.len() >= 10, "{end}");
    assert_eq!(
        shown,
        (300 - shown.len()..300).collect::<Vec<_>>(),
        "not the last paragraphs in order:\n{end}"
    );
    assert_eq!(rows_with(&end, "a hundred and fifty.").len(), shown.len());

    // Its start, above it: the whole answer, laid out once it is needed.
    pane.keys(&["Home"]);
    pane.wait_for("the question and the first paragraph", |s| {
        s.contains("› write the report") && s.contains("Paragraph 0 ")
    })
    .await;
    pane.keys(&["End"]);
    pane.wait_text("The end of the report.").await;

    // A smaller window: the frame is drawn again at its size, the
    // paragraphs wrapped at 80 columns.
    pane.tmux(&["resize-window", "-t", "0", "-x", "80", "-y", "20"]);
    let small = pane
        .wait_for("the answer wrapped at 80 columns", |s| {
            s.contains("The end of the report.")
                && s.lines()
                    .any(|l| l.trim_end().ends_with("fifty.") && !l.contains("Paragraph"))
        })
        .await;
    assert_eq!(small.lines().count(), 20, "{small}");
    for line in small.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than the window: {line:?}"
        );
    }
    // And back: each paragraph on one line again.
    pane.tmux(&["resize-window", "-t", "0", "-x", "150", "-y", "35"]);
    pane.wait_for("the answer at 150 columns again", |s| {
        s.lines()
            .any(|l| l.contains("Paragraph 299 ") && l.contains("a hundred and fifty."))
    })
    .await;
}
