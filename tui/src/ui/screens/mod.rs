//! The two screens: the session list and one session.

pub mod list;
pub mod reading;
pub mod session;
