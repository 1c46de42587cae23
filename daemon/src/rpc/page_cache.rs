//! The last attach pages read (issue 13), kept by the daemon's context and
//! used by `paging.rs`.

use tether_shared::Event;

/// What a page was read for: the same session, range and size give the same
/// events, since stored events never change (a range ends at a seq that was
/// stored when it was read).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct PageKey {
    pub(super) session: String,
    pub(super) from: u64,
    pub(super) upto: u64,
    pub(super) page: usize,
}

/// How many pages [`PageCache`] keeps.
pub(super) const CACHED_PAGES: usize = 16;

/// The last attach pages read (issue 13): attaching again to a session that
/// stored nothing since (a person switching back to it, `tether attach` after
/// a detach) is answered from memory, without the trip to the store's blocking
/// thread, which on a busy machine was most of the daemon's part of the TUI's
/// first frame. Small: a few pages, each cut to the byte budget.
#[derive(Default)]
pub(crate) struct PageCache {
    pages: std::sync::Mutex<std::collections::VecDeque<(PageKey, Page)>>,
}

/// A page's events and whether older ones were left out.
pub(super) type Page = (Vec<Event>, bool);

impl PageCache {
    pub(super) fn get(&self, key: &PageKey) -> Option<Page> {
        let pages = self.pages.lock().ok()?;
        pages.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    pub(super) fn put(&self, key: PageKey, page: &Page) {
        if let Ok(mut pages) = self.pages.lock() {
            pages.retain(|(k, _)| k.session != key.session);
            if pages.len() >= CACHED_PAGES {
                pages.pop_front();
            }
            pages.push_back((key, page.clone()));
        }
    }
}
