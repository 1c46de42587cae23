//! The builtin file tools: `read_file`, `write_file`, `edit_file` and `list_dir`. Paths
//! resolve against the session working directory, and what a call returns is capped.

use std::io;
use std::path::Path;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

use super::args::{Args, resolve, with_newline};
use super::error::ToolError;
use crate::tools::types::ToolContext;

/// Cap on the text `read_file` returns in one call.
pub(super) const READ_FILE_MAX_BYTES: usize = 100_000;
/// Cap on the entries `list_dir` returns in one call.
pub(super) const LIST_DIR_MAX_ENTRIES: usize = 1000;

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
