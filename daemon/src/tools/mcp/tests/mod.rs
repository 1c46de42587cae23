//! Tests against real MCP servers: the npm reference servers in
//! `tests/fixtures/mcp/node_modules` and the fault-injecting `bad_server.py`.
//! The npm servers are installed on first use; a test is skipped, with a notice,
//! only when they cannot be (no npm).

mod calls;
mod http;
mod lifecycle;
mod support;
