//! Sessions: one actor per awake session owns its state; callers hold a
//! cloneable [`SessionHandle`] and talk to it over a bounded command channel.
//! A session nobody uses sleeps without an actor (issue 13: `slots.rs`,
//! `sleep.rs`, `wake.rs`, `asleep.rs`).

mod actor;
mod asleep;
mod budget;
mod changes;
mod compaction;
pub mod context;
mod early;
mod error;
mod fleet;
mod fork;
mod handle;
mod handover;
mod instructions;
mod kept;
mod live;
pub mod machine;
mod project;
mod questions;
mod queue;
mod recover;
mod registry;
pub mod rules;
mod scheduled;
mod shared;
mod sleep;
mod slots;
mod step;
mod storefail;
mod transitions;
mod turn;
mod wake;
mod workers;

pub use actor::spawn_new;
pub use changes::{ListChange, ListChanges};
pub use error::SessionError;
pub use handle::{SessionHandle, Subscription};
pub use project::ProjectInstructions;
pub use recover::spawn_restored;
pub use registry::Registry;
pub use shared::{SessionShared, summary};
