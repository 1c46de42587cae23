//! The `tether` command line and terminal UI, as a library so tests and
//! benchmarks can drive them; `main.rs` only parses and calls in.

mod acp;
pub mod cli;
mod client;
pub mod commands;
mod errors;
mod linemode;
mod render;
mod retry;
pub mod ui;
