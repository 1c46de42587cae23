//! The wire protocol: JSON-RPC 2.0, one message per line, over the local socket.

mod types;

pub use types::*;
