//! The tether daemon: owns long-lived agent sessions and serves clients over a
//! local socket. `run` is the whole daemon; the `tether` binary calls it.

pub mod config;
mod daemon;
pub(crate) mod model;
pub mod procs;
pub mod registry;
pub mod rpc;
pub mod session;
mod store;
pub mod tools;
pub mod util;
pub mod watch;

pub use daemon::{DaemonOptions, LogFile, host, run};
