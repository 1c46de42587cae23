//! Drawing: a pure function of the app's state. The screens and dialogs draw
//! themselves (`screens/`, `modals/`); this puts them together.

pub(crate) mod chrome;
mod draw;
mod title;

pub use draw::{MIN_SIZE, draw};
pub use title::title;
