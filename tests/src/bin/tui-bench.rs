//! TUI benchmarks, run by hand (not in CI):
//!
//! ```sh
//! cargo run --release -p tether-tests --bin tui-bench
//! ```
//!
//! Prints the time from attaching (connect, handshake, attach reply, transcript
//! built) to the first complete frame for sessions of 10,000 and 100,000 events,
//! and the render time of one frame while an answer streams.
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use tether::client::Target;
use tether::ui::app::App;
use tether::ui::conn::{self, FromDaemon};
use tether::ui::keymap::Keymap;
use tether::ui::view;
use tether_shared::Live;
use tether_shared::protocol::LiveParams;
use tether_tests::measure::{grow, last_seq, ms, percentile};
use tether_tests::raw::Raw;
use tether_tests::{ModelServer, TestEnv};
use tokio::sync::mpsc;

/// Attach through the TUI's own link and draw the first frame; returns the time.
async fn first_frame(env: &TestEnv, session: &str) -> Duration {
    let t0 = Instant::now();
    let (to_tx, to_rx) = mpsc::unbounded_channel();
    let (from_tx, mut from_rx) = mpsc::unbounded_channel();
    let link = tokio::spawn(conn::run(
        Target::Local(env.socket.clone()),
        None,
        to_rx,
        from_tx,
    ));
    let mut app = App::new(
        Keymap::default(),
        Some(session.to_string()),
        false,
        "/".into(),
    );
    let mut term = Terminal::new(TestBackend::new(120, 35)).unwrap();
    loop {
        for cmd in app.outbox.drain(..) {
            to_tx.send(cmd).unwrap();
        }
        let msg = from_rx.recv().await.unwrap();
        let attached = matches!(msg, FromDaemon::Attached(_));
        app.on_daemon(msg);
        if attached {
            term.draw(|f| view::draw(f, &app)).unwrap();
            break;
        }
    }
    let elapsed = t0.elapsed();
    link.abort();
    elapsed
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let model = ModelServer::start().await;
    let mut env = TestEnv::with_model(&model, "");
    env.env.push(("TETHER_LOG".into(), "warn".into()));
    env.start_daemon().await;
    let mut raw = Raw::hello(&env.socket).await;
    println!("# TUI benchmarks\n");
    println!("## Attach to first complete frame (120x35, page of 500 events), 20 runs\n");
    println!("| session events | p50 | p95 |\n|---|---|---|");
    for (name, target) in [("t10k", 10_000u64), ("t100k", 100_000)] {
        env.ok(&["new", "-d", "-n", name]).await;
        grow(
            &env,
            &model,
            &mut raw,
            name,
            target,
            "ok, **done** with this step",
        )
        .await;
        let n = last_seq(&mut raw, name).await;
        let mut samples = Vec::new();
        for _ in 0..20 {
            samples.push(first_frame(&env, name).await);
        }
        samples.sort();
        println!(
            "| {n} | {} | {} |",
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.95))
        );
    }

    // Frame time while streaming: the 100k session attached, a long answer arriving
    // delta by delta, one draw per delta.
    let (to_tx, to_rx) = mpsc::unbounded_channel();
    let (from_tx, mut from_rx) = mpsc::unbounded_channel();
    let link = tokio::spawn(conn::run(
        Target::Local(env.socket.clone()),
        None,
        to_rx,
        from_tx,
    ));
    let mut app = App::new(Keymap::default(), Some("t100k".into()), false, "/".into());
    let id = loop {
        for cmd in app.outbox.drain(..) {
            to_tx.send(cmd).unwrap();
        }
        let msg = from_rx.recv().await.unwrap();
        let id = match &msg {
            FromDaemon::Attached(a) => Some(a.info.id.clone()),
            _ => None,
        };
        app.on_daemon(msg);
        if let Some(id) = id {
            break id;
        }
    };
    link.abort();
    let mut term = Terminal::new(TestBackend::new(120, 35)).unwrap();
    let mut samples = Vec::new();
    for i in 0..2000 {
        let text = if i % 40 == 39 {
            "\n\n".to_string()
        } else {
            format!("word{i} **bold** ")
        };
        app.on_daemon(FromDaemon::Live(Box::new(LiveParams {
            session_id: id.clone(),
            live: Live::AssistantDelta { text },
        })));
        let t0 = Instant::now();
        term.draw(|f| view::draw(f, &app)).unwrap();
        samples.push(t0.elapsed());
    }
    samples.sort();
    println!(
        "\n## Frame render while streaming (100k-event session, 2,000 deltas, answer grows to ~30 KB)\n"
    );
    println!("| p50 | p95 | max |\n|---|---|---|");
    println!(
        "| {} | {} | {} |",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.95)),
        ms(*samples.last().unwrap())
    );
}
