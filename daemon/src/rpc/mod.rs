//! The RPC edge: the socket listener, one task per connection (generic over its
//! byte stream), typed dispatch of the request table
//! (`tether_shared::protocol::requests`) to one handler per method, the live
//! feeds, and the only place wire errors are made (`errors.rs`).
//!
//! Nothing here starts or stops the daemon: it gets the daemon's context
//! (`crate::daemon::DaemonContext`) and serves it.

mod connection;
mod dispatch;
mod errors;
mod feed;
mod handlers;
pub(crate) mod keys;
pub(crate) mod list_cache;
mod list_feed;
pub mod listener;
mod methods;
mod outbox;
pub(crate) mod page_cache;
pub(crate) mod paging;
mod peer;
pub(crate) mod relay;
mod session_feed;

#[cfg(test)]
mod tests;
