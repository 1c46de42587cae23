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

/// Reads the next line, holding at most `max` bytes of it.
pub async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<Frame> {
    let mut line = Vec::new();
    let mut discarded: Option<usize> = None;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(match discarded {
                Some(len) => Frame::TooLong { len },
                None if line.is_empty() => Frame::Eof,
                None => Frame::Line(line),
            });
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let take = newline.unwrap_or(available.len());
        match discarded.as_mut() {
            Some(len) => *len += take,
            None if line.len() + take > max => {
                discarded = Some(line.len() + take);
                line = Vec::new();
            }
            None => line.extend_from_slice(&available[..take]),
        }
        let consumed = newline.map_or(take, |n| n + 1);
        reader.consume(consumed);
        if newline.is_some() {
            return Ok(match discarded {
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
    use super::*;
    use tokio::io::BufReader;

    #[tokio::test]
    async fn reads_lines_and_eof() {
        let data: &[u8] = b"{\"a\":1}\n\r\nlast";
        let mut r = BufReader::new(data);
        assert_eq!(
            read_frame(&mut r, 100).await.unwrap(),
            Frame::Line(b"{\"a\":1}".to_vec())
        );
        assert_eq!(
            read_frame(&mut r, 100).await.unwrap(),
            Frame::Line(Vec::new())
        );
        assert_eq!(
            read_frame(&mut r, 100).await.unwrap(),
            Frame::Line(b"last".to_vec())
        );
        assert_eq!(read_frame(&mut r, 100).await.unwrap(), Frame::Eof);
    }

    #[tokio::test]
    async fn over_long_line_is_discarded_and_reading_goes_on() {
        let mut data = vec![b'x'; 10_000];
        data.push(b'\n');
        data.extend_from_slice(b"ok\n");
        // A small buffer forces the long line to arrive in many chunks.
        let mut r = BufReader::with_capacity(64, &data[..]);
        assert_eq!(
            read_frame(&mut r, 100).await.unwrap(),
            Frame::TooLong { len: 10_000 }
        );
        assert_eq!(
            read_frame(&mut r, 100).await.unwrap(),
            Frame::Line(b"ok".to_vec())
        );
    }

    #[tokio::test]
    async fn line_exactly_at_cap_is_accepted() {
        let mut data = vec![b'y'; 100];
        data.push(b'\n');
        let mut r = BufReader::with_capacity(7, &data[..]);
        assert!(matches!(read_frame(&mut r, 100).await.unwrap(), Frame::Line(l) if l.len() == 100));
    }
}
