//! Full-text search of the logs: an FTS5 index of every searchable event's text
//! (what is searchable is `store/search.rs`'s to say), kept in the same
//! transaction as the events it indexes.
//!
//! The index is contentless (`content=''`): the text is in `events` already, so
//! the index holds only its tokens. `event_text_keys` maps an index row to its
//! event, with an index on the session, so a session's rows are found (for a
//! search, or to delete them with the session) without reading anyone else's.
//! `contentless_delete=1` (SQLite 3.43) lets those rows be deleted.
//!
//! User text never reaches FTS5's query language as such: each word is quoted as
//! a phrase (see [`fts_query`]), so quotes, `*`, `-`, `AND`, `NEAR(` and the like
//! are text to look for, never a syntax error.

use rusqlite::{Connection, params};
use tether_shared::Event;
use tracing::info;

use super::error::SqlError;
use crate::store::search::{excerpt, searchable, words};
use crate::store::types::SearchHit;

/// Migration 2: the index and its keys (the backfill is [`backfill`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS event_text_keys (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    UNIQUE (session_id, seq)
);
CREATE VIRTUAL TABLE IF NOT EXISTS event_text USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
"#;

/// Indexes the searchable ones of `events`, which were just stored for session `id`.
pub(super) fn index(c: &Connection, id: &str, events: &[Event]) -> Result<(), SqlError> {
    let mut key =
        c.prepare_cached("INSERT INTO event_text_keys (session_id, seq) VALUES (?1, ?2)")?;
    let mut text = c.prepare_cached("INSERT INTO event_text (rowid, text) VALUES (?1, ?2)")?;
    for ev in events {
        if let Some(s) = searchable(ev) {
            let row = key.insert(params![id, ev.seq as i64])?;
            text.execute(params![row, s.text])?;
        }
    }
    Ok(())
}

/// Removes session `id`'s rows from the index (its events are being deleted).
pub(super) fn forget(c: &Connection, id: &str) -> Result<(), SqlError> {
    c.execute(
        "DELETE FROM event_text WHERE rowid IN (SELECT id FROM event_text_keys WHERE session_id = ?1)",
        params![id],
    )?;
    c.execute(
        "DELETE FROM event_text_keys WHERE session_id = ?1",
        params![id],
    )?;
    Ok(())
}

/// The types [`searchable`] may index; the stored events of other types are not read.
const TYPES: &str = "('user_message', 'assistant_message', 'tool_call', 'tool_result')";

/// Indexes session `id`'s stored events `from..=to` (ones copied as rows, by a fork).
pub(super) fn index_stored(c: &Connection, id: &str, from: u64, to: u64) -> Result<(), SqlError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT body FROM events WHERE session_id = ?1 AND seq >= ?2 AND seq <= ?3 \
         AND type IN {TYPES} ORDER BY seq"
    ))?;
    let to = to.min(i64::MAX as u64) as i64;
    let mut rows = st.query(params![id, from.min(i64::MAX as u64) as i64, to])?;
    while let Some(row) = rows.next()? {
        let ev: Event = serde_json::from_str(&row.get::<_, String>(0)?)?;
        index(c, id, std::slice::from_ref(&ev))?;
    }
    Ok(())
}

/// Migration 2's second step: indexes the events stored before the index existed.
pub(super) fn backfill(c: &Connection) -> Result<(), SqlError> {
    let mut st = c.prepare(&format!(
        "SELECT session_id, body FROM events WHERE type IN {TYPES} ORDER BY session_id, seq"
    ))?;
    let mut rows = st.query([])?;
    let mut indexed = 0u64;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let ev: Event = serde_json::from_str(&row.get::<_, String>(1)?)?;
        index(c, &id, std::slice::from_ref(&ev))?;
        indexed += 1;
    }
    if indexed > 0 {
        info!(events = indexed, "stored events indexed for search");
    }
    Ok(())
}

/// The FTS5 query for `words`: each one a quoted phrase (a `"` in it doubled),
/// all of them required (`every`) or any.
pub(super) fn fts_query(words: &[String], every: bool) -> String {
    let phrases: Vec<String> = words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    phrases.join(if every { " " } else { " OR " })
}

/// The FTS5 query a person's search box means: every word required, each a
/// quoted phrase, the last one also as the start of a longer word (`"lin"*`
/// finds `linker`), so a match shows up while a word is still being typed.
pub(super) fn fts_prefix_query(words: &[String]) -> String {
    let mut q = fts_query(words, true);
    if !q.is_empty() {
        q.push('*');
    }
    q
}

/// Session `id`'s events matching `query` as a search box means it (see
/// [`fts_prefix_query`]), newest first, at most `limit`
/// (see [`crate::store::Store::search_newest`]).
pub(super) fn search_newest(
    c: &Connection,
    id: &str,
    query: &str,
    limit: usize,
) -> Result<Vec<SearchHit>, SqlError> {
    let words = words(query);
    if words.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let mut st = c.prepare_cached(
        "SELECT e.body FROM event_text f \
         JOIN event_text_keys k ON k.id = f.rowid \
         JOIN events e ON e.session_id = k.session_id AND e.seq = k.seq \
         WHERE event_text MATCH ?1 AND k.session_id = ?2 \
         ORDER BY k.seq DESC LIMIT ?3",
    )?;
    let limit = limit.min(i64::MAX as usize) as i64;
    let rows = st.query_map(params![fts_prefix_query(&words), id, limit], |r| {
        r.get::<_, String>(0)
    })?;
    hits(rows, &words)
}

/// The events whose bodies `rows` gives, as hits with an excerpt around `words`.
fn hits(
    rows: impl Iterator<Item = rusqlite::Result<String>>,
    words: &[String],
) -> Result<Vec<SearchHit>, SqlError> {
    let mut out = Vec::new();
    for body in rows {
        let ev: Event = serde_json::from_str(&body?)?;
        let Some(s) = searchable(&ev) else { continue };
        out.push(SearchHit {
            seq: ev.seq,
            ts: ev.ts.clone(),
            kind: ev.kind.type_name().to_owned(),
            tool: s.tool,
            excerpt: excerpt(&s.text, words),
        });
    }
    Ok(out)
}

/// Session `id`'s events matching `query` (see [`crate::store::Store::search_events`]),
/// best first (BM25; newer first among equals).
pub(super) fn search(
    c: &Connection,
    id: &str,
    query: &str,
    every_word: bool,
    limit: usize,
) -> Result<Vec<SearchHit>, SqlError> {
    let words = words(query);
    if words.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    // The best `limit` first, then their bodies: ranking with the bodies in hand
    // would carry every match's body through the sort.
    let mut st = c.prepare_cached(
        "SELECT e.body FROM ( \
             SELECT k.session_id AS sid, k.seq AS seq, f.rank AS score FROM event_text f \
             JOIN event_text_keys k ON k.id = f.rowid \
             WHERE event_text MATCH ?1 AND k.session_id = ?2 \
             ORDER BY f.rank, k.seq DESC LIMIT ?3 \
         ) best JOIN events e ON e.session_id = best.sid AND e.seq = best.seq \
         ORDER BY best.score, best.seq DESC",
    )?;
    let limit = limit.min(i64::MAX as usize) as i64;
    let rows = st.query_map(params![fts_query(&words, every_word), id, limit], |r| {
        r.get::<_, String>(0)
    })?;
    hits(rows, &words)
}
