//! The terminal UI: a client of the daemon's protocol only. One loop owns the
//! terminal and `select!`s over terminal input, daemon messages and a tick; it
//! draws only when something changed.

pub mod app;
mod clipboard;
pub mod conn;
mod editor;
pub mod keymap;
pub(crate) mod modals;
mod run;
pub(crate) mod screens;
pub mod settings;
pub mod trace;
pub(crate) mod transcript;
pub mod view;
pub(crate) mod widgets;

#[cfg(test)]
mod tests;

pub use run::{Prepared, TmuxPrefixes, first_page_size, prepare, run, run_from_page};
