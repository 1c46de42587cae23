//! The daemon client. [`Client`] speaks the protocol over any byte stream
//! (`connection.rs`); `local.rs` opens one on the daemon's local socket,
//! starting the daemon when none runs.

mod connection;
mod error;
mod local;
#[cfg(test)]
mod tests;

pub use connection::{Client, Stream};
pub use error::ClientError;
pub use local::{LocalClient, connect, connect_or_start, request_once};
