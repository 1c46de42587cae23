//! What an approval prompt shows of a builtin file change: a unified diff of
//! `write_file` / `edit_file` against the file as it is when the approval is
//! asked. Only the daemon can read the file (the person deciding may be on
//! another machine), so it sends the diff in `approval_requested`.

use std::path::Path;

use serde_json::Value;
use tether_shared::diff::{self, MAX_FILE_BYTES};

use super::builtin::resolve;

/// The diff (or a one-line note on why there is none, such as the call being
/// bound to fail) for a call of `tool`, or `None` when the tool changes no file
/// this way.
pub async fn approval_diff(tool: &str, arguments: &Value, cwd: &Path) -> Option<String> {
    let arg = |name: &str| arguments.get(name).and_then(Value::as_str);
    let shown = arg("path")?;
    let path = resolve(cwd, shown);
    match tool {
        "write_file" => {
            let content = arg("content")?;
            let current = match current(&path, shown).await {
                Ok(Some(text)) => text,
                Ok(None) => String::new(), // a new file
                Err(note) => return Some(note),
            };
            Some(diff::unified(&current, content, shown))
        }
        "edit_file" => {
            let (old, new) = (arg("old_string")?, arg("new_string")?);
            let text = match current(&path, shown).await {
                Ok(Some(text)) => text,
                Ok(None) => return Some(format!("{shown} does not exist: the call will fail")),
                Err(note) => return Some(note),
            };
            match text.matches(old).count() {
                _ if old.is_empty() => None,
                1 => Some(diff::unified(&text, &text.replacen(old, new, 1), shown)),
                0 => Some(format!(
                    "old_string is not in {shown}: the call will fail and change nothing"
                )),
                n => Some(format!(
                    "old_string is in {shown} {n} times: the call will fail and change nothing"
                )),
            }
        }
        _ => None,
    }
}

/// The file's text; `Ok(None)` when it does not exist; `Err(note)` when it
/// cannot be diffed (a directory, too big, not UTF-8, unreadable).
async fn current(path: &Path, shown: &str) -> Result<Option<String>, String> {
    let meta = match tokio::fs::metadata(path).await {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {shown} to show a diff: {e}")),
    };
    if meta.is_dir() {
        return Err(format!("{shown} is a directory: the call will fail"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{shown} is {} bytes, too big to diff here; the call changes it",
            meta.len()
        ));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read {shown} to show a diff: {e}"))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("{shown} is not UTF-8 text: no diff to show"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn write_file_diffs_against_the_file_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "one\ntwo\nthree\n").unwrap();
        let d = approval_diff(
            "write_file",
            &json!({"path": "a.txt", "content": "one\n2\nthree\n"}),
            dir.path(),
        )
        .await
        .unwrap();
        assert!(d.contains("-two\n+2\n"), "{d}");
        // A new file: all of it added.
        let d = approval_diff(
            "write_file",
            &json!({"path": "sub/new.txt", "content": "hi\n"}),
            dir.path(),
        )
        .await
        .unwrap();
        assert!(d.ends_with("+hi"), "{d}");
    }

    #[tokio::test]
    async fn edit_file_diffs_in_context_or_says_why_it_will_fail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("m.rs"),
            "fn a() {}\nfn b() {}\nfn a2() {}\n",
        )
        .unwrap();
        let edit =
            |old: &str| json!({"path": "m.rs", "old_string": old, "new_string": "fn c() {}"});
        let d = approval_diff("edit_file", &edit("fn b() {}"), dir.path())
            .await
            .unwrap();
        assert!(
            d.contains(" fn a() {}\n-fn b() {}\n+fn c() {}\n fn a2() {}"),
            "{d}"
        );
        let d = approval_diff("edit_file", &edit("fn a"), dir.path())
            .await
            .unwrap();
        assert!(d.contains("2 times: the call will fail"), "{d}");
        let d = approval_diff("edit_file", &edit("nope"), dir.path())
            .await
            .unwrap();
        assert!(d.contains("not in m.rs"), "{d}");
        assert_eq!(
            approval_diff("shell", &json!({"command": "ls"}), dir.path()).await,
            None
        );
    }
}
