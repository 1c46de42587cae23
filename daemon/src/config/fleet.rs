//! `[fleet]` (issue 16): this daemon's node id and how long a session's lease
//! lasts without a heartbeat. Read once, when the daemon starts: a node cannot
//! change its name under the leases it holds.

use std::time::Duration;

use serde::Deserialize;

use super::error::ConfigError;
use super::limits::ErrAt;

/// `[fleet] lease_s` when the file does not set it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// `[fleet]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    /// `[fleet] node`; `None`: the host name (see [`Fleet::node`]).
    pub node: Option<String>,
    /// How long a lease lasts without being renewed; the heartbeat renews it
    /// every third of that.
    pub lease: Duration,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet {
            node: None,
            lease: DEFAULT_LEASE,
        }
    }
}

impl Fleet {
    /// This daemon's node id: `[fleet] node`, else the host name.
    pub fn node(&self) -> String {
        self.node.clone().unwrap_or_else(host_name)
    }
}

/// The machine's host name (`localhost` when it cannot be read).
pub fn host_name() -> String {
    let read = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::process::Command::new("hostname")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
        });
    read.map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// True for a usable node id: 1 to 64 of `[A-Za-z0-9._-]`.
pub fn valid_node(node: &str) -> bool {
    !node.is_empty()
        && node.len() <= 64
        && node
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `[fleet]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    node: Option<toml::Spanned<String>>,
    lease_s: Option<toml::Spanned<f64>>,
}

/// Reads `[fleet]`.
pub(super) fn fleet(raw: RawFleet, err_at: ErrAt) -> Result<Fleet, ConfigError> {
    let mut out = Fleet::default();
    if let Some(n) = raw.node {
        if !valid_node(n.get_ref()) {
            return Err(err_at(
                Some(n.span()),
                format!(
                    "[fleet] node = {:?}: give 1 to 64 letters, digits, '.', '_' or '-'",
                    n.get_ref()
                ),
            ));
        }
        out.node = Some(n.into_inner());
    }
    if let Some(l) = raw.lease_s {
        let v = *l.get_ref();
        if !(v.is_finite() && v >= 0.5) {
            return Err(err_at(
                Some(l.span()),
                format!("[fleet] lease_s = {v}: must be a number of seconds, 0.5 or more"),
            ));
        }
        out.lease = crate::util::secs(v);
    }
    Ok(out)
}
