//! `tether bridge`: standard input and output relayed to the daemon's socket,
//! byte for byte, for `ssh HOST tether bridge` (what `tether --host` runs). It
//! says nothing of its own on stdout and never waits for a whole line: each
//! read is written on at once. The client on the other end says its own
//! `hello`; the daemon checks this process's uid like any connection's.
//!
//! Plain threads, not tokio: a read of stdin cannot be cancelled, and the
//! process must be able to end while one is blocked (when the daemon closes
//! the socket first).

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::Context;

use crate::client::{EXIT_NOT_RUNNING, connect_or_start};

/// Bytes moved per read.
const CHUNK: usize = 64 * 1024;

/// `tether bridge [--no-start]`: relays until either side closes; exit 0 then,
/// 1 when the daemon cannot be reached, 3 with `--no-start` when none runs.
pub fn bridge(socket: &Path, start: bool) -> anyhow::Result<u8> {
    let stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            if !start {
                eprintln!(
                    "tether: no tether daemon is running on {}",
                    socket.display()
                );
                return Ok(EXIT_NOT_RUNNING as u8);
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("failed to start tokio")?;
            // Starts the daemon exactly as any command does (race-free); the
            // hello it said there is its own, so the relay opens a fresh one.
            drop(rt.block_on(connect_or_start(socket))?);
            UnixStream::connect(socket)
                .with_context(|| format!("cannot connect to the daemon at {}", socket.display()))?
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot connect to the daemon at {}", socket.display()));
        }
    };
    relay(stream, std::io::stdin(), std::io::stdout())
}

/// Copies `input` to `socket` on a thread of its own (half-closing the socket
/// at its end, so the daemon answers what it got and closes), and `socket` to
/// `output` here, until the socket closes or `output` does.
fn relay(
    socket: UnixStream,
    input: impl Read + Send + 'static,
    output: impl Write,
) -> anyhow::Result<u8> {
    let mut to_daemon = socket.try_clone().context("cannot share the socket")?;
    // Not joined: the process may end while this thread is blocked in a read.
    std::thread::spawn(move || {
        let mut input = input;
        let mut buf = vec![0u8; CHUNK];
        loop {
            match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if to_daemon.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = to_daemon.shutdown(Shutdown::Write);
    });
    let mut from_daemon = socket;
    let mut output = output;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match from_daemon.read(&mut buf) {
            Ok(0) => return Ok(0),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("lost the connection to the daemon"),
        };
        // Written and flushed at once: stdout buffers by line otherwise.
        if output
            .write_all(&buf[..n])
            .and_then(|()| output.flush())
            .is_err()
        {
            // Whoever read our output is gone.
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// Input that arrives when the test says, a piece at a time.
    struct Pieces(mpsc::Receiver<Vec<u8>>);

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.recv() {
                Ok(p) => {
                    buf[..p.len()].copy_from_slice(&p);
                    Ok(p.len())
                }
                Err(_) => Ok(0),
            }
        }
    }

    /// Output the test sees as it is written.
    struct Seen(mpsc::Sender<Vec<u8>>);

    impl Write for Seen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_piece_passes_at_once_unchanged_both_ways() {
        let (ours, mut daemon) = UnixStream::pair().unwrap();
        let (in_tx, in_rx) = mpsc::channel();
        let (out_tx, out_rx) = mpsc::channel();
        let relay = std::thread::spawn(move || relay(ours, Pieces(in_rx), Seen(out_tx)));
        // Half a line, not UTF-8, reaches the daemon before the rest is typed.
        in_tx.send(b"{\"partial\":\xff".to_vec()).unwrap();
        let mut buf = [0u8; 64];
        let n = daemon.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"{\"partial\":\xff");
        // Half an answer reaches the output before the daemon says the rest.
        daemon.write_all(b"{\"a\":").unwrap();
        assert_eq!(out_rx.recv().unwrap(), b"{\"a\":");
        daemon.write_all(b"1}\r\n\x00").unwrap();
        assert_eq!(out_rx.recv().unwrap(), b"1}\r\n\x00");
        // The end of the input is passed on; the daemon's close ends the relay.
        drop(in_tx);
        assert_eq!(
            daemon.read(&mut buf).unwrap(),
            0,
            "the input's end reached the daemon"
        );
        drop(daemon);
        assert_eq!(relay.join().unwrap().unwrap(), 0);
    }

    #[test]
    fn the_daemon_closing_ends_the_relay_while_input_is_still_open() {
        let (ours, daemon) = UnixStream::pair().unwrap();
        let (_in_tx, in_rx) = mpsc::channel::<Vec<u8>>();
        drop(daemon);
        assert_eq!(relay(ours, Pieces(in_rx), std::io::sink()).unwrap(), 0);
    }
}
