//! The suite again, with every test daemon on PostgreSQL (issue 16: "run the
//! suite against both stores"): each suite is its own module here, compiled
//! from the same file as its SQLite run, and
//! `tether_tests::postgres::suite_on_postgres` is true in this binary (it goes
//! by the binary's name), so every `TestEnv` gets a fresh database of the
//! binary's private server. Cases that damage the SQLite file itself skip
//! here, printing why. Not here: the suites that are about something other
//! than a daemon's store (the MCP conformance suites, the real model server of
//! `llama.rs`, the pty timing of `tui_first_frame.rs`, the layout checks of
//! `workspace.rs`) and those on PostgreSQL already (`postgres.rs`, `fleet.rs`,
//! `fleet_pg.rs`). `TETHER_TEST_STORE=postgres` runs any suite on PostgreSQL.

#[path = "acp.rs"]
mod acp;
#[path = "agent.rs"]
mod agent;
#[path = "anthropic.rs"]
mod anthropic;
#[path = "attach.rs"]
mod attach;
#[path = "budget.rs"]
mod budget;
#[path = "cache.rs"]
mod cache;
#[path = "cli.rs"]
mod cli;
#[path = "compact_cli.rs"]
mod compact_cli;
#[path = "context.rs"]
mod context;
#[path = "daemon.rs"]
mod daemon;
#[path = "elicit.rs"]
mod elicit;
#[path = "fanout.rs"]
mod fanout;
#[path = "faults.rs"]
mod faults;
#[path = "fork.rs"]
mod fork;
#[path = "history.rs"]
mod history;
#[path = "instructions.rs"]
mod instructions;
#[path = "lazy.rs"]
mod lazy;
#[path = "list_deltas.rs"]
mod list_deltas;
#[path = "mcp.rs"]
mod mcp;
#[path = "mcp_content.rs"]
mod mcp_content;
#[path = "notify.rs"]
mod notify;
#[path = "reading.rs"]
mod reading;
#[path = "recovery.rs"]
mod recovery;
#[path = "remote.rs"]
mod remote;
#[path = "responses.rs"]
mod responses;
#[path = "rules.rs"]
mod rules;
#[path = "schedule.rs"]
mod schedule;
#[path = "storage.rs"]
mod storage;
#[path = "tui.rs"]
mod tui;
#[path = "tui_attention.rs"]
mod tui_attention;
#[path = "tui_context.rs"]
mod tui_context;
#[path = "tui_elicit.rs"]
mod tui_elicit;
#[path = "tui_reading.rs"]
mod tui_reading;
#[path = "worktree.rs"]
mod worktree;
