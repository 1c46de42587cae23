//! What the next frame's layout means for the keys: the transcript's size
//! (paging, keeping a scrolled view in place, search) and how far the approval
//! prompt's call scrolls. The event loop calls [`App::fit`] with the frame's
//! area just before drawing, so the views only read the state.

use ratatui::layout::Rect;

use super::state::{App, Screen};
use crate::ui::modals::{Modal, approval, review};
use crate::ui::screens::session;
use crate::ui::view::MIN_SIZE;

impl App {
    /// Records the sizes the session screen gets in `area` (nothing when it is
    /// not the screen drawn there).
    pub fn fit(&mut self, area: Rect) {
        if let Some(Modal::Review(r)) = &self.modal
            && let Some(c) = &r.call
        {
            let at = review::area_for(self, r, area);
            let view = approval::call_rows(self, c, at);
            if let Some(Modal::Review(r)) = self.modal.as_mut() {
                r.view = view;
            }
        }
        if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 || self.screen != Screen::Session {
            return;
        }
        let Some(v) = self.session.as_ref() else {
            return;
        };
        let areas = session::layout(self, v, area);
        let viewport = (areas.body.width, areas.body.height);
        let prompt_view = if areas.approval.height > 0 {
            approval::shown_rows(self, v, areas.approval)
        } else {
            None
        };
        if let Some(v) = self.session.as_mut() {
            v.viewport = viewport;
            if let Some(p) = prompt_view {
                v.prompt_view = p;
            }
        }
    }
}
