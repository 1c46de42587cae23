//! A Server-Sent Events parser: bytes in, `data` payloads out.
//!
//! Follows the WHATWG event-stream rules that matter for chat completions: lines
//! end with LF, CRLF or CR; `data:` lines join with LF; a blank line dispatches;
//! lines starting with `:` are comments; one space after the colon is dropped.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The joined `data:` lines.
    pub data: String,
}

/// An incremental parser.
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    data: Option<String>,
    event: Option<String>,
    last_was_cr: bool,
}

impl SseParser {
    /// A new parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the events completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.last_was_cr {
                self.last_was_cr = false;
                if b == b'\n' {
                    continue; // the LF of a CRLF pair
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.last_was_cr = b == b'\r';
                    let line = std::mem::take(&mut self.pending);
                    self.line(&line, &mut out);
                }
                _ => self.pending.push(b),
            }
        }
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseEvent {
                    event: self.event.take(),
                    data,
                });
            }
            self.event = None;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.find(':') {
            Some(i) => {
                let v = &text[i + 1..];
                (&text[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&text[..], ""),
        };
        match field {
            "data" => match self.data.as_mut() {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            _ => {} // id, retry and unknown fields do not matter here
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<String> {
        chunks
            .iter()
            .flat_map(|c| parser.push(c))
            .map(|e| e.data)
            .collect()
    }

    #[test]
    fn events_split_across_chunks() {
        let mut p = SseParser::new();
        let got = all(
            &mut p,
            &[b"data: {\"a\"", b":1}\n", b"\ndata: [DO", b"NE]\n\n"],
        );
        assert_eq!(got, vec!["{\"a\":1}", "[DONE]"]);
    }

    #[test]
    fn crlf_cr_comments_and_multiline_data() {
        let mut p = SseParser::new();
        let got = all(
            &mut p,
            &[b": keepalive\r\n\r\ndata:x\r", b"\ndata: y\r\rdata: z\n\n"],
        );
        assert_eq!(got, vec!["x\ny", "z"]);
    }

    #[test]
    fn event_field_and_no_dispatch_without_blank_line() {
        let mut p = SseParser::new();
        let evs = p.push(b"event: error\ndata: boom\n\ndata: unfinished\n");
        assert_eq!(
            evs,
            vec![SseEvent {
                event: Some("error".into()),
                data: "boom".into()
            }]
        );
        assert!(p.push(b"").is_empty());
    }

    #[test]
    fn utf8_split_across_chunks_survives() {
        let mut p = SseParser::new();
        let bytes = "data: héllo\n\n".as_bytes();
        let got = all(&mut p, &[&bytes[..8], &bytes[8..]]);
        assert_eq!(got, vec!["héllo"]);
    }
}
