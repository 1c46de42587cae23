//! The terminal's title: `tether: NAME: state` while a session is on screen,
//! `tether` elsewhere (`tether@HOST` for a daemon on another machine). The
//! event loop sets it when it changes.

use crate::ui::app::{App, Screen};
use crate::ui::view::chrome::shown_state;

/// The title for the app's state now, with no control characters (a name
/// cannot end the title sequence early).
pub fn title(app: &App) -> String {
    let tether = match &app.host {
        Some(h) => format!("tether@{h}"),
        None => "tether".to_string(),
    };
    let t = match (app.screen, &app.session) {
        (Screen::Session, Some(v)) => format!(
            "{tether}: {}: {}",
            v.info.name,
            shown_state(app, v.info.state)
        ),
        _ => tether,
    };
    t.chars().filter(|c| !c.is_control()).collect()
}
