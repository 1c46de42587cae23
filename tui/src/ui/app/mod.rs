//! The TUI's state and everything that changes it.

mod state;

pub use state::*;
