//! The `shell` tool, called as the model calls it: exit codes, streams, live output,
//! timeouts and interrupts that kill the whole process group.

use std::time::Duration;

use super::support::{assert_error, context, run, within};
use crate::tools::builtin::args::with_newline;
use crate::tools::builtin::run_builtin;
use crate::tools::builtin::shell::{SHELL_HEAD_BYTES, SHELL_TAIL_BYTES};
use crate::tools::types::ToolOutput;
use serde_json::json;
use std::path::Path;
use tempfile::tempdir;
use tokio::sync::mpsc;

async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    within(what, async {
        loop {
            if let Some(value) = check() {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Gone, or a zombie nobody reaped yet (a container's pid 1 may never reap): either way
/// it can no longer run.
fn process_is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            state.starts_with('Z') || state.starts_with('X')
        }
    }
}
// --- shell ---

#[tokio::test]
async fn shell_reports_exit_codes() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    let out = run("shell", json!({"command": "echo hello"}), &ctx).await;
    assert_eq!(out, ToolOutput::ok("hello\n[exit code: 0]"));
    let out = run("shell", json!({"command": "exit 3"}), &ctx).await;
    assert_eq!(out, ToolOutput::error("[exit code: 3]"));
    let out = run("shell", json!({"command": "printf partial; exit 1"}), &ctx).await;
    assert_eq!(out, ToolOutput::error("partial\n[exit code: 1]"));
    let out = run("shell", json!({"command": "kill -9 $$"}), &ctx).await;
    assert_eq!(out, ToolOutput::error("[killed by signal 9]"));
}

#[tokio::test]
async fn shell_runs_in_cwd_with_empty_stdin() {
    let dir = tempdir().unwrap();
    std::fs::write(dir.path().join("marker.txt"), "x").unwrap();
    let ctx = context(&dir);
    let out = run("shell", json!({"command": "ls; wc -c"}), &ctx).await;
    assert_eq!(out, ToolOutput::ok("marker.txt\n0\n[exit code: 0]"));
}

#[tokio::test]
async fn shell_interleaves_streams_in_arrival_order() {
    let dir = tempdir().unwrap();
    let mut ctx = context(&dir);
    let (tx, mut rx) = mpsc::unbounded_channel();
    ctx.live = Some(tx);
    let made = std::process::Command::new("mkfifo")
        .args(["go1", "go2"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(made.success());
    // The command blocks on a FIFO after each write, and the test releases it only once
    // that write has been seen, so the arrival order is fixed without timing anything.
    let command = "echo out; read x < go1; echo err >&2; read x < go2; echo out2";
    let args = json!({ "command": command });
    let running = run_builtin("shell", &args, &ctx);
    let script = async {
        let mut seen = String::new();
        for (expected, fifo) in [("out\n", "go1"), ("out\nerr\n", "go2")] {
            while seen.len() < expected.len() {
                seen.push_str(&rx.recv().await.unwrap());
            }
            assert_eq!(seen, expected);
            tokio::fs::write(dir.path().join(fifo), "\n").await.unwrap();
        }
    };
    // Joined rather than raced: once go2 is released the shell may finish before the
    // write to the FIFO returns.
    let (out, ()) = within("each write to arrive and the shell to return", async {
        tokio::join!(running, script)
    })
    .await;
    assert_eq!(out, ToolOutput::ok("out\nerr\nout2\n[exit code: 0]"));
}

#[tokio::test]
async fn shell_start_failure_is_an_error() {
    let dir = tempdir().unwrap();
    let mut ctx = context(&dir);
    ctx.cwd = dir.path().join("missing");
    let out = run("shell", json!({"command": "true"}), &ctx).await;
    assert_error(&out, "failed to start shell");
}

#[tokio::test]
async fn shell_forwards_live_chunks() {
    let dir = tempdir().unwrap();
    let mut ctx = context(&dir);
    let (tx, mut rx) = mpsc::unbounded_channel();
    ctx.live = Some(tx);
    let out = run(
        "shell",
        json!({"command": "echo one; printf 'caf\\303\\251'; echo two >&2"}),
        &ctx,
    )
    .await;
    assert!(!out.is_error);
    let mut live = String::new();
    while let Ok(chunk) = rx.try_recv() {
        assert!(!chunk.is_empty());
        live.push_str(&chunk);
    }
    // The two pipes race, so only each stream's own order is fixed.
    assert!(live.contains("one\ncafé"), "{live:?}");
    assert!(live.contains("two\n"), "{live:?}");
    assert_eq!(out.output, format!("{}[exit code: 0]", with_newline(&live)));
}

#[tokio::test]
async fn shell_output_keeps_head_and_tail() {
    let dir = tempdir().unwrap();
    let out = run(
        "shell",
        json!({"command": "printf START; head -c 50000 /dev/zero | tr '\\000' x; printf END"}),
        &context(&dir),
    )
    .await;
    assert!(!out.is_error);
    assert!(out.output.starts_with("STARTxxx"), "{}", &out.output[..20]);
    assert!(out.output.ends_with("xxEND\n[exit code: 0]"));
    assert!(out.output.contains("\n[... 20008 bytes omitted ...]\n"));
    let body = out.output.trim_end_matches("\n[exit code: 0]");
    let kept = body.matches('x').count() + "STARTEND".len();
    assert_eq!(kept, SHELL_HEAD_BYTES + SHELL_TAIL_BYTES);
}

#[tokio::test]
async fn shell_times_out_and_kills_the_group() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    let out = run(
        "shell",
        json!({
            "command": "sh -c 'echo $$ > gc.pid; exec sleep 60' & echo begin; wait",
            "timeout_s": 0.5
        }),
        &ctx,
    )
    .await;
    assert!(out.is_error);
    assert!(out.output.starts_with("begin\n"), "{}", out.output);
    assert!(
        out.output.contains("timed out after 0.5 s"),
        "{}",
        out.output
    );
    let pid = wait_for("grandchild pid file", || {
        read_pid(&dir.path().join("gc.pid"))
    })
    .await;
    wait_for("grandchild to die", || process_is_dead(pid).then_some(())).await;
}

#[tokio::test]
async fn shell_interrupt_kills_grandchildren() {
    let dir = tempdir().unwrap();
    let mut ctx = context(&dir);
    let (tx, mut rx) = mpsc::unbounded_channel();
    ctx.live = Some(tx);
    let pid_file = dir.path().join("gc.pid");
    let marker = dir.path().join("marker");
    // The grandchild would create `marker` after 2 s unless it is killed first.
    let command = "sh -c 'echo $$ > gc.pid; sleep 2; touch marker' & \
                   sleep 100 & echo started; wait";
    let args = json!({ "command": command });
    let running = run_builtin("shell", &args, &ctx);
    tokio::pin!(running);

    let ready = async {
        let mut seen = String::new();
        while !seen.contains("started") {
            seen.push_str(&rx.recv().await.unwrap());
        }
        wait_for("grandchild pid file", || read_pid(&pid_file)).await
    };
    let pid = tokio::select! {
        out = &mut running => panic!("shell returned before the interrupt: {out:?}"),
        pid = within("the command to start", ready) => pid,
    };
    ctx.cancel.cancel();
    let out = within("shell to return after the interrupt", running).await;
    assert!(out.is_error);
    assert_eq!(out.output, "started\n[interrupted]");
    wait_for("grandchild to die", || process_is_dead(pid).then_some(())).await;
    // Dead processes write nothing, so the check below cannot turn true later.
    assert!(!marker.exists(), "grandchild outlived the interrupt");
}

#[tokio::test]
async fn shell_does_not_hang_on_pipes_held_by_background_jobs() {
    let dir = tempdir().unwrap();
    let ctx = context(&dir);
    let command = "sh -c 'echo $$ > bg.pid; exec sleep 60' & \
                   while [ ! -s bg.pid ]; do sleep 0.01; done; echo done";
    let out = run("shell", json!({ "command": command }), &ctx).await;
    assert_eq!(out, ToolOutput::ok("done\n[exit code: 0]"));
    let pid = read_pid(&dir.path().join("bg.pid")).unwrap();
    wait_for("background job to be killed", || {
        process_is_dead(pid).then_some(())
    })
    .await;
}

// --- output helpers ---
