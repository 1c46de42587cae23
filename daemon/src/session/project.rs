//! The project's instructions of each session directory: `AGENTS.md`, or
//! `CLAUDE.md` when there is no `AGENTS.md`, read (capped at
//! [`MAX_PROJECT_FILE_BYTES`]), cached and watched.
//!
//! The registry attaches every session's directory as it creates or restores the
//! session and detaches it when the session goes. Both file names of every attached
//! directory are watched through config/watch.rs, like the tool config. When the text
//! in force changes (an edit, a file created or removed, `AGENTS.md` appearing beside
//! `CLAUDE.md`), the cache is updated first and the change is broadcast after, so a
//! session's next model call has the new text whether or not its actor has recorded
//! the `instructions_changed` event yet. Model calls read the cache, never the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

use crate::config::watch::{self, FileWatcher};

/// The project file names, in order of preference.
pub const PROJECT_FILE_NAMES: [&str; 2] = ["AGENTS.md", "CLAUDE.md"];

/// The most of a project file that goes into the system prompt; the rest is cut
/// and the prompt says so. A small model's whole window is a few KiB.
pub const MAX_PROJECT_FILE_BYTES: usize = 32 * 1024;

/// A project file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its text (invalid UTF-8 replaced), at most [`MAX_PROJECT_FILE_BYTES`].
    pub text: Arc<str>,
    /// The file's size when it was cut, in bytes.
    pub cut_from: Option<u64>,
}

/// A change of the project instructions of one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectChange {
    /// The directory whose sessions are concerned.
    pub dir: PathBuf,
    /// The file now in force, or the one that went away.
    pub path: PathBuf,
    /// True when the directory has no project file any more.
    pub removed: bool,
}

#[derive(Default)]
struct Dir {
    sessions: BTreeSet<String>,
    /// False until the first read; a change seen before it is no change to report.
    loaded: bool,
    file: Option<ProjectFile>,
}

/// The project files of every session directory.
pub struct ProjectInstructions {
    dirs: Mutex<BTreeMap<PathBuf, Dir>>,
    /// One read-and-store at a time, so an older read never overwrites a newer one.
    reload: tokio::sync::Mutex<()>,
    /// A broadcast: every actor hears every change and keeps those of its directory.
    changes: broadcast::Sender<ProjectChange>,
    watcher: Mutex<Option<FileWatcher>>,
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl ProjectInstructions {
    /// Nothing is watched until [`ProjectInstructions::start`].
    pub fn new(cancel: CancellationToken) -> Arc<Self> {
        Arc::new(ProjectInstructions {
            dirs: Mutex::new(BTreeMap::new()),
            reload: tokio::sync::Mutex::new(()),
            changes: broadcast::channel(256).0,
            watcher: Mutex::new(None),
            tracker: TaskTracker::new(),
            cancel,
        })
    }

    fn dirs(&self) -> MutexGuard<'_, BTreeMap<PathBuf, Dir>> {
        self.dirs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A receiver of changes, for a session actor.
    pub fn subscribe(&self) -> broadcast::Receiver<ProjectChange> {
        self.changes.subscribe()
    }

    /// Starts the file watcher.
    pub fn start(self: &Arc<Self>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
        let watcher = watch::start(&self.tracker, self.cancel.clone(), tx);
        *self.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(watcher);
        let me = self.clone();
        self.tracker.spawn(
            async move {
                loop {
                    tokio::select! {
                        _ = me.cancel.cancelled() => return,
                        p = rx.recv() => match p {
                            Some(path) => me.file_changed(&path).await,
                            None => return,
                        },
                    }
                }
            }
            .instrument(info_span!("instructions")),
        );
    }

    /// Stops the watcher, waiting a bounded time for its tasks.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(Duration::from_secs(5), self.tracker.wait())
            .await
            .is_err()
        {
            warn!("the project file watcher did not stop in time");
        }
    }

    /// The project file in force for sessions working in `dir` (None when there is
    /// none, or `dir` is not attached).
    pub fn current(&self, dir: &Path) -> Option<ProjectFile> {
        self.dirs().get(dir).and_then(|d| d.file.clone())
    }

    /// Registers a session working in `dir`: its project file is read (the first
    /// time for a directory) and watched from now on.
    pub async fn attach(&self, session_id: &str, dir: &Path) {
        let first = {
            let mut dirs = self.dirs();
            let d = dirs.entry(dir.to_path_buf()).or_default();
            d.sessions.insert(session_id.to_string());
            d.sessions.len() == 1
        };
        if first {
            // Watched before it is read: an edit between the two is then seen.
            self.refresh_watch().await;
        }
        let _one = self.reload.lock().await;
        if self.dirs().get(dir).is_none_or(|d| d.loaded) {
            return;
        }
        let file = read_in_background(dir.to_path_buf()).await;
        if let Some(d) = self.dirs().get_mut(dir) {
            d.file = file;
            d.loaded = true;
        }
    }

    /// Forgets a session; its directory is no longer watched when no other session
    /// works there.
    pub async fn detach(&self, session_id: &str) {
        let unused = {
            let mut dirs = self.dirs();
            let Some(dir) = dirs
                .iter_mut()
                .find_map(|(k, d)| d.sessions.remove(session_id).then(|| k.clone()))
            else {
                return;
            };
            let unused = dirs.get(&dir).is_some_and(|d| d.sessions.is_empty());
            if unused {
                dirs.remove(&dir);
            }
            unused
        };
        if unused {
            self.refresh_watch().await;
        }
    }

    async fn refresh_watch(&self) {
        let files: BTreeSet<PathBuf> = self
            .dirs()
            .keys()
            .flat_map(|d| PROJECT_FILE_NAMES.map(|n| d.join(n)))
            .collect();
        let watcher = self
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(w) = watcher {
            w.set_files(files).await;
        }
    }

    async fn file_changed(&self, path: &Path) {
        let Some(dir) = path.parent() else { return };
        let _one = self.reload.lock().await;
        if !self.dirs().contains_key(dir) {
            return;
        }
        let file = read_in_background(dir.to_path_buf()).await;
        let change = {
            let mut dirs = self.dirs();
            let Some(d) = dirs.get_mut(dir) else { return };
            let was_loaded = std::mem::replace(&mut d.loaded, true);
            let old = std::mem::replace(&mut d.file, file);
            match (&old, &d.file) {
                _ if !was_loaded || old == d.file => None,
                (_, Some(new)) => Some(ProjectChange {
                    dir: dir.to_path_buf(),
                    path: new.path.clone(),
                    removed: false,
                }),
                (Some(old), None) => Some(ProjectChange {
                    dir: dir.to_path_buf(),
                    path: old.path.clone(),
                    removed: true,
                }),
                (None, None) => None,
            }
        };
        if let Some(c) = change {
            info!(file = %c.path.display(), removed = c.removed, "project instructions changed");
            // No receiver is fine: no session is running.
            let _ = self.changes.send(c);
        }
    }
}

async fn read_in_background(dir: PathBuf) -> Option<ProjectFile> {
    tokio::task::spawn_blocking(move || read_project_file(&dir))
        .await
        .unwrap_or_else(|e| {
            warn!(error = %e, "reading the project file failed");
            None
        })
}

/// The project file of `dir`: `AGENTS.md` if it is a file, else `CLAUDE.md`, else none.
/// One that cannot be read is logged and passed over.
pub fn read_project_file(dir: &Path) -> Option<ProjectFile> {
    PROJECT_FILE_NAMES.iter().find_map(|name| {
        let path = dir.join(name);
        match read_capped(&path, MAX_PROJECT_FILE_BYTES) {
            Ok(f) => f,
            Err(e) => {
                warn!(file = %path.display(), error = %e, "cannot read the project file");
                None
            }
        }
    })
}

/// Reads at most `cap` bytes of `path`, cut at a character boundary; None when it
/// does not exist or is not a file.
fn read_capped(path: &Path, cap: usize) -> std::io::Result<Option<ProjectFile>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(cap as u64 + 1)
        .read_to_end(&mut buf)?;
    let cut = buf.len() > cap;
    let mut end = buf.len().min(cap);
    if cut
        && let Err(e) = std::str::from_utf8(&buf[..end])
        && e.error_len().is_none()
    {
        // A character split by the cap goes, rather than become a replacement mark.
        end = e.valid_up_to();
    }
    Ok(Some(ProjectFile {
        path: path.to_path_buf(),
        text: String::from_utf8_lossy(&buf[..end]).into(),
        cut_from: cut.then(|| meta.len().max(buf.len() as u64)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_md_wins_over_claude_md_and_a_big_file_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_project_file(dir.path()), None);
        std::fs::write(dir.path().join("CLAUDE.md"), "claude").unwrap();
        let f = read_project_file(dir.path()).unwrap();
        assert_eq!((&*f.text, f.cut_from), ("claude", None));
        assert!(f.path.ends_with("CLAUDE.md"));
        // A directory named AGENTS.md is not a project file.
        std::fs::create_dir(dir.path().join("AGENTS.md")).unwrap();
        assert!(
            read_project_file(dir.path())
                .unwrap()
                .path
                .ends_with("CLAUDE.md")
        );
        std::fs::remove_dir(dir.path().join("AGENTS.md")).unwrap();
        std::fs::write(dir.path().join("AGENTS.md"), "agents").unwrap();
        assert_eq!(&*read_project_file(dir.path()).unwrap().text, "agents");

        // 5 bytes, then a 2-byte character across the cap of 6.
        let big = dir.path().join("big.md");
        std::fs::write(&big, "abcdeé and more").unwrap();
        let f = read_capped(&big, 6).unwrap().unwrap();
        assert_eq!(&*f.text, "abcde");
        assert_eq!(f.cut_from, Some(16));
        let f = read_capped(&big, 100).unwrap().unwrap();
        assert_eq!((&*f.text, f.cut_from), ("abcdeé and more", None));
    }

    async fn next(rx: &mut broadcast::Receiver<ProjectChange>) -> ProjectChange {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a change within 10 s")
            .expect("a change")
    }

    #[tokio::test]
    async fn edits_reach_the_cache_then_the_sessions_of_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().to_path_buf();
        let agents = cwd.join("AGENTS.md");
        let claude = cwd.join("CLAUDE.md");
        std::fs::write(&claude, "one").unwrap();
        let p = ProjectInstructions::new(CancellationToken::new());
        p.start();
        let mut rx = p.subscribe();
        p.attach("s-1", &cwd).await;
        p.attach("s-2", &cwd).await;
        assert_eq!(&*p.current(&cwd).unwrap().text, "one");

        std::fs::write(&agents, "two").unwrap();
        let c = next(&mut rx).await;
        assert_eq!(
            (c.dir.as_path(), c.path.as_path(), c.removed),
            (&*cwd, &*agents, false)
        );
        assert_eq!(&*p.current(&cwd).unwrap().text, "two");

        // Back to CLAUDE.md, then nothing.
        std::fs::remove_file(&agents).unwrap();
        assert_eq!(next(&mut rx).await.path, claude);
        assert_eq!(&*p.current(&cwd).unwrap().text, "one");
        std::fs::remove_file(&claude).unwrap();
        let c = next(&mut rx).await;
        assert_eq!((c.path, c.removed), (claude.clone(), true));
        assert_eq!(p.current(&cwd), None);

        // Still watched while one session remains; not once both left.
        p.detach("s-1").await;
        std::fs::write(&claude, "three").unwrap();
        assert!(!next(&mut rx).await.removed);
        p.detach("s-2").await;
        assert_eq!(p.current(&cwd), None);
        std::fs::write(&claude, "four").unwrap();
        let quiet = tokio::time::timeout(watch::DEBOUNCE * 4, rx.recv()).await;
        assert!(quiet.is_err(), "a change for a directory nobody works in");
        p.shutdown().await;
    }
}
