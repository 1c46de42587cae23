//! The daemon client. [`Client`] speaks the protocol over any byte stream
//! (`connection.rs`); `local.rs` opens one on the daemon's local socket,
//! starting the daemon when none runs; `ssh.rs` opens one to a daemon on
//! another machine through `ssh HOST tether bridge` (`remote.rs` says which
//! host and how); a [`Target`] is either, so callers do not care.

mod connection;
mod error;
mod local;
pub mod remote;
mod ssh;
mod target;
#[cfg(test)]
mod tests;

pub use connection::{Answer, Client, Stream, answer_of};
pub use error::ClientError;
pub use local::{connect_or_start, connect_then, daemon_exe, nobody_listens};
pub use ssh::EXIT_NOT_RUNNING;
pub use target::Target;

/// A client on any link: the local socket or ssh.
pub type DaemonClient = Client<Box<dyn Stream>>;
