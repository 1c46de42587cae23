//! The running turn's spinner and elapsed time (`⠋ working 12s`), read off the
//! app's clock: the frame is a function of the time since the turn started,
//! and the event loop wakes at the next frame (see [`App::next_wake`]), so a
//! paused test clock gives the same frame every time and nothing sleeps.

use std::time::{Duration, Instant};

use tether_shared::SessionState;

use super::state::App;

/// The spinner's frames.
pub const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// How long each frame shows.
pub const FRAME: Duration = Duration::from_millis(100);

impl App {
    /// The spinner's frame and the turn's elapsed time, while a turn runs (and
    /// the daemon is there to say so).
    pub fn spinner(&self) -> Option<(&'static str, Option<Duration>)> {
        let v = self.session.as_ref()?;
        if v.info.state != SessionState::Running || !self.live() {
            return None;
        }
        let now = self.clock.now();
        let since = v.turn_since?;
        let run = now.saturating_duration_since(since);
        let frame = (run.as_millis() / FRAME.as_millis()) as usize % FRAMES.len();
        Some((FRAMES[frame], Some(run)))
    }

    /// When the spinner's next frame is due.
    pub(super) fn spinner_wake(&self) -> Option<Instant> {
        self.spinner()?;
        let since = self.session.as_ref()?.turn_since?;
        let run = self.clock.now().saturating_duration_since(since);
        let next = (run.as_millis() / FRAME.as_millis() + 1) * FRAME.as_millis();
        Some(since + Duration::from_millis(u64::try_from(next).unwrap_or(u64::MAX)))
    }
}
