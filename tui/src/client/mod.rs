//! The daemon client.

mod connection;

pub use connection::*;
