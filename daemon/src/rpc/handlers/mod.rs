//! One handler function per request method, grouped by subject. Each takes the
//! client (`&Arc<Peer>`, through which it reaches the daemon's context) and the
//! method's typed params, and returns the method's typed result.

pub(super) mod daemon;
pub(super) mod logs;
pub(super) mod mcp;
pub(super) mod schedules;
pub(super) mod sessions;
pub(super) mod steer;
pub(super) mod tools;
