//! The retry policy shared by providers: which failures are tried again, the backoff
//! between attempts, and the progress a session shows meanwhile.

use std::time::Duration;

use tokio::sync::mpsc;

use super::error::{ModelError, ModelErrorKind};
use super::provider::ModelProvider;
use super::types::{ModelReply, ModelRequest};
use crate::config::Retry;

/// Progress of a call with retries, for the session to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Streamed text.
    Delta(String),
    /// The text streamed so far is void; a retry starts over.
    Reset,
    /// An attempt failed and another follows after `delay`.
    Retrying {
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Why.
        error: ModelError,
        /// The wait before the next attempt.
        delay: Duration,
    },
}

/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The wait before retry number `attempt` (1-based): exponential from the initial
/// backoff, capped at `max_backoff`, with jitter (see [`backoff_with`]); a server's
/// `Retry-After` wins when it is given.
pub fn backoff(retry: &Retry, attempt: u32, retry_after: Option<Duration>) -> Duration {
    backoff_with(retry, attempt, retry_after, random_unit())
}

/// [`backoff`] with the jitter drawn as `unit` in `[0, 1]`: the wait is uniform in
/// `[cap / 2, cap]` for the capped exponential `cap`, so sessions that failed together
/// (one endpoint down) do not all retry in the same instant. A `Retry-After` is the
/// server's own schedule and is honoured as given.
pub fn backoff_with(
    retry: &Retry,
    attempt: u32,
    retry_after: Option<Duration>,
    unit: f64,
) -> Duration {
    if let Some(ra) = retry_after {
        return ra.min(MAX_RETRY_AFTER);
    }
    let cap = retry
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(retry.max_backoff);
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        1.0
    };
    cap / 2 + (cap / 2).mul_f64(unit)
}

/// A number in `[0, 1)` from the process's random hasher seed; good enough for jitter
/// without a random-number dependency.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Calls the model, retrying retryable failures per `retry`. The error returned is the
/// last attempt's, with the number of attempts made.
pub async fn complete_with_retries(
    provider: &dyn ModelProvider,
    request: &ModelRequest,
    retry: &Retry,
    progress: &mpsc::UnboundedSender<Progress>,
) -> Result<ModelReply, ModelError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (dtx, mut drx) = mpsc::unbounded_channel::<String>();
        let call = provider.stream(request, &dtx);
        tokio::pin!(call);
        let mut streamed = false;
        let result = loop {
            tokio::select! {
                biased;
                Some(d) = drx.recv() => {
                    streamed = true;
                    let _ = progress.send(Progress::Delta(d));
                }
                r = &mut call => break r,
            }
        };
        while let Ok(d) = drx.try_recv() {
            streamed = true;
            let _ = progress.send(Progress::Delta(d));
        }
        match result {
            Ok(reply) => return Ok(reply),
            Err(mut e) => {
                if streamed {
                    let _ = progress.send(Progress::Reset);
                }
                // A context-length error is the session's to handle (compact, then try
                // once more): the same request would meet the same window.
                let context = e.kind == ModelErrorKind::ContextLength;
                if !e.retryable || context || attempt >= retry.max_attempts {
                    e.attempts = attempt;
                    return Err(e);
                }
                let delay = backoff(retry, attempt, e.retry_after);
                let _ = progress.send(Progress::Retrying {
                    attempt,
                    error: e,
                    delay,
                });
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests;
