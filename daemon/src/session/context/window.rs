//! How big a model's context window is: from `[models."provider/model"]` in the
//! config, else what an overflow taught (kept in the state dir), else what the
//! endpoint says about itself, else a built-in table of well-known models, else a
//! conservative default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::config::Config;

/// The window assumed when nothing says otherwise: small enough for most local
/// models, so a session compacts early rather than fails.
pub const DEFAULT_WINDOW: u64 = 8192;

/// The smallest window tether works with: a window learned from an odd error
/// message never goes below it.
pub const MIN_WINDOW: u64 = 512;

/// Where a window came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `config.toml`.
    Config,
    /// An overflow's error.
    Learned,
    /// The built-in table.
    Table,
    /// The endpoint's own model listing.
    Endpoint,
    /// [`DEFAULT_WINDOW`].
    Default,
}

/// A model's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Tokens.
    pub tokens: u64,
    /// Where the figure came from.
    pub source: Source,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Book {
    /// Windows taught by overflows, by `provider/model`.
    #[serde(default)]
    learned: BTreeMap<String, u64>,
    /// What the endpoint said, by `provider/model` (`None`: it said nothing);
    /// kept for the daemon's life only.
    #[serde(skip)]
    probed: BTreeMap<String, Option<u64>>,
}

/// The windows the daemon learned, shared by every session, with the learned
/// ones kept in `context-windows.json` in the state dir.
#[derive(Debug, Default)]
pub struct WindowBook {
    path: Option<PathBuf>,
    book: Mutex<Book>,
}

/// The book's file in the state dir.
pub const BOOK_FILE: &str = "context-windows.json";

impl WindowBook {
    /// The book kept in `state_dir` (a missing or unreadable file is an empty book).
    pub fn open(state_dir: &Path) -> Self {
        let path = state_dir.join(BOOK_FILE);
        let book = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                warn!(path = %path.display(), error = %e, "ignoring a damaged window book");
                Book::default()
            }),
            Err(_) => Book::default(),
        };
        WindowBook {
            path: Some(path),
            book: Mutex::new(book),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The window an overflow taught for `model`.
    pub fn learned(&self, model: &str) -> Option<u64> {
        self.lock().learned.get(model).copied()
    }

    /// Records what an overflow taught; kept across restarts (best effort: a
    /// failing disk loses the lesson, not the session).
    pub fn learn(&self, model: &str, tokens: u64) {
        let tokens = tokens.max(MIN_WINDOW);
        let text = {
            let mut book = self.lock();
            book.learned.insert(model.to_string(), tokens);
            serde_json::to_vec_pretty(&*book).unwrap_or_default()
        };
        if let Some(path) = &self.path {
            let tmp = path.with_extension("json.tmp");
            let written = std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, path));
            if let Err(e) = written {
                warn!(path = %path.display(), error = %e, "could not save a learned context window");
            }
        }
    }

    /// What the endpoint said, if it was asked: `Some(None)` when it said nothing.
    pub fn probed(&self, model: &str) -> Option<Option<u64>> {
        self.lock().probed.get(model).copied()
    }

    /// Records what the endpoint said.
    pub fn set_probed(&self, model: &str, tokens: Option<u64>) {
        self.lock().probed.insert(model.to_string(), tokens);
    }
}

/// The window of `model` (`provider/model`) without asking the endpoint; `None`
/// when only the endpoint (or the default) is left and it was not asked yet.
pub fn known(config: &Config, model: &str, book: &WindowBook) -> Option<Window> {
    let w = |tokens, source| Some(Window { tokens, source });
    if let Some(t) = config.models.get(model).and_then(|m| m.context_window) {
        return w(t, Source::Config);
    }
    if let Some(t) = book.learned(model) {
        return w(t, Source::Learned);
    }
    // The endpoint before the table: a local server often serves a model with a
    // smaller window than the model has (SmolLM2's 8192 served at 2048).
    let probed = book.probed(model)?;
    if let Some(t) = probed {
        return w(t, Source::Endpoint);
    }
    let name = model.split_once('/').map_or(model, |(_, m)| m);
    if let Some(t) = crate::model::known_window(name) {
        return w(t, Source::Table);
    }
    w(DEFAULT_WINDOW, Source::Default)
}

/// What an overflow teaches: the window the error names, else a bit less than
/// the request that overflowed (`tokens`), never more than was believed.
pub fn lesson(named: Option<u64>, tokens: u64, believed: u64) -> u64 {
    match named {
        Some(n) if n > 0 => n,
        _ => (tokens * 9 / 10).min(believed),
    }
    .max(MIN_WINDOW)
}

/// The window and the request's size an overflow's error text names, as
/// OpenAI and vLLM word it ("maximum context length is 8192 tokens. However, your
/// messages resulted in 9013 tokens"), llama.cpp ("exceed context window of
/// 2048"), and Anthropic ("prompt is too long: 208310 tokens > 200000 maximum").
pub fn named(text: &str) -> (Option<u64>, Option<u64>) {
    let lower = text.to_ascii_lowercase();
    let number_after = |key: &str| -> Option<u64> {
        let at = lower.find(key)? + key.len();
        let digits: String = lower[at..]
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        digits.parse().ok().filter(|n: &u64| *n > 0)
    };
    if let Some(w) = number_after("maximum context length is") {
        let counted = number_after("resulted in").or_else(|| number_after("requested"));
        return (Some(w), counted);
    }
    if let Some(w) = number_after("context window of") {
        return (Some(w), number_after("requested tokens"));
    }
    if lower.contains("prompt is too long") {
        let counted = number_after("prompt is too long");
        let w = lower
            .find('>')
            .and_then(|i| lower[i + 1..].split_whitespace().next())
            .and_then(|n| n.replace(',', "").parse().ok());
        return (w, counted);
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_then_learned_then_endpoint_then_table_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let book = WindowBook::open(dir.path());
        let mut config = Config::default();
        assert_eq!(
            known(&config, "local/some-model", &book),
            None,
            "ask the endpoint"
        );
        book.set_probed("local/some-model", None);
        assert_eq!(
            known(&config, "local/some-model", &book),
            Some(Window {
                tokens: DEFAULT_WINDOW,
                source: Source::Default
            })
        );
        book.set_probed("local/some-model", Some(4096));
        assert_eq!(
            known(&config, "local/some-model", &book).unwrap().tokens,
            4096
        );
        book.set_probed("openai/gpt-4o", None);
        assert_eq!(
            known(&config, "openai/gpt-4o", &book).unwrap().source,
            Source::Table,
            "an endpoint that says nothing leaves the table"
        );
        book.learn("local/some-model", 3000);
        assert_eq!(
            known(&config, "local/some-model", &book),
            Some(Window {
                tokens: 3000,
                source: Source::Learned
            })
        );
        config.models.insert(
            "local/some-model".into(),
            crate::config::ModelSettings {
                context_window: Some(32768),
                ..Default::default()
            },
        );
        assert_eq!(
            known(&config, "local/some-model", &book).unwrap().source,
            Source::Config
        );
        let again = WindowBook::open(dir.path());
        assert_eq!(
            again.learned("local/some-model"),
            Some(3000),
            "kept across restarts"
        );
        assert_eq!(
            again.probed("local/some-model"),
            None,
            "probes are asked again"
        );
        assert_eq!(lesson(Some(6000), 9000, 8192), 6000);
        assert_eq!(lesson(None, 9000, 8192), 8100);
        assert_eq!(lesson(None, 90_000, 8192), 8192);
        assert_eq!(lesson(None, 100, 8192), MIN_WINDOW);
        assert_eq!(
            named(
                "This model's maximum context length is 6000 tokens. However, your messages resulted in 7412 tokens. Please reduce the length of the messages."
            ),
            (Some(6000), Some(7412))
        );
        assert_eq!(
            named("Requested tokens (3892) exceed context window of 2048"),
            (Some(2048), Some(3892))
        );
        assert_eq!(
            named("prompt is too long: 208310 tokens > 200000 maximum"),
            (Some(200_000), Some(208_310))
        );
        assert_eq!(named("server exploded"), (None, None));
    }
}
