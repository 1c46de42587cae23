//! File triggers (issue 15): a recursive watch of a session's directory with
//! the crates the tool config's watcher uses (`notify`, debounced by
//! `notify-debouncer-full` with the same [`DEBOUNCE`]), whose changed paths
//! that match a glob are reported, relative to the directory. `.git/` and
//! `.tether/` are never reported.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use notify::RecursiveMode;
use notify::event::EventKind;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;
use tracing::warn;

use crate::config::watch::DEBOUNCE;

/// Directories whose changes never fire a trigger: git's own, and tether's
/// (worktrees and other state live under `.tether/`).
const IGNORED: [&str; 2] = [".git", ".tether"];

/// A trigger's glob. One without `/` matches a file's name at any depth
/// (`*.txt` matches `notes/a.txt`); one with `/` matches the path relative to
/// the session's directory (`src/**/*.rs`). `*` never crosses a `/`.
#[derive(Debug, Clone)]
pub struct Glob {
    matcher: GlobMatcher,
    by_name: bool,
}

impl Glob {
    /// Checks a glob; the error is one line for a person.
    pub fn new(text: &str) -> Result<Glob, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("--on-change needs a glob, like \"*.txt\" or \"src/**/*.rs\"".into());
        }
        if t.starts_with('/') {
            return Err(format!(
                "bad glob {t:?}: it is relative to the session's directory, so it cannot start with /"
            ));
        }
        let glob = GlobBuilder::new(t)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("bad glob {t:?}: {}", e.kind()))?;
        Ok(Glob {
            matcher: glob.compile_matcher(),
            by_name: !t.contains('/'),
        })
    }

    /// Whether a path relative to the session's directory matches.
    pub fn matches(&self, rel: &Path) -> bool {
        if rel.components().any(|c| match c {
            Component::Normal(n) => IGNORED.iter().any(|i| n == *i),
            _ => false,
        }) {
            return false;
        }
        if self.by_name {
            rel.file_name()
                .is_some_and(|n| self.matcher.is_match(Path::new(n)))
        } else {
            self.matcher.is_match(rel)
        }
    }
}

/// A running watch; dropping it stops it.
pub struct Trigger {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Watches `dir` and sends `(id, paths)` for each debounced burst of changes
/// with paths matching `glob` (relative to `dir`, sorted, each once).
pub fn watch(
    id: u64,
    dir: &Path,
    glob: Glob,
    tx: mpsc::UnboundedSender<(u64, Vec<String>)>,
) -> Result<Trigger, String> {
    let root: PathBuf = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let base = root.clone();
    let handler = move |res: DebounceEventResult| {
        let events = match res {
            Ok(events) => events,
            Err(errors) => {
                for e in errors {
                    warn!(schedule = id, error = %e, "file trigger watch error");
                }
                return;
            }
        };
        let mut paths = BTreeSet::new();
        for ev in events {
            if matches!(ev.kind, EventKind::Access(_) | EventKind::Other) {
                continue;
            }
            for p in &ev.paths {
                let Ok(rel) = p.strip_prefix(&base) else {
                    continue;
                };
                if glob.matches(rel) {
                    paths.insert(rel.to_string_lossy().into_owned());
                }
            }
        }
        if !paths.is_empty() {
            let _ = tx.send((id, paths.into_iter().collect()));
        }
    };
    let mut debouncer =
        new_debouncer(DEBOUNCE, None, handler).map_err(|e| format!("cannot watch files: {e}"))?;
    debouncer
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
    Ok(Trigger {
        _debouncer: debouncer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn globs_match_names_at_any_depth_or_relative_paths() {
        let g = Glob::new("*.txt").unwrap();
        assert!(g.matches(Path::new("a.txt")));
        assert!(g.matches(Path::new("notes/b.txt")));
        assert!(!g.matches(Path::new("a.md")));
        assert!(!g.matches(Path::new(".git/a.txt")));
        assert!(!g.matches(Path::new(".tether/worktrees/w/a.txt")));
        let g = Glob::new("src/**/*.rs").unwrap();
        assert!(g.matches(Path::new("src/a/b.rs")));
        assert!(g.matches(Path::new("src/b.rs")));
        assert!(!g.matches(Path::new("tests/b.rs")));
        let g = Glob::new("src/*.rs").unwrap();
        assert!(!g.matches(Path::new("src/a/b.rs")), "* does not cross /");
        assert!(Glob::new("").is_err());
        assert!(Glob::new("/etc/*").is_err());
        assert!(Glob::new("a[").unwrap_err().starts_with("bad glob \"a[\""));
    }

    #[tokio::test]
    async fn a_change_under_the_directory_is_reported_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _t = watch(9, dir.path(), Glob::new("*.txt").unwrap(), tx).unwrap();
        std::fs::write(dir.path().join(".git").join("x.txt"), "no").unwrap();
        std::fs::write(dir.path().join("skip.md"), "no").unwrap();
        std::fs::write(dir.path().join("sub").join("a.txt"), "yes").unwrap();
        let (id, paths) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a change reported within 5 s")
            .unwrap();
        assert_eq!(id, 9);
        assert_eq!(paths, vec!["sub/a.txt".to_string()]);
    }
}
