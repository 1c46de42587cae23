//! The TUI's state and everything that changes it: keys and daemon messages in,
//! requests for the daemon out (in `outbox`). Rendering only reads this.

pub mod attention;
mod clock;
mod daemon;
mod fit;
mod history;
mod keys;
mod list;
mod review;
mod session;
mod session_keys;
mod state;
mod switch;

pub use clock::{ARM_DELAY, BURST_GAP, Clock, TimeZone};
pub use list::ListState;
pub use session::{AlwaysDraft, Prompt, Search, SessionView, input_rows};
pub use state::{ATTACH_PAGE, App, ConnState, Screen};
