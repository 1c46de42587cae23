//! The transcript: events folded into cells that know their height.

mod cells;

pub use cells::*;
