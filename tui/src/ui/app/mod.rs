//! The TUI's state and everything that changes it: keys and daemon messages in,
//! requests for the daemon out (in `outbox`). Rendering only reads this.

mod clock;
mod daemon;
mod fit;
mod keys;
mod list;
mod session;
mod session_keys;
mod state;

pub use clock::{ARM_DELAY, BURST_GAP, Clock};
pub use list::ListState;
pub use session::{AlwaysDraft, Prompt, Search, SessionView};
pub use state::{ATTACH_PAGE, App, ConnState, Screen};
