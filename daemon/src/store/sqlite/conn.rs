//! Opening a connection to `tether.db`, configured alike for the writer, the
//! readers and the background check.

use std::path::Path;

use rusqlite::Connection;

/// A connection with the store's pragmas.
pub(super) fn open(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk before `send` or a client sees it, so a power loss
    // does not lose what was acknowledged (DESIGN.md guarantee 2).
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}
