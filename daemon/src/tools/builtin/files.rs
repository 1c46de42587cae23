//! The builtin file tools: `read_file`, `write_file`, `edit_file` and `list_dir`. Paths
//! resolve against the session working directory, and what a call returns is capped.

use std::io;
use std::path::Path;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

use super::args::{Args, resolve, with_newline};
use super::error::ToolError;
use crate::tools::types::ToolContext;

/// Cap on the text `read_file` returns in one call.
const READ_FILE_MAX_BYTES: usize = 100_000;
/// Cap on the entries `list_dir` returns in one call.
const LIST_DIR_MAX_ENTRIES: usize = 1000;

/// Runs the file tool `name` with its already decoded arguments.
pub(super) async fn run_file_tool(
    name: &str,
    args: &Args<'_>,
    ctx: &ToolContext,
) -> Result<String, ToolError> {
    match name {
        "read_file" => {
            let path = resolve(&ctx.cwd, args.required_str("path")?);
            let offset = args.optional_count("offset")?.unwrap_or(1);
            let limit = args.optional_count("limit")?;
            read_file(&path, offset, limit).await
        }
        "write_file" => {
            let path = resolve(&ctx.cwd, args.required_str("path")?);
            let content = args.required_str("content")?;
            write_file(&path, content).await
        }
        "edit_file" => {
            let path = resolve(&ctx.cwd, args.required_str("path")?);
            let old = args.required_str("old_string")?;
            let new = args.required_str("new_string")?;
            if old.is_empty() {
                return Err(args.invalid("`old_string` must not be empty"));
            }
            edit_file(&path, old, new).await
        }
        "list_dir" => {
            let path = resolve(&ctx.cwd, args.optional_str("path")?.unwrap_or("."));
            list_dir(&path).await
        }
        other => Err(ToolError::InvalidArguments {
            tool: other.to_owned(),
            reason: "not a file tool".to_owned(),
        }),
    }
}

/// How [`read_line`] stopped.
enum LineEnd {
    /// No bytes were left.
    Eof,
    /// A whole line (with its `\n`, unless it was the last line) was read.
    Line,
    /// The byte budget ran out mid-line.
    Capped,
}

/// Reads one line, appending at most `max - out.len()` bytes of it to `out` when `store` is
/// set. Reading through `fill_buf` means a huge line is never held in memory whole.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    out: &mut Vec<u8>,
    max: usize,
    store: bool,
) -> io::Result<LineEnd> {
    let mut read_any = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if read_any {
                LineEnd::Line
            } else {
                LineEnd::Eof
            });
        }
        let (len, newline) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if store {
            let room = max.saturating_sub(out.len());
            if len > room {
                out.extend_from_slice(&buf[..room]);
                reader.consume(room);
                return Ok(LineEnd::Capped);
            }
            out.extend_from_slice(&buf[..len]);
        }
        reader.consume(len);
        read_any = true;
        if newline {
            return Ok(LineEnd::Line);
        }
    }
}

async fn read_file(path: &Path, offset: usize, limit: Option<usize>) -> Result<String, ToolError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|err| ToolError::io("read", path, err))?;
    if meta.is_dir() {
        return Err(ToolError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|err| ToolError::io("open", path, err))?;
    let mut reader = BufReader::new(file);
    let io_err = |err| ToolError::io("read", path, err);

    let mut skipped = 0usize;
    while skipped + 1 < offset {
        let mut unused = Vec::new();
        match read_line(&mut reader, &mut unused, 0, false)
            .await
            .map_err(io_err)?
        {
            LineEnd::Eof => {
                return Ok(format!(
                    "[offset {offset} is past the end of {} ({skipped} lines)]",
                    path.display()
                ));
            }
            LineEnd::Line | LineEnd::Capped => skipped += 1,
        }
    }

    let mut bytes = Vec::new();
    let mut shown = 0usize;
    let mut capped = false;
    let mut hit_eof = false;
    while limit.is_none_or(|limit| shown < limit) {
        match read_line(&mut reader, &mut bytes, READ_FILE_MAX_BYTES, true)
            .await
            .map_err(io_err)?
        {
            LineEnd::Eof => {
                hit_eof = true;
                break;
            }
            LineEnd::Line => shown += 1,
            LineEnd::Capped => {
                capped = true;
                break;
            }
        }
        if bytes.len() >= READ_FILE_MAX_BYTES {
            // Exactly at the cap: truncated only if anything is left.
            capped = !reader.fill_buf().await.map_err(io_err)?.is_empty();
            break;
        }
    }

    if capped {
        // The byte cap may have split a character; keep only whole ones.
        if let Err(err) = std::str::from_utf8(&bytes)
            && err.error_len().is_none()
        {
            bytes.truncate(err.valid_up_to());
        }
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if skipped == 0 && shown == 0 && !capped && hit_eof {
        return Ok("[empty file]".to_owned());
    }
    let last_whole_line = skipped + shown;
    if capped {
        return Ok(format!(
            "{}[truncated: output is capped at {READ_FILE_MAX_BYTES} bytes; call read_file \
             with offset={} to continue]",
            with_newline(&text),
            last_whole_line + 1
        ));
    }
    if !hit_eof && !reader.fill_buf().await.map_err(io_err)?.is_empty() {
        return Ok(format!(
            "{}[more lines follow; call read_file with offset={} to continue]",
            with_newline(&text),
            last_whole_line + 1
        ));
    }
    Ok(text)
}

async fn write_file(path: &Path, content: &str) -> Result<String, ToolError> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|err| ToolError::Io {
                action: "create directory",
                path: parent.to_path_buf(),
                source: err,
            })?;
    }
    if tokio::fs::metadata(path)
        .await
        .is_ok_and(|meta| meta.is_dir())
    {
        return Err(ToolError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    tokio::fs::write(path, content)
        .await
        .map_err(|err| ToolError::io("write", path, err))?;
    Ok(format!(
        "wrote {} bytes to {}",
        content.len(),
        path.display()
    ))
}

async fn edit_file(path: &Path, old: &str, new: &str) -> Result<String, ToolError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|err| ToolError::io("read", path, err))?;
    if meta.is_dir() {
        return Err(ToolError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|err| ToolError::io("read", path, err))?;
    // Lossy decoding would silently rewrite every invalid byte on save, so refuse instead.
    let text = String::from_utf8(bytes).map_err(|_| ToolError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    match text.matches(old).count() {
        0 => Err(ToolError::EditNotFound {
            path: path.to_path_buf(),
        }),
        1 => {
            let edited = text.replacen(old, new, 1);
            tokio::fs::write(path, &edited)
                .await
                .map_err(|err| ToolError::io("write", path, err))?;
            Ok(format!("replaced 1 occurrence in {}", path.display()))
        }
        count => Err(ToolError::EditAmbiguous {
            path: path.to_path_buf(),
            count,
        }),
    }
}

async fn list_dir(path: &Path) -> Result<String, ToolError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|err| ToolError::io("list", path, err))?;
    if !meta.is_dir() {
        return Err(ToolError::NotDirectory {
            path: path.to_path_buf(),
        });
    }
    let mut dir = tokio::fs::read_dir(path)
        .await
        .map_err(|err| ToolError::io("list", path, err))?;
    let mut entries = Vec::new();
    while let Some(entry) = dir
        .next_entry()
        .await
        .map_err(|err| ToolError::io("list", path, err))?
    {
        entries.push(entry);
    }
    entries.sort_by_key(|entry| entry.file_name());
    let total = entries.len();
    if total == 0 {
        return Ok("[empty directory]".to_owned());
    }

    let mut lines = Vec::with_capacity(total.min(LIST_DIR_MAX_ENTRIES) + 1);
    for entry in entries.iter().take(LIST_DIR_MAX_ENTRIES) {
        let mut name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = match entry.file_type().await {
            // Follow symlinks so a link to a directory reads as one.
            Ok(kind) if kind.is_symlink() => tokio::fs::metadata(entry.path())
                .await
                .is_ok_and(|meta| meta.is_dir()),
            Ok(kind) => kind.is_dir(),
            Err(_) => false,
        };
        if is_dir {
            name.push('/');
        }
        lines.push(name);
    }
    if total > LIST_DIR_MAX_ENTRIES {
        lines.push(format!(
            "[... {} more entries not shown]",
            total - LIST_DIR_MAX_ENTRIES
        ));
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::tools::ToolOutput;
    use crate::tools::test_support::{assert_error, context, run};
    use serde_json::{Value, json};
    use tempfile::tempdir;

    // --- read_file ---

    #[tokio::test]
    async fn read_file_reads_whole_and_partial() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::write(dir.path().join("f.txt"), "one\ntwo\nthree\nfour\n").unwrap();
        let out = run("read_file", json!({"path": "f.txt"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("one\ntwo\nthree\nfour\n"));
        let out = run(
            "read_file",
            json!({"path": "f.txt", "offset": 2, "limit": 2}),
            &ctx,
        )
        .await;
        assert_eq!(
            out,
            ToolOutput::ok(
                "two\nthree\n[more lines follow; call read_file with offset=4 to continue]"
            )
        );
        let out = run("read_file", json!({"path": "f.txt", "offset": 3}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("three\nfour\n"));
        let out = run("read_file", json!({"path": "f.txt", "offset": 9}), &ctx).await;
        assert!(!out.is_error);
        assert!(out.output.contains("past the end"), "{}", out.output);
        assert!(out.output.contains("(4 lines)"), "{}", out.output);

        let absolute = dir.path().join("f.txt");
        let out = run(
            "read_file",
            json!({"path": absolute.to_str().unwrap(), "limit": 1.0}),
            &context(&tempdir().unwrap()),
        )
        .await;
        assert!(
            out.output.starts_with("one\n[more lines follow"),
            "{}",
            out.output
        );
    }

    #[tokio::test]
    async fn read_file_handles_empty_and_non_utf8() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::write(dir.path().join("empty"), "").unwrap();
        std::fs::write(dir.path().join("bin"), b"a\xffb").unwrap();
        let out = run("read_file", json!({"path": "empty"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("[empty file]"));
        let out = run("read_file", json!({"path": "bin"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("a\u{FFFD}b"));
    }

    #[tokio::test]
    async fn read_file_caps_large_files() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let line = format!("{}\n", "y".repeat(999));
        std::fs::write(dir.path().join("big"), line.repeat(250)).unwrap();
        let out = run("read_file", json!({"path": "big"}), &ctx).await;
        assert!(!out.is_error);
        // 100 whole lines fill the cap exactly.
        let (body, note) = out.output.split_at(READ_FILE_MAX_BYTES);
        assert_eq!(body, line.repeat(100));
        assert!(note.starts_with("[truncated"), "{note}");
        assert!(note.contains("offset=101"), "{note}");
        let out = run(
            "read_file",
            json!({"path": "big", "offset": 101, "limit": 1}),
            &ctx,
        )
        .await;
        assert!(out.output.starts_with(&line), "{}", &out.output[..50]);

        // Here the cap falls inside line 34 (a two-byte character at byte 99_999), so the
        // partial line is cut to whole characters and reading resumes at line 34.
        let long = format!("{}é{}\n", "z".repeat(999), "z".repeat(3000 - 999 - 3));
        std::fs::write(dir.path().join("long"), long.repeat(40)).unwrap();
        let out = run("read_file", json!({"path": "long"}), &ctx).await;
        assert!(!out.is_error);
        let (body, note) = out.output.rsplit_once('\n').unwrap();
        assert_eq!(body.len(), READ_FILE_MAX_BYTES - 1);
        assert!(body.starts_with(&long.repeat(33)));
        assert!(body.ends_with('z'));
        assert!(note.contains("offset=34"), "{note}");
    }

    #[tokio::test]
    async fn read_file_errors_name_the_path() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let out = run("read_file", json!({"path": "nope.txt"}), &ctx).await;
        assert!(out.is_error);
        let expected = dir.path().join("nope.txt");
        assert_eq!(
            out.output,
            format!("no such file or directory: {}", expected.display())
        );
        let out = run("read_file", json!({"path": "./sub"}), &ctx).await;
        assert!(out.is_error);
        let expected = dir.path().join("sub");
        assert!(
            out.output
                .starts_with(&format!("{} is a directory", expected.display())),
            "{}",
            out.output
        );
    }

    // --- write_file ---

    #[tokio::test]
    async fn write_file_creates_parents_and_overwrites() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let out = run(
            "write_file",
            json!({"path": "a/b/c.txt", "content": "héllo"}),
            &ctx,
        )
        .await;
        let path = dir.path().join("a/b/c.txt");
        assert_eq!(
            out,
            ToolOutput::ok(format!("wrote 6 bytes to {}", path.display()))
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "héllo");
        let out = run(
            "write_file",
            json!({"path": "a/b/c.txt", "content": ""}),
            &ctx,
        )
        .await;
        assert!(!out.is_error);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }

    #[tokio::test]
    async fn write_file_errors() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let out = run("write_file", json!({"path": "sub", "content": "x"}), &ctx).await;
        assert_error(&out, "is a directory");
        let out = run(
            "write_file",
            json!({"path": "file/inner", "content": "x"}),
            &ctx,
        )
        .await;
        assert_error(&out, "failed to create directory");
    }

    // --- edit_file ---

    #[tokio::test]
    async fn edit_file_replaces_a_unique_match() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let path = dir.path().join("code.rs");
        std::fs::write(&path, "fn a() {}\nfn b() {}\n").unwrap();
        let out = run(
            "edit_file",
            json!({"path": "code.rs", "old_string": "fn b()", "new_string": "fn c()"}),
            &ctx,
        )
        .await;
        assert_eq!(
            out,
            ToolOutput::ok(format!("replaced 1 occurrence in {}", path.display()))
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "fn a() {}\nfn c() {}\n"
        );
    }

    #[tokio::test]
    async fn edit_file_requires_exactly_one_match() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "x = 1\nx = 1\nx = 1\n").unwrap();
        let out = run(
            "edit_file",
            json!({"path": "f.txt", "old_string": "x = 1", "new_string": "x = 2"}),
            &ctx,
        )
        .await;
        assert_error(&out, "found 3 times");
        let out = run(
            "edit_file",
            json!({"path": "f.txt", "old_string": "y = 1", "new_string": "y = 2"}),
            &ctx,
        )
        .await;
        assert_error(&out, "was not found");
        let out = run(
            "edit_file",
            json!({"path": "f.txt", "old_string": "", "new_string": "z"}),
            &ctx,
        )
        .await;
        assert_error(&out, "must not be empty");
        // A failed edit leaves the file alone.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "x = 1\nx = 1\nx = 1\n"
        );
    }

    #[tokio::test]
    async fn edit_file_errors_on_missing_or_binary_files() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::write(dir.path().join("bin"), b"a\xffb").unwrap();
        let args = |path: &str| json!({"path": path, "old_string": "a", "new_string": "b"});
        let out = run("edit_file", args("missing"), &ctx).await;
        assert!(out.is_error);
        assert!(out.output.starts_with("no such file"), "{}", out.output);
        let out = run("edit_file", args("bin"), &ctx).await;
        assert_error(&out, "not valid UTF-8");
        assert_eq!(std::fs::read(dir.path().join("bin")).unwrap(), b"a\xffb");
    }

    // --- list_dir ---

    #[tokio::test]
    async fn list_dir_sorts_and_marks_directories() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::create_dir(dir.path().join("zdir")).unwrap();
        std::fs::create_dir(dir.path().join("adir")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "").unwrap();
        std::os::unix::fs::symlink(dir.path().join("adir"), dir.path().join("link")).unwrap();
        let out = run("list_dir", json!({}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("adir/\nb.txt\nlink/\nzdir/"));
        let out = run("list_dir", Value::Null, &ctx).await;
        assert_eq!(out, ToolOutput::ok("adir/\nb.txt\nlink/\nzdir/"));
        let out = run("list_dir", json!({"path": "adir"}), &ctx).await;
        assert_eq!(out, ToolOutput::ok("[empty directory]"));
    }

    #[tokio::test]
    async fn list_dir_caps_entries() {
        let dir = tempdir().unwrap();
        for i in 0..1005 {
            std::fs::write(dir.path().join(format!("f{i:04}")), "").unwrap();
        }
        let out = run("list_dir", json!({"path": "."}), &context(&dir)).await;
        assert!(!out.is_error);
        let lines: Vec<&str> = out.output.lines().collect();
        assert_eq!(lines.len(), LIST_DIR_MAX_ENTRIES + 1);
        assert_eq!(lines[0], "f0000");
        assert_eq!(lines[999], "f0999");
        assert_eq!(lines[1000], "[... 5 more entries not shown]");
    }

    #[tokio::test]
    async fn list_dir_errors() {
        let dir = tempdir().unwrap();
        let ctx = context(&dir);
        std::fs::write(dir.path().join("file"), "").unwrap();
        let out = run("list_dir", json!({"path": "file"}), &ctx).await;
        assert!(out.is_error);
        assert!(
            out.output.ends_with("file is not a directory"),
            "{}",
            out.output
        );
        let out = run("list_dir", json!({"path": "/definitely/not/here"}), &ctx).await;
        assert_eq!(
            out,
            ToolOutput::error("no such file or directory: /definitely/not/here")
        );
    }
}
