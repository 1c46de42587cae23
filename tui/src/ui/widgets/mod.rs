//! Building blocks the views draw with.

pub mod centered;
pub mod line_input;
pub mod md_table;
pub mod term_text;
