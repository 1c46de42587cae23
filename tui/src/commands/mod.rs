//! The CLI commands.

mod daemon;

pub use daemon::{one_line, run};
