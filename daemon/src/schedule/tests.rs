//! The scheduler on a manual clock (hours pass in no time, and the times it
//! records are exact), through the real registry, store and actors: timed firings keep their phase, a firing missed while the daemon
//! was down runs once (or is skipped), and the store never doubles a firing.
//! The sessions' model is an address nobody serves: their turns fail, which
//! is beside the point here (the firings are in the log).
// Test code fails loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tether_shared::protocol::{CreateParams, ScheduleAddParams, ScheduleRule};
use tether_shared::{Delivery, EventKind};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Scheduler;
use super::clock::{ManualClock, rfc3339, to_ms};
use crate::session::{Registry, SessionShared};
use crate::store::{Fired, Firing, ScheduleRow, SqliteStore, Store};

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn registry(dir: &std::path::Path) -> (Arc<Registry>, Arc<dyn Store>) {
    std::fs::write(
        dir.join("config.toml"),
        "default_model = \"local/m\"\n[providers.local]\nkind = \"openai\"\n\
         base_url = \"http://127.0.0.1:9/v1\"\n[retry]\nmax_attempts = 1\n\
         [sessions]\nsleep_after_s = 0.05\n",
    )
    .unwrap();
    let shared = SessionShared::for_tests(dir);
    assert!(
        shared.config.load().1.is_none(),
        "{:?}",
        shared.config.load().1
    );
    let store = shared.store.clone();
    (Registry::new(shared, CancellationToken::new()), store)
}

async fn create(registry: &Registry, dir: &std::path::Path, name: &str) -> String {
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
    registry.create(params, None).await.unwrap().id
}

async fn scheduled_messages(store: &Arc<dyn Store>, session: &str) -> usize {
    store
        .events(session, 0, u64::MAX, 10_000, false)
        .await
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::UserMessage {
                    delivery: Delivery::Schedule,
                    ..
                }
            )
        })
        .count()
}

fn row(session: &str, every_s: u64, next_run: i64, skip_missed: bool) -> ScheduleRow {
    ScheduleRow {
        id: 0,
        session_id: session.into(),
        rule: ScheduleRule::Every(every_s),
        tz: None,
        text: "tick".into(),
        delivery: Delivery::Queue,
        skip_missed,
        paused: false,
        created_at: "2026-12-01T00:00:00.000Z".into(),
        next_run: Some(next_run),
        last_run: None,
        last_outcome: None,
        fired: 0,
    }
}

/// A scheduler on a manual clock reading `at`.
async fn start(
    (registry, store): &(Arc<Registry>, Arc<dyn Store>),
    at: DateTime<Utc>,
) -> (Arc<Scheduler>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(at));
    let scheduler = Scheduler::start(
        store.clone(),
        registry.clone(),
        clock.clone(),
        TaskTracker::new(),
        CancellationToken::new(),
    )
    .await;
    (scheduler, clock)
}

/// Moves the clock on and lets the scheduler see it.
fn advance(scheduler: &Scheduler, clock: &ManualClock, by: Duration) {
    clock.advance(by);
    scheduler.poke();
}

/// Waits (in real time, at most 10 s) until `n` scheduled messages are in the log.
async fn until_messages(store: &Arc<dyn Store>, session: &str, n: usize) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while scheduled_messages(store, session).await < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("fewer than {n} scheduled messages within 10 s"));
}

/// Waits until the scheduler has no firing running (real time, at most 10 s).
async fn until_settled(scheduler: &Scheduler, id: u64, fired: u64) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = scheduler.list(None).await.unwrap();
            if s.iter().any(|s| s.id == id && s.fired == fired) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("schedule {id} did not reach {fired} firings within 10 s"));
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn every_hour_fires_on_the_hour_and_keeps_its_phase() {
    let dir = tempfile::tempdir().unwrap();
    let env = registry(dir.path());
    let (registry, store) = env.clone();
    let id = create(&registry, dir.path(), "hourly").await;
    let (scheduler, clock) = start(&env, base()).await;
    let added = scheduler
        .add(
            ScheduleAddParams {
                session: "hourly".into(),
                rule: ScheduleRule::Every(3600),
                tz: None,
                text: "check CI".into(),
                delivery: Delivery::Queue,
                skip_missed: false,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(added.next_run.as_deref(), Some("2026-12-01T10:00:00.000Z"));
    // Not yet due: nothing fires.
    advance(&scheduler, &clock, HOUR - Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(scheduled_messages(&store, &id).await, 0);
    for n in 1..=3 {
        // A little late each time (the daemon was busy): still on the hour next.
        advance(
            &scheduler,
            &clock,
            Duration::from_secs(if n == 1 { 3 } else { 3600 }),
        );
        until_messages(&store, &id, n).await;
        until_settled(&scheduler, added.id, n as u64).await;
    }
    let listed = scheduler.list(Some("hourly")).await.unwrap();
    assert_eq!(listed.len(), 1);
    let s = &listed[0];
    assert_eq!(s.fired, 3);
    assert_eq!(s.last_outcome.as_deref(), Some("delivered"));
    assert_eq!(s.last_run.as_deref(), Some("2026-12-01T12:00:02.000Z"));
    assert_eq!(s.next_run.as_deref(), Some("2026-12-01T13:00:00.000Z"));
}

#[tokio::test]
async fn a_firing_missed_while_down_runs_once_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let env = registry(dir.path());
    let (registry, store) = env.clone();
    let id = create(&registry, dir.path(), "missed").await;
    // Due three hours ago: three periods missed.
    let due = to_ms(base()) - 3 * 3_600_000;
    let stored = store
        .add_schedule(row(&id, 3600, due, false), None)
        .await
        .unwrap();
    let (scheduler, clock) = start(&env, base()).await;
    until_messages(&store, &id, 1).await;
    until_settled(&scheduler, stored.id, 1).await;
    // Half an hour later, still one: not one per missed period.
    advance(&scheduler, &clock, HOUR / 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(scheduled_messages(&store, &id).await, 1);
    let s = scheduler.list(None).await.unwrap().remove(0);
    assert_eq!((s.id, s.fired), (stored.id, 1));
    assert_eq!(s.last_run, Some(rfc3339(to_ms(base()))));
    // Its phase kept: the next whole period after now.
    assert_eq!(s.next_run, Some(rfc3339(to_ms(base()) + 3_600_000)));
}

#[tokio::test]
async fn with_skip_missed_a_missed_firing_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let env = registry(dir.path());
    let (registry, store) = env.clone();
    let id = create(&registry, dir.path(), "skipper").await;
    let due = to_ms(base()) - 3 * 3_600_000;
    let stored = store
        .add_schedule(row(&id, 3600, due, true), None)
        .await
        .unwrap();
    let (scheduler, clock) = start(&env, base()).await;
    let s = scheduler.list(None).await.unwrap().remove(0);
    assert_eq!(s.last_outcome.as_deref(), Some("skipped_missed"));
    assert_eq!(s.fired, 0);
    assert_eq!(s.next_run, Some(rfc3339(to_ms(base()) + 3_600_000)));
    advance(&scheduler, &clock, HOUR / 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(scheduled_messages(&store, &id).await, 0);
    // And it fires at its next run.
    advance(&scheduler, &clock, HOUR / 2);
    until_messages(&store, &id, 1).await;
    until_settled(&scheduler, stored.id, 1).await;
}

#[tokio::test]
async fn a_paused_schedule_does_not_fire_and_resumes_from_now() {
    let dir = tempfile::tempdir().unwrap();
    let env = registry(dir.path());
    let (registry, store) = env.clone();
    let id = create(&registry, dir.path(), "pausing").await;
    let (scheduler, clock) = start(&env, base()).await;
    let added = scheduler
        .add(
            ScheduleAddParams {
                session: id.clone(),
                rule: ScheduleRule::Every(600),
                tz: None,
                text: "tick".into(),
                delivery: Delivery::Queue,
                skip_missed: false,
            },
            None,
        )
        .await
        .unwrap();
    let paused = scheduler.set_paused(added.id, true).await.unwrap();
    assert!(paused.paused && paused.next_run.is_none());
    advance(&scheduler, &clock, HOUR);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(scheduled_messages(&store, &id).await, 0);
    let resumed = scheduler.set_paused(added.id, false).await.unwrap();
    assert_eq!(
        resumed.next_run,
        Some(rfc3339(to_ms(base()) + 3_600_000 + 600_000)),
        "ten minutes after the resume"
    );
    advance(&scheduler, &clock, Duration::from_secs(600));
    until_messages(&store, &id, 1).await;
}

#[tokio::test]
async fn a_firing_is_stored_once_with_its_input_and_at_most_one_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tether.db");
    let env = registry(dir.path());
    let (registry, store) = env.clone();
    let id = create(&registry, dir.path(), "once").await;
    let s = store
        .add_schedule(row(&id, 60, 1_000, false), None)
        .await
        .unwrap();
    let firing = |due: i64, next: i64| Firing {
        schedule_id: s.id,
        due: Some(due),
        at: due + 5,
        next_run: Some(next),
        text: "tick".into(),
        delivery: Delivery::Queue,
    };
    let first = store
        .fire_schedule(&id, firing(1_000, 61_000))
        .await
        .unwrap();
    let Fired::Delivered(input) = first else {
        panic!("{first:?}")
    };
    // The same firing again (a retry after a crash that came after the
    // commit): it is stale and stores nothing.
    assert_eq!(
        store
            .fire_schedule(&id, firing(1_000, 61_000))
            .await
            .unwrap(),
        Fired::Stale
    );
    // The next one while the first input still waits: pending, not added.
    assert_eq!(
        store
            .fire_schedule(&id, firing(61_000, 121_000))
            .await
            .unwrap(),
        Fired::Pending
    );
    // Another session's id never fires it.
    assert_eq!(
        store
            .fire_schedule("s-other", firing(121_000, 181_000))
            .await
            .unwrap(),
        Fired::Stale
    );
    // What a restart reads: one input, of this schedule; the next run moved on.
    let reopened = SqliteStore::open(&path).unwrap();
    let inputs = reopened.inputs(&id).await.unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!((inputs[0].id, inputs[0].schedule), (input, Some(s.id)));
    let rows = reopened.schedules().await.unwrap();
    assert_eq!(rows[0].next_run, Some(121_000));
    assert_eq!(rows[0].fired, 1);
    assert_eq!(rows[0].last_outcome.as_deref(), Some("pending"));
    // Killing the session removes its schedules with it.
    registry.kill(&id, None).await.unwrap();
    assert!(store.schedules().await.unwrap().is_empty());
}
