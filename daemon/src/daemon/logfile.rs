//! The daemon's log file (`daemon.log` in the state dir): a writer that can never
//! take the daemon down.
//!
//! Logging runs inside every task. A writer that returns an error makes
//! `tracing-subscriber` print a complaint to stderr, and `eprintln!` panics when
//! stderr (a file on the same full disk) cannot be written; a panic while a
//! `Mutex<File>` writer is held poisons it, and every later log line panics too.
//! So this writer reports success always: a line that cannot be written is
//! dropped and counted, and the count is written to the log (and shown by
//! `tether daemon status`) once writing works again. The lock it takes is never
//! held across a panic, and a poisoned lock is simply taken over.
//!
//! It also rotates while running: a line that would take the file past its limit
//! first moves it to `daemon.log.1` (replacing an older one).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The size past which `daemon.log` is moved to `daemon.log.1`.
pub const ROTATE_BYTES: u64 = 16 * 1024 * 1024;

/// A cloneable handle on the log file; [`LogFile::writer`] makes one line's writer.
#[derive(Clone)]
pub struct LogFile {
    inner: Arc<Mutex<Inner>>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for LogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFile")
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

struct Inner {
    path: PathBuf,
    /// None after an open failed; opening is tried again at the next line.
    file: Option<File>,
    size: u64,
    limit: u64,
    echo_stderr: bool,
    /// Dropped since the last note in the file.
    unreported: u64,
    /// A failed write may have left half a line in the file.
    broken_line: bool,
}

fn open_append(path: &Path) -> std::io::Result<(File, u64)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((file, size))
}

fn rotated(path: &Path) -> PathBuf {
    let mut old = path.as_os_str().to_owned();
    old.push(".1");
    PathBuf::from(old)
}

impl LogFile {
    /// Opens `path` for appending, rotating it first when it is past [`ROTATE_BYTES`];
    /// with `echo_stderr` every line also goes to stderr (a foreground daemon).
    pub fn open(path: &Path, echo_stderr: bool) -> std::io::Result<LogFile> {
        LogFile::open_with_limit(path, echo_stderr, ROTATE_BYTES)
    }

    /// [`LogFile::open`] with another rotation size.
    pub fn open_with_limit(path: &Path, echo_stderr: bool, limit: u64) -> std::io::Result<LogFile> {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > limit) {
            let _ = std::fs::rename(path, rotated(path));
        }
        let (file, size) = open_append(path)?;
        Ok(LogFile {
            inner: Arc::new(Mutex::new(Inner {
                path: path.to_path_buf(),
                file: Some(file),
                size,
                limit,
                echo_stderr,
                unreported: 0,
                broken_line: false,
            })),
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A writer for one log line; the line is written when the writer is dropped.
    pub fn writer(&self) -> LogLine {
        LogLine {
            log: self.clone(),
            buf: Vec::new(),
        }
    }

    /// Log lines that could not be written since the daemon started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn write_line(&self, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.echo_stderr {
            // A closed or full stderr must not stop the file from getting the line.
            let _ = std::io::stderr().write_all(line);
        }
        if inner.write(line) {
            return;
        }
        inner.unreported += 1;
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

impl Inner {
    /// Writes the line (after a note on lines dropped before it); false when it
    /// could not be written.
    fn write(&mut self, line: &[u8]) -> bool {
        let mut out = Vec::with_capacity(line.len() + 160);
        if self.broken_line {
            out.push(b'\n');
        }
        if self.unreported > 0 {
            out.extend_from_slice(
                format!(
                    "{}  WARN tether_daemon::logfile: log lines were dropped because writing {} failed (a full disk?) dropped={}\n",
                    crate::util::now_rfc3339(),
                    self.path.display(),
                    self.unreported
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(line);
        if self.size + out.len() as u64 > self.limit && self.size > 0 {
            self.rotate();
        }
        if self.file.is_none() {
            match open_append(&self.path) {
                Ok((file, size)) => {
                    self.file = Some(file);
                    self.size = size;
                }
                Err(_) => return false,
            }
        }
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        match file.write_all(&out) {
            Ok(()) => {
                self.size += out.len() as u64;
                self.unreported = 0;
                self.broken_line = false;
                true
            }
            Err(_) => {
                // Part of it may be in the file: start the next line on a line of its own.
                self.broken_line = true;
                self.size = file.metadata().map(|m| m.len()).unwrap_or(self.size);
                false
            }
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        // A failed rename leaves the file where it is: writing goes on in it.
        let _ = std::fs::rename(&self.path, rotated(&self.path));
    }
}

/// One log line being formatted; written to the file when dropped, so a failed
/// write can never reach the caller.
pub struct LogLine {
    log: LogFile,
    buf: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        self.log.write_line(&self.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(log: &LogFile, text: &str) {
        let mut w = log.writer();
        w.write_all(text.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
    }

    #[test]
    fn a_failing_disk_drops_and_counts_lines_and_never_fails_the_caller() {
        // /dev/full fails every write with ENOSPC, like a full state disk.
        let log = LogFile::open(Path::new("/dev/full"), false).unwrap();
        for i in 0..3 {
            let mut w = log.writer();
            assert!(w.write_all(format!("line {i}\n").as_bytes()).is_ok());
            assert!(w.flush().is_ok());
        }
        assert_eq!(log.dropped(), 3);
    }

    #[test]
    fn the_dropped_count_is_written_once_writing_works_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.log");
        let log = LogFile::open(&path, false).unwrap();
        line(&log, "before");
        // Make writes fail: the file handle now points at /dev/full.
        {
            let mut inner = log.inner.lock().unwrap();
            inner.file = Some(OpenOptions::new().write(true).open("/dev/full").unwrap());
        }
        line(&log, "lost one");
        line(&log, "lost two");
        assert_eq!(log.dropped(), 2);
        // The disk is back (the next line reopens the file).
        log.inner.lock().unwrap().file = None;
        line(&log, "after");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines[0], "before");
        assert!(
            lines[1].contains("log lines were dropped") && lines[1].ends_with("dropped=2"),
            "{text}"
        );
        assert_eq!(lines[2], "after");
        assert!(!text.contains("lost"), "{text}");
        line(&log, "later");
        assert_eq!(
            std::fs::read_to_string(&path)
                .unwrap()
                .matches("were dropped")
                .count(),
            1
        );
    }

    #[test]
    fn a_poisoned_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.log");
        let log = LogFile::open(&path, false).unwrap();
        let poison = log.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poison.inner.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(log.inner.is_poisoned());
        line(&log, "still logging");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("still logging")
        );
    }

    #[test]
    fn the_log_rotates_by_size_while_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.log");
        let log = LogFile::open_with_limit(&path, false, 100).unwrap();
        for i in 0..10 {
            line(&log, &format!("line {i:02} {}", "x".repeat(20)));
        }
        let current = std::fs::read_to_string(&path).unwrap();
        let old = std::fs::read_to_string(rotated(&path)).unwrap();
        assert!(current.len() <= 100, "{current}");
        assert!(old.len() <= 100, "{old}");
        assert!(current.contains("line 09"), "{current}");
        assert!(old.contains("line 06"), "{old}");
    }

    #[test]
    fn a_large_log_is_rotated_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.log");
        std::fs::write(&path, "y".repeat(200)).unwrap();
        let log = LogFile::open_with_limit(&path, false, 100).unwrap();
        line(&log, "fresh");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "fresh\n");
        assert_eq!(std::fs::read_to_string(rotated(&path)).unwrap().len(), 200);
    }
}
