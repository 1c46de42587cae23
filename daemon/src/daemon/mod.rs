//! The daemon as a whole: its shared context (`context.rs`), how it starts and
//! the order it stops in (`run.rs`), its logging (`logging.rs`, `logfile.rs`),
//! and hosting it in a process with its signals (`host.rs`, what `tether daemon`
//! calls).

mod context;
mod host;
mod logfile;
mod logging;
mod run;

pub use context::DaemonContext;
#[cfg(test)]
pub use context::DaemonOptions;
pub use host::host;
