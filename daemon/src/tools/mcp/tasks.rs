//! Tools that can only be called as tasks (MCP 2025-11-25: a tool's
//! `execution.taskSupport` is `"required"`). tether does not run tasks, and
//! rmcp 3.11's `Tool` has no `execution` field (its serde drops it), so a stdio
//! server's `tools/list` answers are read here, on their way to rmcp, for the
//! names of such tools; `list_tools` then leaves them out, since a call
//! without a task gets an error by the spec.

use std::collections::HashSet;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// A longer line is not looked at (rmcp drops lines over 16 MiB anyway).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Names of the tools a server declared task-only, as last listed.
#[derive(Debug, Clone, Default)]
pub(super) struct TaskOnly(Arc<Mutex<HashSet<String>>>);

impl TaskOnly {
    /// Whether `tool` may only be called as a task.
    pub(super) fn contains(&self, tool: &str) -> bool {
        self.lock().contains(tool)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A poisoned lock only means a panic elsewhere; the set is still valid.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads one JSON-RPC line: for each tool of a `tools/list` result, records
    /// whether it is task-only.
    pub(super) fn observe_line(&self, line: &[u8]) {
        // Cheap filter first: almost no line mentions it.
        if !line.windows(11).any(|w| w == b"taskSupport") {
            return;
        }
        let Ok(msg) = serde_json::from_slice::<serde_json::Value>(line) else {
            return;
        };
        let Some(tools) = msg["result"]["tools"].as_array() else {
            return;
        };
        let mut set = self.lock();
        for tool in tools {
            let Some(name) = tool["name"].as_str() else {
                continue;
            };
            if tool["execution"]["taskSupport"] == "required" {
                set.insert(name.to_string());
            } else {
                set.remove(name);
            }
        }
    }
}

/// A server's stdout as rmcp reads it, with each line also shown to [`TaskOnly`].
pub(super) struct Sniffed<R> {
    inner: R,
    line: Vec<u8>,
    too_long: bool,
    seen: TaskOnly,
}

impl<R> Sniffed<R> {
    pub(super) fn new(inner: R, seen: TaskOnly) -> Self {
        Sniffed {
            inner,
            line: Vec::new(),
            too_long: false,
            seen,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while let Some(nl) = bytes.iter().position(|b| *b == b'\n') {
            self.push(&bytes[..nl]);
            if !self.too_long {
                self.seen.observe_line(&self.line);
            }
            self.line.clear();
            self.too_long = false;
            bytes = &bytes[nl + 1..];
        }
        self.push(bytes);
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.too_long || self.line.len() + bytes.len() > MAX_LINE {
            self.too_long = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Sniffed<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let me = &mut *self;
        let poll = Pin::new(&mut me.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let new = buf.filled()[before..].to_vec();
            me.feed(&new);
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn task_only_tools_are_seen_in_lines_split_anywhere() {
        let seen = TaskOnly::default();
        let text = concat!(
            r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{}},"#,
            r#"{"name":"t","inputSchema":{},"execution":{"taskSupport":"required"}},"#,
            r#"{"name":"o","inputSchema":{},"execution":{"taskSupport":"optional"}}]}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"taskSupport"}}"#,
            "\n"
        );
        // A reader that hands out 7 bytes at a time.
        let (mut w, r) = tokio::io::duplex(7);
        let writer = tokio::spawn(async move {
            tokio::io::AsyncWriteExt::write_all(&mut w, text.as_bytes())
                .await
                .unwrap();
        });
        let mut sniffed = Sniffed::new(r, seen.clone());
        let mut out = String::new();
        sniffed.read_to_string(&mut out).await.unwrap();
        writer.await.unwrap();
        assert_eq!(out, text, "rmcp reads the same bytes");
        assert!(seen.contains("t"));
        assert!(!seen.contains("a") && !seen.contains("o"));
        // A later listing where it no longer needs a task.
        seen.observe_line(
            br#"{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"t","execution":{"taskSupport":"forbidden"}}]}}"#,
        );
        assert!(!seen.contains("t"));
    }
}
