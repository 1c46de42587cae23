//! Drawing the whole UI: a pure function of [`App`]. The screen first, then
//! the dialog over it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::chrome::conn_banner;
use crate::ui::app::{App, Screen};
use crate::ui::modals::{self, Modal};

/// The smallest window the UI draws in (columns, rows); below it, a line says so.
pub const MIN_SIZE: (u16, u16) = (10, 4);

/// Draws the whole UI.
pub fn draw(f: &mut Frame<'_>, app: &App) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        f.render_widget(Paragraph::new("tether: window too small"), area);
        return;
    }
    match app.screen {
        Screen::List => crate::ui::screens::list::draw(f, app, area),
        Screen::Session => match &app.session {
            Some(v) => crate::ui::screens::session::draw(f, app, v, area),
            None => {
                let [top, rest] =
                    Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
                f.render_widget(
                    Paragraph::new(conn_banner(app).unwrap_or_else(|| Line::from(" attaching…"))),
                    top,
                );
                f.render_widget(Paragraph::new(app.flash.clone().unwrap_or_default()), rest);
            }
        },
    }
    if let Some(m) = &app.modal {
        draw_modal(f, app, m, area);
    }
}

fn draw_modal(f: &mut Frame<'_>, app: &App, m: &Modal, area: Rect) {
    match m {
        Modal::Help => modals::help::draw(f, &app.keymap, app.help_scroll, area),
        Modal::ConfirmKill(name) => modals::dialogs::draw_kill(f, name, area),
        Modal::DenyReason { call_id, reason } => {
            modals::dialogs::draw_deny(f, call_id, reason, area)
        }
        Modal::Create(form) => modals::create::draw(f, form, &app.cwd, area),
        Modal::Picker(p) => modals::picker::draw(f, app, p, area),
        Modal::Review(r) => modals::review::draw(f, app, r, area),
    }
}
