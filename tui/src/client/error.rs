//! What can go wrong talking to the daemon, over any stream.

use tether_shared::protocol::RpcError;

/// The daemon's message; for a method it does not know, what to do about it (it
/// is older than this client: within a protocol version, methods are only added).
fn rpc_text(e: &RpcError) -> String {
    if e.code == tether_shared::protocol::code::METHOD_NOT_FOUND {
        format!(
            "{}: the daemon is older than this tether; restart it (`tether daemon stop`, then run the command again)",
            e.message
        )
    } else {
        e.message.clone()
    }
}

/// An error from the daemon, or from talking to it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon answered with an error.
    #[error("{}", rpc_text(.0))]
    Rpc(RpcError),
    /// The connection failed.
    #[error("lost the connection to the daemon: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon said something we could not read.
    #[error(
        "unexpected reply from the daemon: {0} (a daemon of another version? `tether daemon stop` restarts it)"
    )]
    Protocol(String),
    /// A request could not be written as JSON (a bug, never the daemon's doing).
    #[error("cannot encode the request: {0}")]
    Encode(serde_json::Error),
    /// The daemon speaks another protocol version (it refused our `hello`, or
    /// answered it with its own version).
    #[error("{}", version_text(*.ours, *.theirs, .daemon_version.as_deref()))]
    Version {
        /// This client's protocol version.
        ours: u32,
        /// The daemon's, when it said.
        theirs: Option<u32>,
        /// The daemon's package version, when it said.
        daemon_version: Option<String>,
    },
}

/// "the daemon speaks 2 (tether 0.3.0)" or what is known of it.
pub(crate) fn daemon_speaks(theirs: Option<u32>, daemon_version: Option<&str>) -> String {
    let protocol = theirs.map_or_else(
        || "another protocol version".to_string(),
        |v| format!("protocol {v}"),
    );
    match daemon_version {
        Some(v) => format!("{protocol} (tether {v})"),
        None => protocol,
    }
}

/// A mismatch with the local daemon: both versions, and the fix (the daemon
/// running is another build than this command: restart it).
fn version_text(ours: u32, theirs: Option<u32>, daemon_version: Option<&str>) -> String {
    format!(
        "protocol version mismatch: this tether ({}) speaks protocol {ours}, the daemon speaks {}; \
         restart the daemon (`tether daemon stop`, then run the command again) so both are the same version",
        env!("CARGO_PKG_VERSION"),
        daemon_speaks(theirs, daemon_version)
    )
}
