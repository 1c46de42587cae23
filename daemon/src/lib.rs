//! The tether daemon: owns long-lived agent sessions and serves clients over a
//! local socket. `run` is the whole daemon; the `tether` binary calls it.

pub(crate) mod config;
mod daemon;
pub(crate) mod fleet;
pub(crate) mod model;
pub(crate) mod notify;
pub(crate) mod os;
pub(crate) mod rpc;
pub(crate) mod schedule;
pub(crate) mod session;
mod store;
/// The store contract's cases, for running them against a PostgreSQL server
/// from the end-to-end suite (issue 16); not part of the daemon's API.
#[cfg(feature = "contract")]
#[doc(hidden)]
pub use store::contract as store_contract;
pub(crate) mod tools;
pub(crate) mod util;
pub(crate) mod worktree;

pub use daemon::host;
pub use rpc::listener::{AlreadyRunning, EXIT_ALREADY_RUNNING, lock_path, prepare_socket_dir};
