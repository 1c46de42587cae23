//! Building blocks the views draw with.

pub mod centered;
pub mod ellipsis;
pub mod line_input;
pub mod md_table;
pub mod osc52;
pub mod term_text;
pub mod visible;
