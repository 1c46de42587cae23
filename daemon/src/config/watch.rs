//! Watching config files for changes, robust to every way editors save.
//!
//! Each file is watched through its parent directory (a watch on the file itself
//! dies at the first save-by-rename); a directory that does not exist yet is
//! watched through its nearest existing ancestor and picked up when it appears.
//! After each debounced burst, files are compared by content, so renames, vim's
//! write-to-temp-then-rename, in-place writes and delete-then-create all look the
//! same: "this file's content changed".

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// How long a burst of file events settles before files are re-read.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// Tells the watcher which files matter.
#[derive(Clone)]
pub struct FileWatcher {
    files: mpsc::UnboundedSender<(BTreeSet<PathBuf>, oneshot::Sender<()>)>,
}

impl FileWatcher {
    /// Replaces the set of watched files and waits until the watches are in place.
    pub async fn set_files(&self, files: BTreeSet<PathBuf>) {
        let (tx, rx) = oneshot::channel();
        if self.files.send((files, tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// The directory to watch for `file`: its parent, or the nearest existing ancestor.
fn watch_dir(file: &Path) -> Option<PathBuf> {
    let mut dir = file.parent()?;
    loop {
        if dir.is_dir() {
            return Some(dir.to_path_buf());
        }
        dir = dir.parent()?;
    }
}

fn content(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// Starts the watcher task; `changed` receives each watched file whose content
/// changed (a missing file counts as empty content).
pub fn start(
    tracker: &TaskTracker,
    cancel: CancellationToken,
    changed: mpsc::UnboundedSender<PathBuf>,
) -> FileWatcher {
    let (files_tx, mut files_rx) =
        mpsc::unbounded_channel::<(BTreeSet<PathBuf>, oneshot::Sender<()>)>();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<()>();
    tracker.spawn(async move {
        let handler = move |res: DebounceEventResult| {
            match res {
                Ok(events) if events.is_empty() => {}
                Ok(_) => {
                    let _ = ev_tx.send(());
                }
                Err(errors) => {
                    for e in errors {
                        warn!(error = %e, "file watch error");
                    }
                    // Something may have changed unseen; re-read to be sure.
                    let _ = ev_tx.send(());
                }
            }
        };
        let mut debouncer = match new_debouncer(DEBOUNCE, None, handler) {
            Ok(d) => d,
            Err(e) => {
                warn!(error = %e, "cannot watch config files; edits apply only after a restart");
                return;
            }
        };
        let mut files: BTreeSet<PathBuf> = BTreeSet::new();
        let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
        let mut seen: BTreeMap<PathBuf, Option<Vec<u8>>> = BTreeMap::new();
        loop {
            let mut ack = None;
            let rescan = tokio::select! {
                _ = cancel.cancelled() => return,
                f = files_rx.recv() => match f {
                    Some((f, done)) => {
                        ack = Some(done);
                        // New files get a baseline: their owner loaded them already.
                        for p in f.difference(&files) {
                            seen.insert(p.clone(), content(p));
                        }
                        seen.retain(|p, _| f.contains(p));
                        files = f;
                        false
                    }
                    None => return,
                },
                e = ev_rx.recv() => match e {
                    Some(()) => true,
                    None => return,
                },
            };
            let want: BTreeSet<PathBuf> = files.iter().filter_map(|f| watch_dir(f)).collect();
            for dir in watched.difference(&want) {
                let _ = debouncer.unwatch(dir);
            }
            for dir in want.difference(&watched) {
                match debouncer.watch(dir, RecursiveMode::NonRecursive) {
                    Ok(()) => debug!(dir = %dir.display(), "watching"),
                    Err(e) => warn!(dir = %dir.display(), error = %e, "cannot watch directory"),
                }
            }
            watched = want;
            // Only file events call for reading the files again. A new set of files
            // does not: the new ones got their baseline above and the others did not
            // change (re-reading them all per new session directory would make a
            // daemon start with many directories quadratic). A directory that
            // appears is itself an event on its parent, so it is read then.
            if rescan {
                for f in &files {
                    let now = content(f);
                    if seen.get(f) != Some(&now) {
                        seen.insert(f.clone(), now);
                        debug!(file = %f.display(), "config file changed");
                        let _ = changed.send(f.clone());
                    }
                }
            }
            if let Some(done) = ack {
                let _ = done.send(());
            }
        }
    });
    FileWatcher { files: files_tx }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    async fn next_change(rx: &mut mpsc::UnboundedReceiver<PathBuf>) -> PathBuf {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a change within 10 s")
            .expect("watcher alive")
    }

    async fn no_change(rx: &mut mpsc::UnboundedReceiver<PathBuf>) {
        // Long enough for a debounced burst to arrive if one were coming.
        let quiet = DEBOUNCE * 4;
        assert!(
            tokio::time::timeout(quiet, rx.recv()).await.is_err(),
            "unexpected change"
        );
    }

    #[tokio::test]
    async fn sees_every_kind_of_save() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config");
        let file = cfg.join("tools.toml");
        let tracker = TaskTracker::new();
        let cancel = CancellationToken::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let w = start(&tracker, cancel.clone(), tx);
        w.set_files([file.clone()].into()).await;

        // The directory appears later, with the file.
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(&file, "a").unwrap();
        assert_eq!(next_change(&mut rx).await, file);

        // In-place write.
        std::fs::write(&file, "b").unwrap();
        assert_eq!(next_change(&mut rx).await, file);

        // Save by rename (what most editors and `mv` do).
        let tmp = cfg.join(".tools.toml.tmp");
        std::fs::write(&tmp, "c").unwrap();
        std::fs::rename(&tmp, &file).unwrap();
        assert_eq!(next_change(&mut rx).await, file);

        // vim: rename the original away, write a new file, delete the backup.
        let backup = cfg.join("tools.toml~");
        std::fs::rename(&file, &backup).unwrap();
        std::fs::write(&file, "d").unwrap();
        std::fs::remove_file(&backup).unwrap();
        assert_eq!(next_change(&mut rx).await, file);

        // Deleted, then created again.
        std::fs::remove_file(&file).unwrap();
        assert_eq!(next_change(&mut rx).await, file);
        std::fs::write(&file, "e").unwrap();
        assert_eq!(next_change(&mut rx).await, file);

        // Other files in the directory, and a write of identical content, are quiet.
        std::fs::write(cfg.join("other.txt"), "x").unwrap();
        std::fs::write(&file, "e").unwrap();
        no_change(&mut rx).await;
        cancel.cancel();
        tracker.close();
        let t0 = Instant::now();
        tracker.wait().await;
        assert!(t0.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_burst_is_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".mcp.json");
        std::fs::write(&file, "0").unwrap();
        let tracker = TaskTracker::new();
        let cancel = CancellationToken::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let w = start(&tracker, cancel.clone(), tx);
        w.set_files([file.clone()].into()).await;
        for i in 1..=20 {
            std::fs::write(&file, i.to_string()).unwrap();
        }
        assert_eq!(next_change(&mut rx).await, file);
        no_change(&mut rx).await;
        cancel.cancel();
    }
}
