//! `[notify]` (issue 11): the command the daemon runs for each notifying event,
//! which events notify, the debounce window and the command's time limit.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use tether_shared::notify::NotifyEvent;

use super::error::ConfigError;
use super::limits::ErrAt;

/// The debounce window when `[notify] debounce_ms` is not set.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(1000);
/// The command's time limit when `[notify] timeout_s` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `[notify]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Notify {
    /// The program and its arguments; empty: no notifications.
    pub command: Vec<String>,
    /// The events that notify.
    pub on: BTreeSet<NotifyEvent>,
    /// Per session and event: the first event notifies at once, later ones
    /// within this window become one notification at its end.
    pub debounce: Duration,
    /// A command still running after this long is killed (its process group).
    pub timeout: Duration,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            command: Vec::new(),
            on: NotifyEvent::ALL.into_iter().collect(),
            debounce: DEFAULT_DEBOUNCE,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl Notify {
    /// Whether `event` runs the command.
    pub fn wants(&self, event: NotifyEvent) -> bool {
        !self.command.is_empty() && self.on.contains(&event)
    }
}

/// `[notify]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    command: Option<toml::Spanned<Vec<String>>>,
    on: Option<Vec<toml::Spanned<String>>>,
    debounce_ms: Option<toml::Spanned<i64>>,
    timeout_s: Option<toml::Spanned<f64>>,
}

/// Reads `[notify]`.
pub(super) fn notify(raw: RawNotify, err_at: ErrAt) -> Result<Notify, ConfigError> {
    let mut out = Notify::default();
    if let Some(c) = raw.command {
        if c.get_ref().first().is_none_or(|p| p.trim().is_empty()) {
            return Err(err_at(
                Some(c.span()),
                "[notify] command: give the program and its arguments, e.g. \
                 [\"notify-send\", \"tether\"]"
                    .into(),
            ));
        }
        out.command = c.into_inner();
    }
    if let Some(on) = raw.on {
        let mut events = BTreeSet::new();
        for name in on {
            let Some(e) = NotifyEvent::from_name(name.get_ref()) else {
                let valid: Vec<String> = NotifyEvent::ALL
                    .iter()
                    .map(|e| format!("{:?}", e.as_str()))
                    .collect();
                return Err(err_at(
                    Some(name.span()),
                    format!(
                        "[notify] on: unknown event {:?} (valid: {})",
                        name.get_ref(),
                        valid.join(", ")
                    ),
                ));
            };
            events.insert(e);
        }
        out.on = events;
    }
    if let Some(d) = raw.debounce_ms {
        let v = *d.get_ref();
        if v < 0 {
            return Err(err_at(
                Some(d.span()),
                format!("[notify] debounce_ms = {v}: must be 0 or more milliseconds"),
            ));
        }
        out.debounce = Duration::from_millis(v as u64);
    }
    if let Some(t) = raw.timeout_s {
        let v = *t.get_ref();
        if !(v.is_finite() && v > 0.0) {
            return Err(err_at(
                Some(t.span()),
                format!("[notify] timeout_s = {v}: must be a positive number of seconds"),
            ));
        }
        out.timeout = crate::util::secs(v);
    }
    Ok(out)
}
