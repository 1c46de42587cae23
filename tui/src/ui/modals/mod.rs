//! What shows over or beside a screen: the approval prompt.

pub mod approval;
