//! Full-text search of the logs in PostgreSQL: each searchable event's words
//! (what is searchable is `store/search.rs`'s to say) as a `tsvector` in
//! `event_text`, written in the same transaction as the event.
//!
//! The words are made here, not by a PostgreSQL text-search configuration, so
//! that they are the ones SQLite's `unicode61 remove_diacritics 2` tokenizer
//! makes (runs of letters and digits, lower-cased, diacritics removed) and a
//! search finds what the SQLite store finds, on any server, with no extension.
//! The query is built the same way ([`tsquery`]): each word of the query a
//! phrase of its words (`foo_bar` is `foo <-> bar`), all of them required or
//! any, the last one also as a prefix for a person's search box. Words are
//! letters and digits only, so nothing a user types is query syntax.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tether_shared::Event;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::conn::Tx;
use super::error::PgError;
use crate::store::search::{excerpt, searchable, words};
use crate::store::types::SearchHit;

/// PostgreSQL refuses a lexeme longer than 2047 bytes; a longer word is kept
/// (and searched) by its first ones.
const MAX_WORD: usize = 2000;
/// Positions past this one all read as it (PostgreSQL's own limit).
const MAX_POS: usize = 16383;
/// A `tsvector` holds at most 1 MB; the words of a text past this size are not
/// indexed.
const MAX_VECTOR: usize = 900_000;

/// The words of `text`, in order: its runs of letters and digits, lower-cased,
/// with diacritics removed (`Café` is `cafe`).
pub(super) fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter_map(|w| {
            let mut t: String = w
                .nfd()
                .filter(|c| !is_combining_mark(*c))
                .flat_map(char::to_lowercase)
                .collect();
            if t.len() > MAX_WORD {
                let mut end = MAX_WORD;
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t.truncate(end);
            }
            (!t.is_empty()).then_some(t)
        })
        .collect()
}

/// The `tsvector` literal of `text`'s words with their positions.
pub(super) fn tsvector(text: &str) -> String {
    let mut at: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, t) in tokens(text).into_iter().enumerate() {
        let pos = at.entry(t).or_default();
        // PostgreSQL keeps 256 positions of a word.
        if pos.len() < 256 {
            pos.push((i + 1).min(MAX_POS));
        }
    }
    let mut out = String::new();
    for (word, pos) in at {
        if out.len() + word.len() > MAX_VECTOR {
            break;
        }
        let mut pos = pos;
        pos.dedup();
        let _ = write!(out, "{}:", quote(&word));
        let list: Vec<String> = pos.iter().map(usize::to_string).collect();
        out.push_str(&list.join(","));
        out.push(' ');
    }
    out
}

/// A lexeme quoted for a `tsvector` or `tsquery` literal.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''"))
}

/// The `tsquery` for the query's `words`: each one a phrase of its tokens, all
/// of them required (`every`) or any; the last word's last token also as a
/// prefix when `prefix`. `None` when no word has a token.
pub(super) fn tsquery(words: &[String], every: bool, prefix: bool) -> Option<String> {
    let mut phrases: Vec<String> = words
        .iter()
        .map(|w| tokens(w).iter().map(|t| quote(t)).collect::<Vec<_>>())
        .filter(|p| !p.is_empty())
        .map(|p| p.join(" <-> "))
        .collect();
    if phrases.is_empty() {
        return None;
    }
    if prefix && let Some(last) = phrases.last_mut() {
        last.push_str(":*");
    }
    let joined: Vec<String> = phrases.into_iter().map(|p| format!("({p})")).collect();
    Some(joined.join(if every { " & " } else { " | " }))
}

/// Indexes the searchable ones of `events`, which were just stored for session `id`.
pub(super) async fn index(tx: &Tx<'_>, id: &str, events: &[Event]) -> Result<(), PgError> {
    let st = tx
        .prepare_cached(
            "INSERT INTO event_text (session_id, seq, words) VALUES ($1, $2, $3::text::tsvector)",
        )
        .await?;
    for ev in events {
        if let Some(s) = searchable(ev) {
            tx.execute(&st, &[&id, &(ev.seq as i64), &tsvector(&s.text)])
                .await?;
        }
    }
    Ok(())
}

/// Session `id`'s events matching `query` (see [`crate::store::Store::search_events`]),
/// best first (rank by word frequency and text length; newer first among equals).
pub(super) async fn search(
    tx: &Tx<'_>,
    id: &str,
    query: &str,
    every_word: bool,
    limit: usize,
) -> Result<Vec<SearchHit>, PgError> {
    let words = words(query);
    let Some(q) = tsquery(&words, every_word, false) else {
        return Ok(Vec::new());
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = tx
        .query(
            "SELECT e.body FROM ( \
                 SELECT t.seq, ts_rank(t.words, $2::text::tsquery, 1) AS score FROM event_text t \
                 WHERE t.session_id = $1 AND t.words @@ $2::text::tsquery \
                 ORDER BY score DESC, t.seq DESC LIMIT $3 \
             ) best JOIN events e ON e.session_id = $1 AND e.seq = best.seq \
             ORDER BY best.score DESC, best.seq DESC",
            &[&id, &q, &(limit.min(i64::MAX as usize) as i64)],
        )
        .await?;
    hits(rows.iter().map(|r| r.get::<_, String>(0)), &words)
}

/// Session `id`'s events holding every word of `query`, the last also as a
/// prefix, newest first (see [`crate::store::Store::search_newest`]).
pub(super) async fn search_newest(
    tx: &Tx<'_>,
    id: &str,
    query: &str,
    limit: usize,
) -> Result<Vec<SearchHit>, PgError> {
    let words = words(query);
    let Some(q) = tsquery(&words, true, true) else {
        return Ok(Vec::new());
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = tx
        .query(
            "SELECT e.body FROM event_text t \
             JOIN events e ON e.session_id = t.session_id AND e.seq = t.seq \
             WHERE t.session_id = $1 AND t.words @@ $2::text::tsquery \
             ORDER BY t.seq DESC LIMIT $3",
            &[&id, &q, &(limit.min(i64::MAX as usize) as i64)],
        )
        .await?;
    hits(rows.iter().map(|r| r.get::<_, String>(0)), &words)
}

/// The events whose bodies `rows` gives, as hits with an excerpt around `words`.
fn hits(rows: impl Iterator<Item = String>, words: &[String]) -> Result<Vec<SearchHit>, PgError> {
    let mut out = Vec::new();
    for body in rows {
        let ev: Event = serde_json::from_str(&body)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_letters_and_digits_lower_cased_without_diacritics() {
        assert_eq!(
            tokens("Café au-lait: NEAR(x) foo_bar 42"),
            ["cafe", "au", "lait", "near", "x", "foo", "bar", "42"]
        );
        assert_eq!(tsvector("b a b"), "'a':2 'b':1,3 ");
        assert!(tokens(&"x".repeat(5000))[0].len() <= MAX_WORD);
    }

    #[test]
    fn a_query_is_phrases_of_words_never_syntax() {
        let w = |s: &str| words(s);
        assert_eq!(
            tsquery(&w("linker fail"), true, true).as_deref(),
            Some("('linker') & ('fail':*)")
        );
        assert_eq!(
            tsquery(&w("foo_bar 'x' |"), false, false).as_deref(),
            Some("('foo' <-> 'bar') | ('x')")
        );
        assert_eq!(tsquery(&w("( ) * -"), true, false), None);
    }
}
