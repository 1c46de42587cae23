//! The end-to-end harness: the real `tether` binary on a temp socket with temp
//! config and state directories, and scripted model servers (OpenAI-compatible in
//! `model`, Anthropic's Messages API in `anthropic`).
//!
//! Harness code fails the test loudly (panics with a message) by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod acp;
pub mod anthropic;
pub mod fakessh;
pub mod harness;
pub mod llama;
pub mod measure;
pub mod model;
pub mod modgraph;
pub mod postgres;
pub mod proxy;
pub mod pty;
pub mod raw;
pub mod responses;
pub mod tmpfs;
pub mod tmux;

pub use harness::{Out, TestEnv, tether_bin};
pub use model::{ModelServer, Reply};
