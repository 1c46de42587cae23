//! A live message as a session's broadcast carries it to attached clients: one
//! allocation shared by every feed, with the line that clients are sent
//! encoded once, by the first feed that sends it, and reused by the others.
//!
//! The session does not know the wire: the feed passes the encoder. Encoding
//! lazily keeps a session nobody reads (every receiver lagging, or one that
//! only counts) from paying for lines nobody sends.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tether_shared::Live;

/// A live message and its encoded line, shared by every receiver.
#[derive(Debug)]
pub struct Published {
    /// The message.
    pub live: Live,
    // OnceLock: feeds on other threads that race for the first encoding wait for
    // it (a few microseconds of CPU) rather than encode it twice.
    line: OnceLock<Option<Bytes>>,
}

/// What the broadcast carries: a clone costs a reference count.
pub type LiveMsg = Arc<Published>;

impl Published {
    /// A message not yet encoded.
    pub fn new(live: Live) -> LiveMsg {
        Arc::new(Published {
            live,
            line: OnceLock::new(),
        })
    }

    /// The message's line, encoded by `encode` the first time anyone asks;
    /// `None` when it does not encode (then it never will).
    pub fn line(&self, encode: impl FnOnce(&Live) -> Option<Bytes>) -> Option<Bytes> {
        self.line.get_or_init(|| encode(&self.live)).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_once_for_every_reader() {
        let msg = Published::new(Live::AssistantReset);
        let mut calls = 0;
        let first = msg.line(|_| {
            calls += 1;
            Some(Bytes::from_static(b"x\n"))
        });
        let second = msg.line(|_| {
            calls += 1;
            None
        });
        assert_eq!(calls, 1);
        assert_eq!(first, second);
        // The same bytes, not a copy.
        assert_eq!(first.map(|b| b.as_ptr()), second.map(|b| b.as_ptr()));
    }
}
