//! The daemon as a whole: its shared context (`context.rs`), how it starts and
//! the order it stops in (`run.rs`).

mod context;
mod run;

pub use context::{DaemonContext, DaemonOptions};
pub use run::run;
