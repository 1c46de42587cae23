//! TUI benchmarks, run by hand (not in CI):
//!
//! ```sh
//! cargo run --release -p tether-tests --bin tui-bench
//! ```
//!
//! Prints the time from attaching (connect, handshake, attach reply, transcript
//! built) to the first complete frame for sessions of 10,000 and 100,000 events,
//! the render time of one frame while an answer streams, and, in a pty, the
//! time from spawning `tether attach` until its first complete frame is read,
//! side by side with `tmux attach` to a pane of 10^6 lines of history.
//! `TUI_BENCH_BASE=/path/to/other/tether` adds that binary's `attach` to the
//! pty table (an older build, against the same daemon).
// A measuring tool: it fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
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
use tether_tests::pty::time_first_frame;
use tether_tests::raw::Raw;
use tether_tests::{ModelServer, Reply, TestEnv, tether_bin};
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

    pty_first_frames(&env, &model, &mut raw).await;
}

/// The size both programs get.
const PTY_SIZE: (u16, u16) = (120, 35);
/// Runs of each program.
const PTY_RUNS: usize = 30;

/// A tmux server (its own socket) with one 120x35 pane that printed 10^6 lines,
/// kept in its history, and then the marker line.
struct TmuxPane {
    server: String,
}

impl TmuxPane {
    fn tmux(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", &self.server])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    async fn start(dir: &Path) -> TmuxPane {
        let server = format!("tether-tui-bench-{}", std::process::id());
        let conf = dir.join("tmux.conf");
        std::fs::write(&conf, "set -g history-limit 1000100\n").unwrap();
        let pane = TmuxPane { server };
        pane.tmux(&[
            "-f",
            conf.to_str().unwrap(),
            "new-session",
            "-d",
            "-s",
            "bench",
            "-x",
            "120",
            "-y",
            "35",
            "seq 1000000; echo tmuxlastline; exec cat",
        ]);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let history: u64 = pane
                .tmux(&["display-message", "-p", "-t", "bench", "#{history_size}"])
                .trim()
                .parse()
                .unwrap();
            if history >= 999_900
                && pane
                    .tmux(&["capture-pane", "-p", "-t", "bench"])
                    .contains("tmuxlastline")
            {
                println!("tmux pane ready: {history} lines of history");
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "the tmux pane never filled ({history} lines)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for TmuxPane {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.server, "kill-server"])
            .status();
    }
}

/// `tether attach` against `tmux attach`, each spawned on a fresh pty, timed to
/// its first complete frame.
async fn pty_first_frames(env: &TestEnv, model: &ModelServer, raw: &mut Raw) {
    // The 100k session's last answer: long, so that laying out everything
    // would cost, with the marker on its last line.
    let answer: String = (0..300)
        .map(|i| format!("line {i} of the last answer, long enough to wrap on a narrow terminal, with **some** markdown in it\n\n"))
        .collect::<String>()
        + "tetherlastline";
    model.push(Reply::text(answer));
    env.ok(&["send", "t100k", "the last question"]).await;
    env.wait_settled("t100k").await;
    let events = last_seq(raw, "t100k").await;
    let tmux = TmuxPane::start(env.root.path()).await;
    let mut client_env: Vec<(String, String)> = vec![
        ("TETHER_SOCKET".into(), env.socket.display().to_string()),
        (
            "TETHER_CONFIG_DIR".into(),
            env.config_dir.display().to_string(),
        ),
        (
            "TETHER_STATE_DIR".into(),
            env.state_dir.display().to_string(),
        ),
        ("HOME".into(), env.root.path().display().to_string()),
    ];
    client_env.extend(env.env.iter().cloned());
    let tether = tether_bin().display().to_string();
    let base = std::env::var("TUI_BENCH_BASE").ok();
    // (label, program, args, markers): the markers are the last line of the
    // content and the status line, which every complete frame has.
    let mut programs: Vec<(String, String, Vec<&str>, Vec<&str>)> = vec![
        (
            "`tmux attach -t bench` (10^6 lines of history)".into(),
            "tmux".into(),
            vec!["-L", &tmux.server, "attach", "-t", "bench"],
            vec!["tmuxlastline", "[bench]"],
        ),
        (
            format!("`tether attach t100k` ({events} events)"),
            tether.clone(),
            vec!["attach", "t100k"],
            vec!["tetherlastline", "detach"],
        ),
    ];
    if let Some(base) = &base {
        programs.push((
            format!("`tether attach t100k`, {base}"),
            base.clone(),
            vec!["attach", "t100k"],
            vec!["tetherlastline", "detach"],
        ));
    }
    programs.push((
        "floor: `printf` through `setsid -c` on the pty".into(),
        "printf".into(),
        vec!["floorline"],
        vec!["floorline"],
    ));
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); programs.len()];
    let mut queries = vec![0usize; programs.len()];
    for run in 0..PTY_RUNS {
        // Each round runs every program, starting from a different one.
        for k in 0..programs.len() {
            let i = (k + run) % programs.len();
            let (_, program, args, markers) = &programs[i];
            let frame = time_first_frame(
                program,
                args,
                &client_env,
                PTY_SIZE,
                markers,
                Duration::from_secs(20),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            samples[i].push(frame.elapsed);
            queries[i] = queries[i].max(frame.queries);
        }
    }
    println!(
        "\n## First complete frame in a pty (120x35, from spawn), {PTY_RUNS} runs each, interleaved\n"
    );
    println!("| program | p50 | p95 | cursor queries |\n|---|---|---|---|");
    for (i, (label, ..)) in programs.iter().enumerate() {
        samples[i].sort();
        println!(
            "| {label} | {} | {} | {} |",
            ms(percentile(&samples[i], 0.5)),
            ms(percentile(&samples[i], 0.95)),
            queries[i]
        );
    }
    trace_steps(&tether, &client_env, &env.root.path().join("start.trace"));
}

/// Where `tether attach t100k`'s first frame goes: `TETHER_TRACE_START` of
/// `PTY_RUNS` more attaches, the median time of each step.
fn trace_steps(tether: &str, client_env: &[(String, String)], file: &Path) {
    let mut env = client_env.to_vec();
    env.push(("TETHER_TRACE_START".into(), file.display().to_string()));
    let mut steps: Vec<(String, Vec<Duration>)> = Vec::new();
    for _ in 0..PTY_RUNS {
        let _ = std::fs::remove_file(file);
        time_first_frame(
            tether,
            &["attach", "t100k"],
            &env,
            PTY_SIZE,
            &["tetherlastline", "detach"],
            Duration::from_secs(20),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // Written just after the frame: wait for it.
        let deadline = Instant::now() + Duration::from_secs(5);
        let text = loop {
            match std::fs::read_to_string(file) {
                Ok(t) if t.contains("frame drawn") => break t,
                _ if Instant::now() > deadline => panic!("no trace in {}", file.display()),
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let mut last = 0u64;
        for (k, line) in text.lines().enumerate() {
            let (us, step) = line.split_once(' ').expect("`us step` lines");
            let us: u64 = us.parse().expect("microseconds");
            let took = Duration::from_micros(us - last);
            last = us;
            match steps.get_mut(k) {
                Some((_, v)) => v.push(took),
                None => steps.push((step.to_string(), vec![took])),
            }
        }
    }
    println!(
        "\n## Where `tether attach t100k`'s first frame goes (`TETHER_TRACE_START`, {PTY_RUNS} runs)\n"
    );
    println!("| step (ends at) | median since the step before |\n|---|---|");
    for (step, mut took) in steps {
        took.sort();
        println!("| {step} | {} |", ms(percentile(&took, 0.5)));
    }
}
