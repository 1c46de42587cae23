//! Text from a call shown as what runs: nothing in it can hide or disguise a part.

/// Shows characters that could hide or disguise part of a call (control
/// characters, escape sequences, bidirectional overrides, zero-width marks) as
/// visible escapes, and a tab as spaces, so what is shown is what runs.
pub(crate) fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\n' => out.push('\n'),
            c if c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
                    | '\u{2060}'..='\u{2069}' | '\u{feff}') =>
            {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{{{n:04x}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}
