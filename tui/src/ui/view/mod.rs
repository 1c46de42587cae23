//! Drawing: a pure function of the app's state.

mod draw;

pub use draw::draw;
