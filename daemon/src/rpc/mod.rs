//! The RPC edge: the socket listener, one task per connection, typed dispatch of
//! the request table (`tether_shared::protocol::requests`) to one handler per
//! method, the live feeds, and the only place wire errors are made.

pub mod connection;
pub mod keys;
pub mod listener;
