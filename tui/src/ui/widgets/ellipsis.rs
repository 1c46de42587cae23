//! Text cut to a width with an ellipsis where it was cut, so a cut name or path
//! never passes for a whole one: names keep their start (`api-refac…`), paths
//! their end (`…/src/deep/dir`), where the part that tells them apart is.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

const ELLIPSIS: char = '…';

/// `s` in at most `width` columns: whole when it fits, else its start and `…`.
pub fn cut_end(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push(ELLIPSIS);
    out
}

/// A path in at most `width` columns: whole when it fits, else `…` and as many
/// of its last components as fit (`…/src/deep/dir`); when not even the last
/// one fits, `…` and its end.
pub fn cut_path(path: &str, width: usize) -> String {
    if path.width() <= width {
        return path.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    // The longest tail that starts at a `/` and fits.
    let mut best: Option<usize> = None;
    for (i, _) in path.match_indices('/') {
        if i > 0 && path[i..].width() <= room {
            best = Some(i);
            break;
        }
    }
    let tail = match best {
        Some(i) => &path[i..],
        None => {
            // Cut inside the last component: its last characters that fit.
            let mut used = 0;
            let mut start = path.len();
            for (i, c) in path.char_indices().rev() {
                let w = c.width().unwrap_or(0);
                if used + w > room {
                    break;
                }
                used += w;
                start = i;
            }
            &path[start..]
        }
    };
    format!("{ELLIPSIS}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_start() {
        assert_eq!(cut_end("api-refactor", 12), "api-refactor");
        assert_eq!(cut_end("api-refactor", 8), "api-ref…");
        assert_eq!(cut_end("api-refactor", 1), "…");
        assert_eq!(cut_end("api-refactor", 0), "");
        // Wide characters count two columns and are never split.
        assert_eq!(cut_end("日本語の名前", 6), "日本…");
        assert!(cut_end("日本語の名前", 6).width() <= 6);
    }

    #[test]
    fn a_path_keeps_its_last_components() {
        let p = "/home/ana/projects/tether/src/deep/dir";
        assert_eq!(cut_path(p, 60), p);
        assert_eq!(cut_path(p, 15), "…/src/deep/dir");
        assert_eq!(cut_path(p, 14), "…/src/deep/dir");
        assert_eq!(cut_path(p, 13), "…/deep/dir");
        // Not even the last component fits: its end.
        assert_eq!(cut_path("/srv/a-very-long-directory-name", 8), "…ry-name");
        for w in 0..40 {
            assert!(cut_path(p, w).width() <= w, "{w}");
        }
    }
}
