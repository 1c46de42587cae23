//! What shows over or beside a screen: the approval prompt and the dialogs,
//! each drawing itself from its own state.

pub mod approval;
pub mod create;
pub mod dialogs;
pub mod help;
pub mod modal;
pub mod picker;
pub mod question;
pub mod review;

pub use create::CreateForm;
pub use modal::{Call, Modal, Picker, Review};
