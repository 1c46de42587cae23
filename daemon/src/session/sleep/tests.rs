//! Falling asleep races nothing: a command through a handle taken before the
//! session fell asleep is served by the actor woken for it, never answered
//! "stopped", and one that reached the channel while the actor was falling
//! asleep is handed on to the next actor. Driven through the real registry,
//! store and actor (no model call is made: the sessions get no message).
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use tether_shared::protocol::CreateParams;
use tokio_util::sync::CancellationToken;

use crate::session::{Registry, SessionShared};

fn registry(dir: &std::path::Path, sleep_after_s: f64) -> Arc<Registry> {
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "default_model = \"local/m\"\n[providers.local]\nkind = \"openai\"\n\
             base_url = \"http://127.0.0.1:9/v1\"\n[sessions]\nsleep_after_s = {sleep_after_s}\n"
        ),
    )
    .unwrap();
    let shared = SessionShared::for_tests(dir);
    assert!(
        shared.config.load().1.is_none(),
        "{:?}",
        shared.config.load().1
    );
    Registry::new(shared, CancellationToken::new())
}

async fn wait_awake(registry: &Registry, awake: usize, what: &str) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while registry.counts().1 != awake {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

async fn create(registry: &Registry, dir: &std::path::Path, name: &str) {
    let params = CreateParams {
        name: Some(name.into()),
        cwd: dir.display().to_string(),
        model: None,
        instructions: None,
        prompt: None,
        max_tokens: None,
        max_cost_usd: None,
        mcp_servers: Vec::new(),
        worktree: None,
        node: None,
        portable: false,
    };
    registry.create(params, None).await.unwrap();
}

#[tokio::test]
async fn a_handle_kept_across_the_sleep_reaches_the_woken_actor() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), 0.01);
    create(&registry, dir.path(), "nap").await;
    let kept = registry.get("nap").await.unwrap();
    wait_awake(&registry, 0, "the session to fall asleep").await;
    assert!(kept.is_closed(), "its actor ended");
    // Served (by a new actor), not "the session has stopped".
    assert!(!kept.interrupt().await.unwrap(), "no turn was running");
    assert_eq!(registry.counts(), (1, 1), "woken for it");
    let fresh = registry.get("nap").await.unwrap();
    assert_ne!(fresh.epoch(), kept.epoch());
    assert!(!fresh.interrupt().await.unwrap());
    // And it falls asleep again.
    wait_awake(&registry, 0, "the session to fall asleep again").await;
}

#[tokio::test]
async fn a_command_queued_while_the_actor_falls_asleep_is_handed_on() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), 0.01);
    create(&registry, dir.path(), "nap").await;
    let h = registry.get("nap").await.unwrap();
    // Holding the waking lock stops the actor just before it falls asleep:
    // its idle timer fires and waits for the lock.
    let lock = registry.slots().waking.lock().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = tokio::spawn({
        let h = h.clone();
        async move { h.interrupt().await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(lock);
    let answer = tokio::time::timeout(Duration::from_secs(10), asked)
        .await
        .expect("the command is answered")
        .unwrap();
    assert!(!answer.unwrap(), "served, and no turn was running");
}

#[tokio::test]
async fn sleep_after_0_never_sleeps() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path(), 0.0);
    create(&registry, dir.path(), "awake").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(registry.counts(), (1, 1));
}
