//! What can go wrong talking to the daemon, over any stream.

use tether_shared::protocol::RpcError;

/// An error from the daemon, or from talking to it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon answered with an error.
    #[error("{0}")]
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
}
