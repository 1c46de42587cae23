//! Sessions: one actor per session owns its state; callers hold a cloneable
//! [`SessionHandle`] and talk to it over a bounded command channel.

mod actor;
pub mod context;
pub mod machine;

pub use actor::{SessionHandle, SessionShared, Subscription, spawn_new, spawn_restored};
