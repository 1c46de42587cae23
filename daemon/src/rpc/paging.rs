//! Pages of stored events for `session.logs` and `session.attach`: how many
//! events a page holds, and the byte budget that keeps a reply well under a
//! client's frame cap however large the events.

use tether_shared::Event;
use tether_shared::protocol::RpcError;

use super::errors;
use super::page_cache::PageKey;
use crate::daemon::DaemonContext;

/// Default and largest page for `session.attach`.
pub(super) const DEFAULT_PAGE: u32 = 200;
/// Largest page for `session.attach` and `session.logs`.
pub(super) const MAX_PAGE: u32 = 10_000;
/// An attach reply stops adding events past this many bytes (frames stay small).
const PAGE_BYTES: usize = 16 * 1024 * 1024;

/// Cuts a page of events to [`PAGE_BYTES`] of JSON, keeping the newest (or the
/// oldest) and always at least one, so a reply stays well under a client's frame
/// cap however large the events. Returns whether anything was cut.
pub(super) fn fit_page(events: &mut Vec<Event>, keep_newest: bool) -> bool {
    // Counts serialised bytes without building the strings.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut total = Count(0);
    let mut fits = |ev: &Event| {
        let _ = serde_json::to_writer(&mut total, ev);
        total.0 <= PAGE_BYTES
    };
    let keep = if keep_newest {
        events.iter().rev().take_while(|e| fits(e)).count()
    } else {
        events.iter().take_while(|e| fits(e)).count()
    }
    .max(1);
    if keep >= events.len() {
        return false;
    }
    if keep_newest {
        events.drain(..events.len() - keep);
    } else {
        events.truncate(keep);
    }
    true
}

/// Events in `(from, upto]`: the newest `page` of them, within the byte budget;
/// the flag says whether older events in the range were left out.
pub(super) async fn page(
    ctx: &DaemonContext,
    session_id: &str,
    from: u64,
    upto: u64,
    page: usize,
) -> Result<(Vec<Event>, bool), RpcError> {
    if page == 0 || upto <= from {
        return Ok((Vec::new(), upto > from));
    }
    let key = PageKey {
        session: session_id.to_string(),
        from,
        upto,
        page,
    };
    if let Some(hit) = ctx.pages.get(&key) {
        return Ok(hit);
    }
    let mut events = ctx
        .shared
        .store
        .events(session_id, from, upto.saturating_add(1), page, true)
        .await
        .map_err(errors::storage)?;
    fit_page(&mut events, true);
    let first = events.first().map_or(upto + 1, |e| e.seq);
    let out = (events, first > from + 1);
    ctx.pages.put(key, &out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::page_cache::{CACHED_PAGES, PageCache};
    use tether_shared::EventKind;

    fn big(seq: u64) -> Event {
        let output = "x".repeat(PAGE_BYTES / 3);
        Event {
            seq,
            ts: "t".into(),
            kind: EventKind::Error { message: output },
        }
    }

    #[test]
    fn a_cached_page_is_found_only_for_the_same_range_and_one_per_session() {
        let cache = PageCache::default();
        let key = |session: &str, upto: u64| PageKey {
            session: session.into(),
            from: 0,
            upto,
            page: 70,
        };
        let page = (vec![big(5)], true);
        cache.put(key("a", 5), &page);
        assert_eq!(cache.get(&key("a", 5)).map(|p| p.0.len()), Some(1));
        assert!(
            cache.get(&key("a", 6)).is_none(),
            "a newer event: read again"
        );
        assert!(cache.get(&key("b", 5)).is_none());
        // A newer page of a session replaces its older one.
        cache.put(key("a", 6), &page);
        assert!(cache.get(&key("a", 5)).is_none());
        for i in 0..CACHED_PAGES {
            cache.put(key(&format!("s{i}"), 1), &page);
        }
        assert!(cache.get(&key("a", 6)).is_none(), "the oldest went");
        assert!(cache.get(&key("s1", 1)).is_some());
    }

    #[test]
    fn a_page_is_cut_to_the_byte_budget_from_the_chosen_end() {
        let mut newest: Vec<Event> = (1..=5).map(big).collect();
        assert!(fit_page(&mut newest, true));
        assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
        let mut oldest: Vec<Event> = (1..=5).map(big).collect();
        assert!(fit_page(&mut oldest, false));
        assert_eq!(oldest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        let mut small: Vec<Event> = (1..=2)
            .map(|s| Event {
                seq: s,
                ts: "t".into(),
                kind: EventKind::TurnStarted,
            })
            .collect();
        assert!(!fit_page(&mut small, true));
        assert_eq!(small.len(), 2);
    }
}
