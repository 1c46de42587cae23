//! Helpers shared by the builtin tool tests: a context rooted in a temporary directory and
//! bounded waits, so a hung tool fails its test instead of stalling the suite.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

use crate::tools::builtin::run_builtin;
use crate::tools::types::{ToolContext, ToolOutput};

const WAIT: Duration = Duration::from_secs(10);

pub(super) fn context(dir: &TempDir) -> ToolContext {
    ToolContext {
        cwd: dir.path().to_path_buf(),
        cancel: CancellationToken::new(),
        live: None,
        spawned: None,
        log: None,
        asks: None,
    }
}

/// Runs a tool, failing the test if it does not return within [`WAIT`].
pub(super) async fn run(name: &str, args: Value, ctx: &ToolContext) -> ToolOutput {
    within(&format!("{name} to return"), run_builtin(name, &args, ctx)).await
}

pub(super) async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

/// Asserts that a call failed and that its message says `needle`.
#[track_caller]
pub(super) fn assert_error(out: &ToolOutput, needle: &str) {
    assert!(out.is_error, "expected an error, got: {}", out.output);
    assert!(
        out.output.contains(needle),
        "{:?} not in: {}",
        needle,
        out.output
    );
}
