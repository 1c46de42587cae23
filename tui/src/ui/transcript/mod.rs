//! The transcript: events folded into cells that know their lines for a width
//! (`cells.rs`, `fold.rs`), and fitting styled text to a width (`wrap.rs`).

mod cells;
pub mod diffs;
mod fold;
pub mod questions;
mod tail;
pub mod view;
mod wrap;

#[cfg(test)]
mod tests;

pub use cells::{CellKind, partial_lines};
pub use fold::Transcript;
pub use wrap::{fit, wrap};
