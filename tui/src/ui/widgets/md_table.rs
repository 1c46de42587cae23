//! Markdown tables that do not fit the screen. A table whose columns can each
//! hold their longest word is drawn as a grid, its cells wrapped inside their
//! columns (tui-markdown's `table_width`). A table too wide even for that would
//! break its words or its rows; it is shown as records instead: each row as its
//! first cell in bold, then one `- **header:** value` line per other column.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use unicode_width::UnicodeWidthStr;

/// One table of the source: where it is and its cells (as source, and as
/// plain text for measuring).
struct Table {
    range: std::ops::Range<usize>,
    header: Vec<Cell>,
    rows: Vec<Vec<Cell>>,
}

#[derive(Default)]
struct Cell {
    source: String,
    plain: String,
}

/// The tables in `source`.
fn tables(source: &str) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let mut cell: Option<Cell> = None;
    let mut row: Vec<Cell> = Vec::new();
    let mut in_head = false;
    for (event, range) in Parser::new_ext(source, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::Table(_)) => out.push(Table {
                range,
                header: Vec::new(),
                rows: Vec::new(),
            }),
            Event::Start(Tag::TableHead) => in_head = true,
            Event::Start(Tag::TableCell) => {
                let text = source.get(range).unwrap_or("");
                cell = Some(Cell {
                    source: text.trim().trim_matches('|').trim().to_string(),
                    plain: String::new(),
                });
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.plain.push_str(&t);
                }
            }
            Event::End(TagEnd::TableCell) => row.extend(cell.take()),
            Event::End(TagEnd::TableHead) => {
                in_head = false;
                if let Some(t) = out.last_mut() {
                    t.header = std::mem::take(&mut row);
                }
            }
            Event::End(TagEnd::TableRow) if !in_head => {
                if let Some(t) = out.last_mut() {
                    t.rows.push(std::mem::take(&mut row));
                }
            }
            _ => {}
        }
    }
    out
}

/// The narrowest grid that keeps every word whole: each column as wide as its
/// longest word, plus borders and padding (`│ a │ b │`).
fn min_grid_width(t: &Table) -> usize {
    let cols = t
        .rows
        .iter()
        .map(Vec::len)
        .chain([t.header.len()])
        .max()
        .unwrap_or(0);
    let widest = |c: usize| {
        std::iter::once(&t.header)
            .chain(&t.rows)
            .filter_map(|r| r.get(c))
            .flat_map(|cell| cell.plain.split_whitespace())
            .map(UnicodeWidthStr::width)
            .max()
            .unwrap_or(0)
            .max(1)
    };
    (0..cols).map(widest).sum::<usize>() + 3 * cols + 1
}

/// A table as records, in Markdown.
fn records(t: &Table) -> String {
    let mut out = String::new();
    for row in &t.rows {
        let mut cells = row.iter().enumerate();
        if let Some((_, first)) = cells.next() {
            let head = t.header.first().map_or("", |h| h.source.as_str());
            if head.is_empty() {
                out.push_str(&format!("**{}**\n\n", first.source));
            } else {
                out.push_str(&format!("**{head}: {}**\n\n", first.source));
            }
        }
        for (i, cell) in cells {
            let name = t
                .header
                .get(i)
                .map(|h| h.source.clone())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| format!("column {}", i + 1));
            out.push_str(&format!("- {name}: {}\n", cell.source));
        }
        out.push('\n');
    }
    out
}

/// `source` with every table too wide for `width` columns turned into records.
pub fn fit_tables(source: &str, width: usize) -> String {
    if !source.contains('|') {
        return source.to_string();
    }
    let mut out = String::with_capacity(source.len());
    let mut at = 0;
    for t in tables(source) {
        if min_grid_width(&t) <= width || t.range.start < at {
            continue;
        }
        out.push_str(source.get(at..t.range.start).unwrap_or(""));
        out.push_str(&records(&t));
        at = t.range.end;
    }
    out.push_str(source.get(at..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "Before.\n\n| Name | What it does |\n|---|---|\n| `ls` | lists **files** |\n| rm | removes them for good |\n\nAfter.";

    #[test]
    fn a_table_that_fits_stays_a_table() {
        assert_eq!(fit_tables(TABLE, 80), TABLE);
        // `│ rm   │ removes │`: the longest words are "Name" and "removes".
        assert_eq!(min_grid_width(&tables(TABLE)[0]), 4 + 7 + 7);
        assert_eq!(fit_tables(TABLE, 18), TABLE);
    }

    #[test]
    fn a_table_too_wide_becomes_records_with_its_formatting() {
        let out = fit_tables(TABLE, 17);
        assert_eq!(
            out,
            "Before.\n\n**Name: `ls`**\n\n- What it does: lists **files**\n\n**Name: rm**\n\n- What it does: removes them for good\n\n\nAfter."
        );
    }

    #[test]
    fn text_without_tables_is_untouched() {
        let s = "a | b\n\nno table here";
        assert_eq!(fit_tables(s, 3), s);
    }
}
