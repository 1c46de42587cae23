//! Key bindings as data: an [`Action`] for every thing a key can do, tmux-like
//! defaults, overrides from `[keys]` in config.toml, and the help text.

mod action;
mod key;
mod map;

#[cfg(test)]
mod tests;

pub use action::{Action, Context};
pub use key::Key;
pub use map::{KeyError, Keymap};
