//! The daemon's logging: `tracing` to `daemon.log` in the state dir (and to
//! stderr in the foreground), filtered by `TETHER_LOG`.

use std::path::Path;

use anyhow::Context;

use super::logfile::LogFile;

/// The daemon's log filter: `TETHER_LOG` (an `EnvFilter` spec, default
/// `info`), with rmcp's service loop held to warnings unless the spec names
/// rmcp itself. That loop logs every notification a server sends, whole, at
/// INFO; tether logs them itself at DEBUG, cut and rate-limited
/// (`tools::mcp::notices`).
fn log_filter(tether_log: Option<&str>) -> String {
    let spec = tether_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("info");
    if spec.contains("rmcp") {
        spec.to_string()
    } else {
        format!("{spec},rmcp::service=warn")
    }
}

/// Sends the daemon's log to `daemon.log` in the state dir through a writer that
/// drops (and counts) what it cannot write instead of failing: a full disk must
/// never turn logging into a panic (see `logfile.rs`).
pub(super) fn init_logging(state_dir: &Path, to_stderr: bool) -> anyhow::Result<LogFile> {
    let path = state_dir.join("daemon.log");
    let log = LogFile::open(&path, to_stderr)
        .with_context(|| format!("failed to open the log {}", path.display()))?;
    let filter =
        tracing_subscriber::EnvFilter::new(log_filter(std::env::var("TETHER_LOG").ok().as_deref()));
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .log_internal_errors(false)
        .with_writer(move || writer.writer())
        .init();
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_holds_rmcp_to_warnings_unless_it_is_named() {
        assert_eq!(log_filter(None), "info,rmcp::service=warn");
        assert_eq!(log_filter(Some("  ")), "info,rmcp::service=warn");
        assert_eq!(log_filter(Some("debug")), "debug,rmcp::service=warn");
        assert_eq!(log_filter(Some("debug,rmcp=info")), "debug,rmcp=info");
    }
}
