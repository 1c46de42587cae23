//! Line framing with a size cap: one JSON message per line.
//!
//! An over-long line is read and thrown away in chunks as it arrives, so a peer
//! that sends 64 MiB without a newline costs the reader one buffer, not 64 MiB.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// One read from a framed stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its newline.
    Line(Vec<u8>),
    /// A line longer than the cap; its bytes were discarded.
    TooLong {
        /// How many bytes the line had (newline excluded).
        len: usize,
    },
    /// The peer closed the stream.
    Eof,
}

/// Reads lines of at most `max` bytes. Cancel-safe: a partly read line is kept in
/// the reader, so a `select!` that drops `next()` loses nothing.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    max: usize,
    line: Vec<u8>,
    discarded: Option<usize>,
}

impl<R: AsyncBufRead + Unpin> FrameReader<R> {
    /// A reader with a cap of `max` bytes per line.
    pub fn new(inner: R, max: usize) -> Self {
        FrameReader {
            inner,
            max,
            line: Vec::new(),
            discarded: None,
        }
    }

    /// The underlying reader (to write on a duplex stream).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Reads the next line.
    pub async fn next(&mut self) -> std::io::Result<Frame> {
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                let line = std::mem::take(&mut self.line);
                return Ok(match self.discarded.take() {
                    Some(len) => Frame::TooLong { len },
                    None if line.is_empty() => Frame::Eof,
                    None => Frame::Line(line),
                });
            }
            let newline = find_newline(available);
            let take = newline.unwrap_or(available.len());
            match self.discarded.as_mut() {
                Some(len) => *len += take,
                None if self.line.len() + take > self.max => {
                    self.discarded = Some(self.line.len() + take);
                    self.line = Vec::new();
                }
                None => self.line.extend_from_slice(&available[..take]),
            }
            let consumed = newline.map_or(take, |n| n + 1);
            self.inner.consume(consumed);
            if newline.is_some() {
                let mut line = std::mem::take(&mut self.line);
                return Ok(match self.discarded.take() {
                    Some(len) => Frame::TooLong { len },
                    None => {
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                        Frame::Line(line)
                    }
                });
            }
        }
    }
}

/// The first `\n` in `bytes`, eight bytes at a time (issue 13: a 100,000-session
/// list is a 13 MB line, and a byte-by-byte search was 7% of `tether ls`).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let nl = ONES * u64::from(b'\n');
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ nl;
        // Non-zero exactly when some byte of `x` is zero (that byte was `\n`).
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            return chunk.iter().position(|&b| b == b'\n').map(|i| at + i);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| at + i)
}

/// Writes one message as a line and flushes it.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &impl serde::Serialize,
) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    writer.write_all(&bytes).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_newline_is_found_wherever_it_is() {
        for len in 0..40 {
            for at in 0..=len {
                let mut v: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                // Bytes that differ from `\n` in one bit only.
                v.iter_mut().step_by(3).for_each(|b| *b = 0x0b);
                let want = (at < len).then_some(at);
                if at < len {
                    v[at] = b'\n';
                    v[len - 1..]
                        .iter_mut()
                        .for_each(|b| *b = if at == len - 1 { b'\n' } else { 0x8a });
                }
                assert_eq!(super::find_newline(&v), want, "{len} {at}");
            }
        }
    }

    use super::*;
    use tokio::io::{AsyncWriteExt, BufReader};

    #[tokio::test]
    async fn reads_lines_and_eof() {
        let data: &[u8] = b"{\"a\":1}\n\r\nlast";
        let mut r = FrameReader::new(BufReader::new(data), 100);
        assert_eq!(r.next().await.unwrap(), Frame::Line(b"{\"a\":1}".to_vec()));
        assert_eq!(r.next().await.unwrap(), Frame::Line(Vec::new()));
        assert_eq!(r.next().await.unwrap(), Frame::Line(b"last".to_vec()));
        assert_eq!(r.next().await.unwrap(), Frame::Eof);
    }

    #[tokio::test]
    async fn over_long_line_is_discarded_and_reading_goes_on() {
        let mut data = vec![b'x'; 10_000];
        data.push(b'\n');
        data.extend_from_slice(b"ok\n");
        // A small buffer forces the long line to arrive in many chunks.
        let mut r = FrameReader::new(BufReader::with_capacity(64, &data[..]), 100);
        assert_eq!(r.next().await.unwrap(), Frame::TooLong { len: 10_000 });
        assert_eq!(r.next().await.unwrap(), Frame::Line(b"ok".to_vec()));
    }

    #[tokio::test]
    async fn frame_reader_keeps_partial_lines_across_calls() {
        let (mut w, r) = tokio::io::duplex(64);
        let mut fr = FrameReader::new(BufReader::new(r), 100);
        w.write_all(b"hel").await.unwrap();
        // A next() dropped mid-line (as in a select!) must not lose "hel".
        let pending = tokio::time::timeout(std::time::Duration::from_millis(20), fr.next()).await;
        assert!(pending.is_err());
        w.write_all(b"lo\n").await.unwrap();
        assert_eq!(fr.next().await.unwrap(), Frame::Line(b"hello".to_vec()));
    }

    #[tokio::test]
    async fn line_exactly_at_cap_is_accepted() {
        let mut data = vec![b'y'; 100];
        data.push(b'\n');
        let mut r = FrameReader::new(BufReader::with_capacity(7, &data[..]), 100);
        assert!(matches!(r.next().await.unwrap(), Frame::Line(l) if l.len() == 100));
    }
}
