//! The `tether ls` table, from the lean rows `ls` reads of a `session.list`
//! reply, or that a daemon makes of its summaries to answer `session.list`
//! with `table` (issue 13: the table is sent made, so a client of 100,000
//! sessions parses one string rather than 100,000 rows).

use std::borrow::Cow;

use super::types::SessionInfo;
use crate::SessionState;
use serde::Deserialize;

/// The share of a window of `window` tokens that `tokens` fill, in percent
/// (rounded); `None` while the window is unknown (0).
pub fn context_percent_of(tokens: u64, window: u64) -> Option<u64> {
    (window > 0).then(|| {
        let (t, w) = (u128::from(tokens), u128::from(window));
        ((t * 100 + w / 2) / w).min(u128::from(u64::MAX)) as u64
    })
}

/// What the `ls` table shows of a session: read straight from the
/// `session.list` reply (`tether ls` parses only these fields; the rest of
/// each `SessionInfo` is skipped, not built), its text borrowed from the
/// reply's bytes where the JSON has no escapes (issue 13: 100,000 rows).
#[derive(Debug, Clone, Deserialize)]
pub struct ListRow<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    pub state: SessionState,
    #[serde(borrow)]
    pub model: Cow<'a, str>,
    #[serde(borrow)]
    pub cwd: Cow<'a, str>,
    #[serde(borrow)]
    pub updated_at: Cow<'a, str>,
    #[serde(deserialize_with = "count")]
    pub pending_approvals: usize,
    #[serde(default, deserialize_with = "count")]
    pub pending_inputs: usize,
    #[serde(default)]
    pub attached_clients: usize,
    #[serde(default)]
    pub context_tokens: u64,
    #[serde(default)]
    pub context_window: u64,
    /// The branch of the session's git worktree (issue 15), if it has one.
    #[serde(default, rename = "worktree", deserialize_with = "branch")]
    pub branch: Option<Cow<'a, str>>,
    /// The fleet node running it (issue 16); absent off a fleet.
    #[serde(default, borrow)]
    pub node: Option<Cow<'a, str>>,
}

/// `session.list`'s result with `table` (issue 13): the `tether ls` table,
/// a string per line (without its newline). Lines and not one string: each is
/// read borrowed from the reply, none has a newline to escape.
#[derive(Debug, serde::Serialize)]
pub struct LsTable<'a> {
    pub lines: Vec<&'a str>,
}

impl<'a> LsTable<'a> {
    /// The lines of `table`, as [`list_table`] made it.
    pub fn of(table: &'a str) -> LsTable<'a> {
        LsTable {
            lines: table.lines().collect(),
        }
    }
}

/// `session.list`'s result as `tether ls` reads it: the table the daemon
/// made (`table`), or from a daemon before that, the rows to make it of.
#[derive(Debug)]
pub enum LsReply<'a> {
    /// The table's lines, made.
    Table(Vec<Cow<'a, str>>),
    /// The rows.
    Rows(Vec<ListRow<'a>>),
}

impl<'a> LsReply<'a> {
    /// The table.
    pub fn into_table(self) -> String {
        match self {
            LsReply::Table(lines) => {
                let mut t = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
                for l in &lines {
                    t.push_str(l);
                    t.push('\n');
                }
                t
            }
            LsReply::Rows(rows) => list_table(&rows),
        }
    }
}

impl<'de> Deserialize<'de> for LsReply<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = LsReply<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the ls table or a list of sessions")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                // A newtype for each: serde borrows a `Cow` only where it is a
                // field marked `borrow`, not inside a `Vec`.
                #[derive(Deserialize)]
                struct Line<'a>(#[serde(borrow)] Cow<'a, str>);
                let mut lines = None;
                while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                    if k == "lines" {
                        let got: Vec<Line<'de>> = map.next_value()?;
                        lines = Some(got.into_iter().map(|l| l.0).collect());
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                lines
                    .map(LsReply::Table)
                    .ok_or_else(|| serde::de::Error::missing_field("lines"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(r) = seq.next_element()? {
                    rows.push(r);
                }
                Ok(LsReply::Rows(rows))
            }
        }
        d.deserialize_any(Either)
    }
}

/// Only the `branch` of a `worktree` object.
fn branch<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Branch<'a> {
        #[serde(borrow)]
        branch: Cow<'a, str>,
    }
    Ok(Option::<Branch>::deserialize(d)?.map(|b| b.branch))
}

impl<'a> From<&'a SessionInfo> for ListRow<'a> {
    fn from(s: &'a SessionInfo) -> ListRow<'a> {
        ListRow {
            name: Cow::Borrowed(&s.name),
            state: s.state,
            model: Cow::Borrowed(&s.model),
            cwd: Cow::Borrowed(&s.cwd),
            updated_at: Cow::Borrowed(&s.updated_at),
            pending_approvals: s.pending_approvals.len(),
            pending_inputs: s.pending_inputs.len(),
            attached_clients: s.attached_clients,
            context_tokens: s.context_tokens,
            context_window: s.context_window,
            branch: s
                .worktree
                .as_ref()
                .map(|w| Cow::Borrowed(w.branch.as_str())),
            node: s.node.as_deref().map(Cow::Borrowed),
        }
    }
}

/// The length of a JSON array, its items skipped.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    struct Count;
    impl<'de> serde::de::Visitor<'de> for Count {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(n)
        }
    }
    d.deserialize_seq(Count)
}

/// The `ls` table: one string, each cell formatted once.
pub fn list_table(list: &[ListRow<'_>]) -> String {
    use std::fmt::Write as _;
    if list.is_empty() {
        return "no sessions; start one with `tether new`\n".into();
    }
    const HEAD: [&str; 10] = [
        "NAME",
        "STATE",
        "CTX",
        "MODEL",
        "APPROVALS",
        "CLIENTS",
        "UPDATED",
        "NODE",
        "DIR",
        "BRANCH",
    ];
    // The node column only on a fleet (issue 16), BRANCH (issue 15) only when a
    // session has a worktree: off those, the table is as it was.
    let nodes = list.iter().any(|s| s.node.is_some());
    let branches = list.iter().any(|s| s.branch.is_some());
    let cols: Vec<usize> = (0..HEAD.len())
        .filter(|&c| (c != 7 || nodes) && (c != 9 || branches))
        .collect();
    // The cells that are not already text, formatted once into one buffer.
    let mut made = String::with_capacity(list.len() * 48);
    let mut spans: Vec<[(usize, usize); 5]> = Vec::with_capacity(list.len());
    let span = |made: &mut String, f: &dyn Fn(&mut String)| {
        let start = made.len();
        f(made);
        (start, made.len())
    };
    for s in list {
        let ctx = span(
            &mut made,
            &|m| match context_percent_of(s.context_tokens, s.context_window) {
                Some(p) => {
                    let _ = write!(m, "{p}%");
                }
                None => m.push('-'),
            },
        );
        let state = span(&mut made, &|m| {
            m.push_str(s.state.as_str());
        });
        // Questions and sampling requests of tool servers wait like calls (issue 14).
        let approvals = span(&mut made, &|m| {
            let _ = write!(m, "{}", s.pending_approvals + s.pending_inputs);
        });
        let clients = span(&mut made, &|m| {
            let _ = write!(m, "{}", s.attached_clients);
        });
        let updated = span(&mut made, &|m| {
            let u = s.updated_at.get(..19).unwrap_or(&s.updated_at);
            for c in u.chars() {
                m.push(if c == 'T' { ' ' } else { c });
            }
        });
        spans.push([ctx, state, approvals, clients, updated]);
    }
    let cell = |i: usize, c: usize| -> &str {
        let s = &list[i];
        let at = |k: usize| &made[spans[i][k].0..spans[i][k].1];
        match c {
            0 => &s.name,
            1 => at(1),
            2 => at(0),
            3 => &s.model,
            4 => at(2),
            5 => at(3),
            6 => at(4),
            7 => s.node.as_deref().unwrap_or("-"),
            8 => &s.cwd,
            _ => s.branch.as_deref().unwrap_or("-"),
        }
    };
    // Each cell's width counted once, kept for its padding.
    let n = cols.len();
    let mut widths: Vec<usize> = cols.iter().map(|&c| HEAD[c].chars().count()).collect();
    let mut counts: Vec<[usize; 10]> = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let mut row = [0; 10];
        for (k, w) in widths.iter_mut().enumerate() {
            row[k] = cell(i, cols[k]).chars().count();
            *w = (*w).max(row[k]);
        }
        counts.push(row);
    }
    let line_len: usize = widths.iter().sum::<usize>() + 2 * (n - 1) + 1;
    let mut out = String::with_capacity(line_len * (list.len() + 1));
    const SPACES: &str = "                                                                ";
    let pad = |out: &mut String, mut n: usize| {
        while n > 0 {
            let k = n.min(SPACES.len());
            out.push_str(&SPACES[..k]);
            n -= k;
        }
    };
    // The last column is not padded: the line's trailing whitespace goes anyway.
    let push_line = |out: &mut String, cells: &mut dyn Iterator<Item = (&str, usize)>| {
        let start = out.len();
        for (k, (text, len)) in cells.enumerate() {
            if k > 0 {
                out.push_str("  ");
            }
            out.push_str(text);
            if k + 1 < n {
                pad(out, widths[k].saturating_sub(len));
            }
        }
        let kept = out[start..].trim_end().len();
        out.truncate(start + kept);
        out.push('\n');
    };
    push_line(
        &mut out,
        &mut cols.iter().map(|&c| (HEAD[c], HEAD[c].chars().count())),
    );
    for (i, row) in counts.iter().enumerate() {
        push_line(&mut out, &mut (0..n).map(|k| (cell(i, cols[k]), row[k])));
    }
    out
}
