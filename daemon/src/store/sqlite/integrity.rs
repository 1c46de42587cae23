//! The checks that find out how healthy `tether.db` is (the health itself is in
//! `health.rs`).
//!
//! SQLite reports some damage itself (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) and
//! `PRAGMA quick_check` finds more, but some damage reads as a smaller, valid
//! log: a b-tree page that lost cells, or a WAL with garbage in its middle, after
//! which SQLite silently drops every later (committed!) transaction. So besides
//! SQLite's own checks:
//! - every read of a session's events checks that the seqs it returns are
//!   contiguous and reach the session's recorded `last_seq` (kept in the sessions
//!   row, in the same transaction as the events);
//! - at open, before SQLite reads it, the WAL is scanned for committed frames
//!   past the point where SQLite's recovery would stop. Those commits are gone
//!   once SQLite has opened the file, so the finding is recorded in the
//!   `store_damage` table and reported until a person clears it.
//!
//! Full disks and I/O errors are reported as what they are, and the last failed
//! write is kept for `daemon status` until a write succeeds again.

use std::path::Path;

use rusqlite::{Connection, params};
use tracing::{info, warn};

use super::conn::open;
use super::error::damaged;
use super::health::HealthCell;
use crate::store::error::StoreError;

/// Created beside the main schema: findings that must outlive the evidence.
pub(super) const DAMAGE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS store_damage (\
     found_at TEXT NOT NULL, detail TEXT NOT NULL)";

/// The error for a store whose WAL lost committed transactions (see the module
/// header), or Ok.
pub(super) fn refuse_if_lost(path: &Path, health: &HealthCell) -> Result<(), StoreError> {
    if health.lost_commits() {
        return Err(damaged(
            path,
            "committed writes were lost from its write-ahead log, so any session's \
             log may be missing its newest events"
                .into(),
        ));
    }
    Ok(())
}

/// Reads what earlier starts recorded in `store_damage`.
pub(super) fn load_recorded(conn: &Connection, path: &Path, health: &HealthCell) {
    let rows: Result<Vec<(String, String)>, rusqlite::Error> = (|| {
        let mut st = conn.prepare("SELECT found_at, detail FROM store_damage ORDER BY found_at")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    })();
    match rows {
        Ok(rows) => {
            for (at, detail) in rows {
                health.update(|h| h.lost_commits = true);
                health.damaged(path, &format!("{detail} (found {at})"));
            }
        }
        Err(e) => health.damaged(path, &format!("cannot read store_damage: {e}")),
    }
}

/// Records a WAL finding so later starts report it too.
pub(super) fn record(conn: &Connection, path: &Path, health: &HealthCell, detail: &str) {
    let at = crate::util::now_rfc3339();
    if let Err(e) = conn.execute(
        "INSERT INTO store_damage (found_at, detail) VALUES (?1, ?2)",
        params![at, detail],
    ) {
        warn!(error = %e, "could not record the damage in the store; it is reported this time only");
    }
    health.update(|h| h.lost_commits = true);
    health.damaged(path, &format!("{detail} (found {at})"));
}

/// How long the background check waits before it starts: a start-up's own
/// reads (the index of every session) and its first requests come first. The
/// check reads the whole file (`quick_check`, every session's events), at
/// 100,000 sessions a 168 MB read, on the same cores as the restore and the
/// first `ls` (issue 13).
const CHECK_DELAY: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts the slow checks (`PRAGMA quick_check`, every session's seqs) on a
/// thread of their own, so a large store does not slow the start. The thread
/// only reads, and ends by itself; the daemon does not wait for it.
pub(super) fn check_in_background(path: &Path, health: &HealthCell) {
    let path = path.to_path_buf();
    let health = health.clone();
    let spawned = std::thread::Builder::new()
        .name("tether-store-check".into())
        .spawn(move || {
            std::thread::sleep(CHECK_DELAY);
            let t0 = std::time::Instant::now();
            match open(&path) {
                Ok(conn) => full_check(&conn, &path, &health),
                Err(e) => health.damaged(&path, &format!("cannot open it to check it: {e}")),
            }
            info!(
                ms = t0.elapsed().as_millis() as u64,
                damaged = !health.get().damage.is_empty(),
                "store check finished"
            );
        });
    if let Err(e) = spawned {
        warn!(error = %e, "could not start the store check");
    }
}

fn full_check(conn: &Connection, path: &Path, health: &HealthCell) {
    let quick: Result<Vec<String>, rusqlite::Error> = (|| {
        let mut st = conn.prepare("PRAGMA quick_check(5)")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    })();
    match quick {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => {}
        Ok(lines) => health.damaged(path, &format!("quick_check: {}", lines.join("; "))),
        Err(e) => health.damaged(path, &format!("quick_check failed: {e}")),
    }
    // (name, last_seq, count, min seq, max seq) per session.
    type Seqs = (String, u64, u64, u64, u64);
    let seqs: Result<Vec<Seqs>, rusqlite::Error> = (|| {
        let mut st = conn.prepare(
            "SELECT s.name, s.last_seq, count(e.seq), coalesce(min(e.seq), 0), \
             coalesce(max(e.seq), 0) FROM sessions s LEFT JOIN events e ON e.session_id = s.id \
             GROUP BY s.id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
                r.get::<_, i64>(4)? as u64,
            ))
        })?;
        rows.collect()
    })();
    match seqs {
        Ok(rows) => {
            for (name, last_seq, count, lo, hi) in rows {
                let complete = if last_seq == 0 {
                    count == 0
                } else {
                    count == last_seq && lo == 1 && hi == last_seq
                };
                if !complete {
                    health.damaged(
                        path,
                        &format!(
                            "session {name:?} has {count} events (seqs {lo}..{hi}) but its log \
                             ends at seq {last_seq}"
                        ),
                    );
                }
            }
        }
        Err(e) => health.damaged(path, &format!("checking the sessions' seqs failed: {e}")),
    }
}

/// Scans `PATH-wal` (before SQLite opens it) for committed frames that SQLite's
/// recovery would drop: frames of the current WAL generation that pass their own
/// checksum and end a transaction, found after the first frame that does not.
/// Returns what it found, or None for a healthy (or absent) WAL.
pub(super) fn scan_wal(db: &Path) -> Option<String> {
    let mut wal_path = db.as_os_str().to_owned();
    wal_path.push("-wal");
    let wal = std::fs::read(&wal_path).ok()?;
    scan_wal_bytes(&wal).map(|found| {
        format!(
            "{} has {found}; SQLite drops them, so the newest events of some sessions are missing",
            Path::new(&wal_path).display()
        )
    })
}

const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// SQLite's WAL checksum (the format's documented Fibonacci-weighted sum).
fn wal_checksum(big_endian: bool, data: &[u8], mut s0: u32, mut s1: u32) -> (u32, u32) {
    let word = |i: usize| {
        let w = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let mut i = 0;
    while i + 8 <= data.len() {
        s0 = s0.wrapping_add(word(i)).wrapping_add(s1);
        s1 = s1.wrapping_add(word(i + 4)).wrapping_add(s0);
        i += 8;
    }
    (s0, s1)
}

fn scan_wal_bytes(wal: &[u8]) -> Option<String> {
    if wal.len() < WAL_HEADER + FRAME_HEADER {
        return None;
    }
    let magic = be32(wal, 0);
    let big_endian = match magic {
        0x377f_0683 => true,
        0x377f_0682 => false,
        // Not a WAL header at all: judged by the frames below.
        _ => true,
    };
    let page_size = be32(wal, 8) as usize;
    let header_ok = (magic & 0xffff_fffe) == 0x377f_0682
        && page_size.is_power_of_two()
        && (512..=65536).contains(&page_size)
        && wal_checksum(big_endian, &wal[..24], 0, 0) == (be32(wal, 24), be32(wal, 28));
    // With a broken header, the page size and salts are guessed from the first frame.
    let page_size = if header_ok {
        page_size
    } else {
        [4096, 1024, 2048, 8192, 16384, 32768, 65536, 512]
            .into_iter()
            .find(|&ps| wal.len() >= WAL_HEADER + 2 * (FRAME_HEADER + ps))?
    };
    let frame = FRAME_HEADER + page_size;
    let frames = (wal.len() - WAL_HEADER) / frame;
    let salts = if header_ok {
        (be32(wal, 16), be32(wal, 20))
    } else {
        (be32(wal, WAL_HEADER + 8), be32(wal, WAL_HEADER + 12))
    };
    let at = |i: usize| WAL_HEADER + i * frame;
    // Does frame i pass its checksum, given the checksum stored before it?
    let verifies = |i: usize, prev: (u32, u32)| {
        let f = &wal[at(i)..at(i) + frame];
        let (s0, s1) = wal_checksum(big_endian, &f[..8], prev.0, prev.1);
        let (s0, s1) = wal_checksum(big_endian, &f[FRAME_HEADER..], s0, s1);
        (be32(f, 8), be32(f, 12)) == salts && (s0, s1) == (be32(f, 16), be32(f, 20))
    };
    let stored = |i: usize| (be32(wal, at(i) + 16), be32(wal, at(i) + 20));
    let is_commit = |i: usize| be32(wal, at(i) + 4) != 0;
    // The valid prefix, as SQLite's recovery reads it.
    let mut break_at = if header_ok { None } else { Some(0) };
    if header_ok {
        let mut prev = (be32(wal, 24), be32(wal, 28));
        for i in 0..frames {
            if !verifies(i, prev) {
                break_at = Some(i);
                break;
            }
            prev = stored(i);
        }
    }
    let first_bad = break_at?;
    // Past the break, each frame is checked against the checksum stored in the
    // frame before it: a committed transaction there was written whole.
    let lost = (first_bad.max(1)..frames)
        .filter(|&i| is_commit(i) && verifies(i, stored(i - 1)))
        .count();
    (lost > 0).then(|| {
        format!(
            "a damaged frame ({}) followed by {lost} committed transaction(s)",
            first_bad + 1
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_of(db: &Path) -> Vec<u8> {
        let mut p = db.as_os_str().to_owned();
        p.push("-wal");
        std::fs::read(p).unwrap()
    }

    /// A database left mid-life with several committed transactions in its WAL.
    fn crashed_db(dir: &Path) -> std::path::PathBuf {
        let db = dir.join("t.db");
        let conn = Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (x TEXT)").unwrap();
        for i in 0..20 {
            conn.execute(
                "INSERT INTO t VALUES (?1)",
                params![format!("{i}{}", "x".repeat(3000))],
            )
            .unwrap();
        }
        // Keep the WAL as a crash would: copy it while the connection is open.
        let wal = wal_of(&db);
        std::fs::write(dir.join("saved-wal"), &wal).unwrap();
        drop(conn);
        std::fs::remove_file(&db).ok();
        db
    }

    #[test]
    fn a_healthy_wal_reports_nothing_and_garbage_in_its_middle_is_found() {
        let dir = tempfile::tempdir().unwrap();
        crashed_db(dir.path());
        let mut wal = std::fs::read(dir.path().join("saved-wal")).unwrap();
        assert!(scan_wal_bytes(&wal).is_none());
        let mid = wal.len() / 2;
        for b in &mut wal[mid..mid + 100] {
            *b ^= 0x5a;
        }
        let found = scan_wal_bytes(&wal).expect("damage found");
        assert!(found.contains("committed transaction"), "{found}");
        // A torn last frame (a crash mid-write) loses nothing committed.
        let mut torn = std::fs::read(dir.path().join("saved-wal")).unwrap();
        let n = torn.len();
        for b in &mut torn[n - 50..] {
            *b = 0;
        }
        assert!(scan_wal_bytes(&torn).is_none());
        // A broken header makes SQLite ignore the whole WAL.
        let mut header = std::fs::read(dir.path().join("saved-wal")).unwrap();
        header[24] ^= 1;
        assert!(scan_wal_bytes(&header).is_some());
    }
}
