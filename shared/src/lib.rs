//! Wire types, framing and paths shared by the tether daemon and its clients.
//!
//! Nothing here opens a socket, spawns a task or sets up logging: this crate is the
//! contract between processes, and nothing else.

pub mod diff;
pub mod elicit;
pub mod event;
pub mod framing;
pub mod notify;
pub mod paths;
pub mod protocol;
pub mod rules;

pub use event::{Decision, Delivery, Event, EventKind, Live, SessionState, Usage};
pub use protocol::PROTOCOL_VERSION;
