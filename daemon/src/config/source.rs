//! The config file as the daemon uses it: re-read when it changes, keeping the last
//! good config when it does not parse.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::error::ConfigError;
use super::parse::parse;
use super::settings::Config;

#[derive(Default)]
struct Cached {
    stamp: Option<(SystemTime, u64)>,
    good: Option<Arc<Config>>,
    error: Option<ConfigError>,
}

/// The config file, re-read when it changes.
pub struct ConfigSource {
    path: PathBuf,
    cached: Mutex<Cached>,
}

impl ConfigSource {
    /// A source for `path` (which need not exist).
    pub fn new(path: PathBuf) -> Self {
        ConfigSource {
            path,
            cached: Mutex::new(Cached::default()),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The config in force and the current error, re-reading the file if it changed.
    /// With an error, the config is the last good one (or the defaults).
    pub fn load(&self) -> (Arc<Config>, Option<ConfigError>) {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        let mut cached = match self.cached.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if cached.good.is_none() && cached.error.is_none() || cached.stamp != stamp {
            cached.stamp = stamp;
            match stamp {
                None => {
                    cached.good = Some(Arc::new(Config::default()));
                    cached.error = None;
                }
                Some(_) => match std::fs::read_to_string(&self.path) {
                    Ok(text) => match parse(&text, &self.path) {
                        Ok(c) => {
                            cached.good = Some(Arc::new(c));
                            cached.error = None;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "config file does not parse; keeping the last good config");
                            cached.error = Some(e);
                        }
                    },
                    Err(e) => {
                        cached.error = Some(ConfigError {
                            path: self.path.display().to_string(),
                            line: 1,
                            column: 1,
                            message: format!("cannot read: {e}"),
                        })
                    }
                },
            }
        }
        let good = cached
            .good
            .clone()
            .unwrap_or_else(|| Arc::new(Config::default()));
        (good, cached.error.clone())
    }
}
