//! The tether daemon: owns long-lived agent sessions and serves clients over a
//! local socket. `run` is the whole daemon; the `tether` binary calls it.

pub(crate) mod config;
mod daemon;
pub(crate) mod model;
pub(crate) mod os;
pub mod registry;
pub mod rpc;
pub mod session;
mod store;
pub(crate) mod tools;
pub mod util;

pub use daemon::{DaemonOptions, LogFile, host, run};
