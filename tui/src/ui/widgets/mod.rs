//! Building blocks the views draw with.

pub mod centered;
pub mod ellipsis;
pub mod line_input;
pub mod md_table;
pub mod term_text;
