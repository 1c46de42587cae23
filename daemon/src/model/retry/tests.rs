use std::sync::Mutex;

use super::*;
use crate::model::error::ModelErrorKind;
use crate::model::provider::BoxFuture;

fn retry() -> Retry {
    Retry {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(350),
        stall_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(60),
    }
}

#[test]
fn backoff_doubles_caps_and_honours_retry_after() {
    let r = retry();
    assert_eq!(backoff_with(&r, 1, None, 1.0), Duration::from_millis(100));
    assert_eq!(backoff_with(&r, 2, None, 1.0), Duration::from_millis(200));
    assert_eq!(backoff_with(&r, 3, None, 1.0), Duration::from_millis(350));
    assert_eq!(backoff_with(&r, 9, None, 1.0), Duration::from_millis(350));
    assert_eq!(
        backoff(&r, 1, Some(Duration::from_millis(700))),
        Duration::from_millis(700)
    );
    assert_eq!(
        backoff(&r, 1, Some(Duration::from_secs(900))),
        MAX_RETRY_AFTER
    );
}

#[test]
fn backoff_jitter_stays_between_half_and_the_whole_step() {
    let r = retry();
    assert_eq!(backoff_with(&r, 1, None, 0.0), Duration::from_millis(50));
    assert_eq!(backoff_with(&r, 2, None, 0.5), Duration::from_millis(150));
    assert_eq!(backoff_with(&r, 3, None, 0.0), Duration::from_millis(175));
    assert_eq!(
        backoff_with(&r, 1, None, f64::NAN),
        Duration::from_millis(100)
    );
    assert_eq!(backoff_with(&r, 1, None, 7.0), Duration::from_millis(100));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let d = backoff(&r, 2, None);
        assert!(
            (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&d),
            "{d:?} outside [100ms, 200ms]"
        );
        seen.insert(d);
    }
    assert!(seen.len() > 10, "the waits vary: {seen:?}");
}

/// A provider that answers each attempt from a script: it streams the text, then
/// fails with the error or finishes.
struct Scripted {
    attempts: Mutex<Vec<(&'static str, Option<ModelError>)>>,
}

impl ModelProvider for Scripted {
    fn stream<'a>(
        &'a self,
        _request: &'a ModelRequest,
        deltas: &'a mpsc::UnboundedSender<String>,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        let (text, error) = self
            .attempts
            .lock()
            .map(|mut a| a.remove(0))
            .unwrap_or(("", None));
        Box::pin(async move {
            if !text.is_empty() {
                let _ = deltas.send(text.to_string());
            }
            match error {
                Some(e) => Err(e),
                None => Ok(ModelReply {
                    text: text.to_string(),
                    tool_calls: Vec::new(),
                    provider_items: Vec::new(),
                    usage: None,
                    finish_reason: "stop".into(),
                }),
            }
        })
    }
}

fn fast(max_attempts: u32) -> Retry {
    Retry {
        max_attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        ..retry()
    }
}

fn request() -> ModelRequest {
    ModelRequest {
        messages: Vec::new(),
        tools: Vec::new(),
        no_tool_calls: false,
        cache_key: None,
    }
}

#[tokio::test]
async fn a_retryable_failure_is_retried_and_the_text_reset() {
    let provider = Scripted {
        attempts: Mutex::new(vec![
            (
                "half",
                Some(ModelError::retryable(
                    ModelErrorKind::Network,
                    "model stream broke: reset",
                )),
            ),
            ("whole", None),
        ]),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reply = complete_with_retries(&provider, &request(), &fast(3), &tx)
        .await
        .unwrap();
    assert_eq!(reply.text, "whole");
    let mut seen = Vec::new();
    while let Ok(p) = rx.try_recv() {
        seen.push(p);
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0], Progress::Delta("half".into()));
    assert_eq!(seen[1], Progress::Reset);
    let Progress::Retrying { attempt, error, .. } = &seen[2] else {
        panic!("expected a retry: {seen:?}");
    };
    assert_eq!(*attempt, 1);
    assert_eq!(error.kind, ModelErrorKind::Network);
    assert_eq!(error.to_string(), "model stream broke: reset");
    assert_eq!(seen[3], Progress::Delta("whole".into()));
}

#[tokio::test]
async fn the_last_error_keeps_its_kind_and_counts_the_attempts() {
    let stalled = || {
        Some(ModelError::retryable(
            ModelErrorKind::Stalled,
            "model stream stalled: no progress for 1s (keep-alives do not count)",
        ))
    };
    let provider = Scripted {
        attempts: Mutex::new(vec![("", stalled()), ("", stalled())]),
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let e = complete_with_retries(&provider, &request(), &fast(2), &tx)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::Stalled);
    assert_eq!(
        e.to_string(),
        "model stream stalled: no progress for 1s (keep-alives do not count) (after 2 attempts)"
    );

    let provider = Scripted {
        attempts: Mutex::new(vec![(
            "",
            Some(ModelError::fatal(
                ModelErrorKind::ContextLength,
                "model endpoint returned HTTP 400: maximum context length exceeded",
            )),
        )]),
    };
    let e = complete_with_retries(&provider, &request(), &fast(5), &tx)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::ContextLength);
    assert_eq!(e.attempts, 1, "a fatal error is not retried");
    assert_eq!(
        e.to_string(),
        "model endpoint returned HTTP 400: maximum context length exceeded"
    );
}

#[tokio::test]
async fn a_context_length_error_is_never_retried_even_when_marked_retryable() {
    let provider = Scripted {
        attempts: Mutex::new(vec![
            (
                "",
                Some(ModelError::retryable(
                    ModelErrorKind::ContextLength,
                    "model stream carried an error: maximum context length is 2048 tokens",
                )),
            ),
            ("never asked for", None),
        ]),
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let e = complete_with_retries(&provider, &request(), &fast(5), &tx)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::ContextLength);
    assert_eq!(e.attempts, 1);
    assert_eq!(
        provider.attempts.lock().unwrap().len(),
        1,
        "one attempt made"
    );
}
