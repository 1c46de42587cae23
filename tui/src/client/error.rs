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
}
