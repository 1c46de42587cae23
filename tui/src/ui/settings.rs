//! The TUI's own settings: the `[tui]` table of `config.toml` (the daemon
//! ignores it): `bell`, `mouse`, `time`. Read once at start; a bad value falls back to its default,
//! with a warning shown from the start like a bad `[keys]` entry.

use crate::ui::app::TimeZone;

/// `[tui]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuiSettings {
    /// `bell = true` (default): ring the terminal bell when a session starts
    /// needing a person; `false` turns it off.
    pub bell: bool,
    /// `mouse = true` (default): the TUI takes the mouse (the wheel scrolls, a
    /// drag selects and copies); `false` leaves it to the terminal's own
    /// selection. `Ctrl-b m` switches while running.
    pub mouse: bool,
    /// `time = "local"` (default) or `"utc"`: the zone the TUI shows times in.
    pub time: TimeZone,
}

impl Default for TuiSettings {
    fn default() -> Self {
        TuiSettings {
            bell: true,
            mouse: true,
            time: TimeZone::Local,
        }
    }
}

impl TuiSettings {
    /// The settings in a whole `config.toml` table; the problems found, one
    /// line each.
    pub fn from_config(config: &toml::Table) -> (TuiSettings, Vec<String>) {
        let mut s = TuiSettings::default();
        let mut problems = Vec::new();
        let Some(tui) = config.get("tui") else {
            return (s, problems);
        };
        let Some(tui) = tui.as_table() else {
            problems.push("[tui] must be a table".to_string());
            return (s, problems);
        };
        match tui.get("bell") {
            None => {}
            Some(toml::Value::Boolean(b)) => s.bell = *b,
            Some(other) => problems.push(format!(
                "[tui] bell = {other}: expected true or false; the bell stays on"
            )),
        }
        match tui.get("mouse") {
            None => {}
            Some(toml::Value::Boolean(b)) => s.mouse = *b,
            Some(other) => problems.push(format!(
                "[tui] mouse = {other}: expected true or false; the mouse stays on"
            )),
        }
        match TimeZone::from_config(config) {
            Ok(zone) => s.time = zone,
            Err(e) => problems.push(e),
        }
        (s, problems)
    }

    /// Reads `config.toml` in the config directory (defaults when it is
    /// missing or does not parse: the daemon reports that).
    pub fn load() -> (TuiSettings, Vec<String>) {
        let path = tether_shared::paths::config_dir().join("config.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return (TuiSettings::default(), Vec::new());
        };
        match toml::from_str::<toml::Table>(&text) {
            Ok(t) => {
                let (s, problems) = TuiSettings::from_config(&t);
                let problems = problems
                    .into_iter()
                    .map(|p| format!("{}: {p}", path.display()))
                    .collect();
                (s, problems)
            }
            Err(_) => (TuiSettings::default(), Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mouse_and_bell_are_on_unless_turned_off_and_a_bad_value_says_so() {
        let t = |s: &str| TuiSettings::from_config(&toml::from_str(s).unwrap());
        assert_eq!(t(""), (TuiSettings::default(), vec![]));
        let (s, problems) = t("[tui]\nmouse = false\nbell = false\ntime = \"utc\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            s,
            TuiSettings {
                bell: false,
                mouse: false,
                time: TimeZone::Utc
            }
        );
        let (s, problems) = t("[tui]\nmouse = \"no\"\nbell = 1\ntime = \"mars\"\n");
        assert_eq!(s, TuiSettings::default());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("[tui] bell"), "{problems:?}");
        assert!(problems[1].contains("mouse"), "{problems:?}");
        assert!(problems[2].contains("[tui] time"), "{problems:?}");
    }
}
