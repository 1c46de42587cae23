//! A timing log of the TUI's start, for measuring what the first frame waits
//! on: with `TETHER_TRACE_START=FILE`, each step from the process's start to
//! the first drawn frame is written to FILE (microseconds since the first
//! mark, one `us step` line each). Without it, marks cost an env lookup once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// The trace was written: later marks are not kept.
static WRITTEN: AtomicBool = AtomicBool::new(false);

/// Each step, with when it ended.
type Marks = Mutex<Vec<(Instant, &'static str)>>;

/// The marks so far, when tracing.
static MARKS: OnceLock<Option<Marks>> = OnceLock::new();

fn marks() -> Option<&'static Marks> {
    MARKS
        .get_or_init(|| {
            std::env::var_os("TETHER_TRACE_START")
                .filter(|v| !v.is_empty())
                .map(|_| Mutex::new(Vec::new()))
        })
        .as_ref()
}

/// Marks that `step` is done now.
pub fn mark(step: &'static str) {
    if let Some(m) = marks()
        && !WRITTEN.load(Ordering::Relaxed)
        && let Ok(mut m) = m.lock()
    {
        m.push((Instant::now(), step));
    }
}

/// Writes the marks to the trace file, once.
pub fn write() {
    let Some(m) = marks() else { return };
    if WRITTEN.swap(true, Ordering::Relaxed) {
        return;
    }
    let Some(path) = std::env::var_os("TETHER_TRACE_START") else {
        return;
    };
    let Ok(mut m) = m.lock() else { return };
    let Some(&(t0, _)) = m.first() else { return };
    let text: String = m
        .drain(..)
        .map(|(at, step)| format!("{} {step}\n", (at - t0).as_micros()))
        .collect();
    let _ = std::fs::write(path, text);
}
