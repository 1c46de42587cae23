//! What the daemon needs from the operating system beyond tokio: process groups and
//! telling a process apart from a later one that reuses its pid.

pub(crate) mod procs;
