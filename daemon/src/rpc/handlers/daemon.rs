//! The daemon itself: `daemon.status` and `daemon.stop`.

use std::sync::Arc;

use tether_shared::protocol::{DaemonStatus, Empty, RpcError, StopResult};
use tracing::info;

use crate::rpc::peer::Peer;

/// `daemon.status`.
pub(crate) fn status(peer: &Arc<Peer>, _: Empty) -> Result<DaemonStatus, RpcError> {
    Ok(peer.ctx.status())
}

/// `daemon.stop`: the daemon stops in its written order (see `daemon/run.rs`).
pub(crate) fn stop(peer: &Arc<Peer>, _: Empty) -> Result<StopResult, RpcError> {
    info!("stop requested by a client");
    peer.ctx.shutdown.cancel();
    Ok(StopResult { stopping: true })
}
