//! The TUI's state and everything that changes it: keys and daemon messages in,
//! requests for the daemon out (in `outbox`). Rendering only reads this.

pub mod attention;
mod clock;
mod copy;
mod daemon;
mod fit;
mod history;
mod keys;
mod lines;
mod list;
mod question;
mod question_keys;
mod reading;
mod review;
mod selection;
mod session;
mod session_keys;
mod spinner;
mod state;
mod switch;

pub use clock::{ARM_DELAY, BURST_GAP, Clock, TimeZone, elapsed};
pub use lines::{Row, line_text};
pub use list::ListState;
pub use question::{FormField, Held, QuestionForm};
pub use reading::{WHEEL_LINES, search_words};
pub use selection::{CopyMode, Point, Selecting};
pub use session::{AlwaysDraft, Prompt, Search, SessionView, input_rows};
pub use spinner::FRAMES;
pub use state::{ATTACH_PAGE, App, ConnState, Screen};
