//! `[tui]` in config.toml: settings of the terminal UI itself, read once at
//! start, the way `[keys]` is. Keys it does not know are left alone.

/// The TUI's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuiConfig {
    /// Ring the terminal bell when a session starts needing a person
    /// (`bell = false` turns it off).
    pub bell: bool,
}

impl Default for TuiConfig {
    fn default() -> Self {
        TuiConfig { bell: true }
    }
}

impl TuiConfig {
    /// Reads a `[tui]` table; an entry of the wrong type is an error that
    /// names it.
    pub fn from_table(table: &toml::Table) -> Result<TuiConfig, String> {
        let mut c = TuiConfig::default();
        if let Some(v) = table.get("bell") {
            c.bell = v
                .as_bool()
                .ok_or_else(|| format!("[tui] bell: expected true or false, not {v}"))?;
        }
        Ok(c)
    }

    /// `[tui]` from the config file. A broken table falls back to the
    /// defaults, with a warning for the TUI to show.
    pub fn load() -> (TuiConfig, Option<String>) {
        let path = tether_shared::paths::config_dir().join("config.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return (TuiConfig::default(), None);
        };
        let Ok(table) = toml::from_str::<toml::Table>(&text) else {
            return (TuiConfig::default(), None); // the daemon reports config errors
        };
        match table.get("tui") {
            None => (TuiConfig::default(), None),
            Some(toml::Value::Table(t)) => match TuiConfig::from_table(t) {
                Ok(c) => (c, None),
                Err(e) => (
                    TuiConfig::default(),
                    Some(format!("{}: {e}; using the defaults", path.display())),
                ),
            },
            Some(_) => (
                TuiConfig::default(),
                Some(format!("{}: [tui] must be a table", path.display())),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bell_is_on_unless_turned_off() {
        let t = |s: &str| TuiConfig::from_table(&toml::from_str(s).unwrap());
        assert_eq!(t("").unwrap(), TuiConfig { bell: true });
        assert_eq!(t("bell = false").unwrap(), TuiConfig { bell: false });
        assert!(t("bell = true\nmouse = false").unwrap().bell);
        let e = t("bell = \"no\"").unwrap_err();
        assert!(e.contains("[tui] bell"), "{e}");
    }
}
