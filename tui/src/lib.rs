//! The `tether` command line and terminal UI, as a library so tests and
//! benchmarks can drive them; `main.rs` only parses and calls in.

pub mod cli;
pub mod client;
pub mod commands;
pub mod linemode;
pub mod render;
pub mod retry;
pub mod ui;
