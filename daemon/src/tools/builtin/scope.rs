//! Whether a path a tool call names lies inside a session's working directory, and
//! which builtin calls only read what belongs to the session.
//!
//! The built-in approval rule (read-only builtins run without asking) holds only inside
//! the session's directory, so this check must not be fooled by `..` or by a symlink
//! that points out of the directory: it resolves the path the way the kernel will when
//! the tool opens it.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

/// The builtin tools that only read, and the argument naming the path each reads
/// (with the default used when the argument is absent).
const READ_ONLY_BUILTINS: [(&str, Option<&str>); 2] =
    [("read_file", None), ("list_dir", Some("."))];

/// The builtin tools that read only the session's own log (through the call's
/// `SessionLog`, whatever their arguments): always inside the session.
const SESSION_LOG_READERS: [&str; 2] = crate::store::search::HISTORY_TOOLS;

/// True when `tool` is a read-only builtin whose path argument lies inside `cwd`, or
/// one that reads only the session's own log. Arguments that are not an object, or a
/// path that is not a string, are not inside.
pub fn read_only_call_inside(tool: &str, arguments: &Value, cwd: &Path) -> bool {
    if SESSION_LOG_READERS.contains(&tool) {
        return true;
    }
    let Some((_, default)) = READ_ONLY_BUILTINS.iter().find(|(name, _)| *name == tool) else {
        return false;
    };
    let path = match arguments.get("path") {
        Some(Value::String(p)) => p.as_str(),
        None | Some(Value::Null) if arguments.is_object() => match default {
            Some(d) => d,
            None => return false,
        },
        _ => return false,
    };
    is_inside(cwd, path)
}

/// True when `path` (relative paths against `cwd`) names `cwd` itself or something
/// beneath it, after following every symlink of the part that exists.
pub fn is_inside(cwd: &Path, path: &str) -> bool {
    let Ok(root) = std::fs::canonicalize(cwd) else {
        // A working directory that is gone contains nothing.
        return false;
    };
    let p = Path::new(path);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    let Some(resolved) = resolve(&joined) else {
        return false;
    };
    resolved.starts_with(&root)
}

/// The canonical form of `path`: its longest existing ancestor canonicalised (symlinks
/// and `..` resolved by the file system), then the rest, which cannot contain a symlink
/// since it does not exist, with `.` and `..` applied by hand.
fn resolve(path: &Path) -> Option<PathBuf> {
    for existing in path.ancestors() {
        let Ok(base) = std::fs::canonicalize(existing) else {
            continue;
        };
        let rest = path.strip_prefix(existing).ok()?;
        let mut out = base;
        for c in rest.components() {
            match c {
                Component::Normal(name) => out.push(name),
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                // A prefix or root cannot follow an existing ancestor.
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        return Some(out);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dirs() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let work = root.path().join("work");
        std::fs::create_dir_all(work.join("sub")).unwrap();
        std::fs::write(work.join("a.txt"), "a").unwrap();
        std::fs::write(root.path().join("secret"), "s").unwrap();
        (root, work)
    }

    #[test]
    fn relative_and_absolute_paths_inside_are_inside() {
        let (_root, work) = dirs();
        assert!(is_inside(&work, "a.txt"));
        assert!(is_inside(&work, "."));
        assert!(is_inside(&work, "sub/../a.txt"));
        assert!(is_inside(&work, "not/yet/there.txt"));
        assert!(is_inside(&work, work.join("sub").to_str().unwrap()));
        assert!(is_inside(&work, work.join("a.txt").to_str().unwrap()));
    }

    #[test]
    fn dot_dot_out_of_the_directory_is_outside() {
        let (root, work) = dirs();
        assert!(!is_inside(&work, "../secret"));
        assert!(!is_inside(&work, "sub/../../secret"));
        assert!(!is_inside(&work, "missing/../../secret"));
        assert!(!is_inside(&work, "/etc/hostname"));
        assert!(!is_inside(&work, "/"));
        assert!(!is_inside(&work, root.path().to_str().unwrap()));
        // A sibling whose name starts with the directory's name is not inside it.
        std::fs::create_dir_all(root.path().join("work2")).unwrap();
        assert!(!is_inside(&work, "../work2"));
    }

    #[test]
    fn a_symlink_out_of_the_directory_is_outside() {
        let (root, work) = dirs();
        std::os::unix::fs::symlink(root.path().join("secret"), work.join("link")).unwrap();
        std::os::unix::fs::symlink(root.path(), work.join("up")).unwrap();
        std::os::unix::fs::symlink("/etc", work.join("etc")).unwrap();
        assert!(!is_inside(&work, "link"));
        assert!(!is_inside(&work, "up/secret"));
        assert!(!is_inside(&work, "up/work/../secret"));
        assert!(!is_inside(&work, "etc/hostname"));
        assert!(!is_inside(&work, "etc/not-there"));
        // A symlink that stays inside is fine.
        std::os::unix::fs::symlink(work.join("a.txt"), work.join("alias")).unwrap();
        assert!(is_inside(&work, "alias"));
    }

    #[test]
    fn a_working_directory_reached_through_a_symlink_still_contains_its_files() {
        let (root, work) = dirs();
        let via = root.path().join("via");
        std::os::unix::fs::symlink(&work, &via).unwrap();
        assert!(is_inside(&via, "a.txt"));
        assert!(is_inside(&via, work.join("a.txt").to_str().unwrap()));
        assert!(!is_inside(&via, "../secret"));
    }

    #[test]
    fn only_read_only_builtins_with_a_path_inside_qualify() {
        let (_root, work) = dirs();
        assert!(read_only_call_inside(
            "read_file",
            &json!({"path": "a.txt"}),
            &work
        ));
        assert!(read_only_call_inside("list_dir", &json!({}), &work));
        assert!(!read_only_call_inside("read_file", &json!({}), &work));
        assert!(!read_only_call_inside(
            "read_file",
            &json!({"path": "/etc/hostname"}),
            &work
        ));
        assert!(!read_only_call_inside(
            "list_dir",
            &json!({"path": "/root"}),
            &work
        ));
        assert!(!read_only_call_inside(
            "write_file",
            &json!({"path": "a.txt"}),
            &work
        ));
        assert!(!read_only_call_inside("read_file", &json!("a.txt"), &work));
        assert!(read_only_call_inside(
            "history_search",
            &json!({"query": "x"}),
            &work
        ));
        assert!(read_only_call_inside("history_read", &json!(7), &work));
        assert!(!read_only_call_inside(
            "read_file",
            &json!({"path": 7}),
            &work
        ));
    }
}
