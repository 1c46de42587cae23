//! `Ctrl-g`: the message in an external editor. The draft goes into a private
//! temporary file, the editor runs on it with the terminal (the event loop has
//! given the terminal up: see `run.rs`), and what the file holds afterwards
//! comes back as the new draft. An editor that fails changes nothing.

use std::ffi::OsString;

/// The editor to run: `$EDITOR`, else `$VISUAL`, else `vi`. It may carry
/// arguments (`emacs -nw`, `code --wait`): the shell splits it, as git does.
pub fn command(editor: Option<OsString>, visual: Option<OsString>) -> String {
    [editor, visual]
        .into_iter()
        .flatten()
        .map(|v| v.to_string_lossy().trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "vi".to_string())
}

/// The editor of this environment (see [`command`]).
pub fn from_env() -> String {
    command(std::env::var_os("EDITOR"), std::env::var_os("VISUAL"))
}

/// Runs `editor` on a file holding `draft` and returns the file's text after
/// it exits, without the newline(s) editors add at the end. The error says
/// what went wrong and that the message is unchanged.
pub async fn edit(editor: &str, draft: &str) -> Result<String, String> {
    let unchanged = "the message is unchanged";
    let file = tempfile::Builder::new()
        .prefix("tether-message-")
        .suffix(".md")
        .tempfile()
        .map_err(|e| format!("cannot make a file for the editor: {e}; {unchanged}"))?;
    std::fs::write(file.path(), draft)
        .map_err(|e| format!("cannot write the draft for the editor: {e}; {unchanged}"))?;
    // `sh -c 'EDITOR "$@"' EDITOR FILE`: the editor's own words split by the
    // shell, the file name passed as it is.
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(file.path())
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|e| format!("cannot run the editor `{editor}`: {e}; {unchanged}"))?;
    if !status.success() {
        let why = match status.code() {
            Some(127) => "was not found (set $EDITOR)".to_string(),
            Some(n) => format!("exited with status {n}"),
            None => "was killed by a signal".to_string(),
        };
        return Err(format!("the editor `{editor}` {why}; {unchanged}"));
    }
    let text = std::fs::read(file.path())
        .map_err(|e| format!("cannot read what the editor wrote: {e}; {unchanged}"))?;
    let text = String::from_utf8(text)
        .map_err(|_| format!("the editor wrote text that is not UTF-8; {unchanged}"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_then_visual_then_vi() {
        let s = |v: &str| Some(OsString::from(v));
        assert_eq!(command(s("nano"), s("code --wait")), "nano");
        assert_eq!(command(None, s("code --wait")), "code --wait");
        assert_eq!(command(s("  "), s("emacs -nw")), "emacs -nw");
        assert_eq!(command(None, None), "vi");
    }

    /// A real editor: a script that appends a line to the file it is given.
    fn script(dir: &std::path::Path, body: &str) -> String {
        let path = dir.join("fake editor.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
        format!("'{}'", path.display())
    }

    #[tokio::test]
    async fn the_text_the_editor_leaves_is_the_new_draft() {
        let dir = tempfile::tempdir().unwrap();
        let ed = script(dir.path(), "printf 'second line\\n' >> \"$1\"");
        let out = edit(&ed, "first line\n").await;
        assert_eq!(out.as_deref(), Ok("first line\nsecond line"));
        // Arguments in $EDITOR are split by the shell.
        let ed = script(dir.path(), "printf '%s' \"$1\" > \"$2\"");
        assert_eq!(
            edit(&format!("{ed} --flag"), "x").await.as_deref(),
            Ok("--flag")
        );
    }

    #[tokio::test]
    async fn a_failing_or_missing_editor_says_so_and_keeps_the_draft() {
        let dir = tempfile::tempdir().unwrap();
        let ed = script(dir.path(), "echo junk > \"$1\"; exit 3");
        let e = edit(&ed, "draft").await.unwrap_err();
        assert!(e.contains("exited with status 3"), "{e}");
        assert!(e.ends_with("the message is unchanged"), "{e}");
        let e = edit("/nonexistent/editor", "draft").await.unwrap_err();
        assert!(e.contains("was not found (set $EDITOR)"), "{e}");
    }
}
