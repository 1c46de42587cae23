//! The daemon as a whole: its shared context (`context.rs`), how it starts and
//! the order it stops in (`run.rs`), and its log file (`logfile.rs`).

mod context;
mod logfile;
mod run;

pub use context::{DaemonContext, DaemonOptions};
pub use logfile::LogFile;
pub use run::run;
