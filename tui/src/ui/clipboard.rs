//! Where copied text goes. Outside tmux, and inside a tmux whose
//! `set-clipboard` is `on`, an OSC 52 sequence written to the terminal (see
//! [`crate::ui::widgets::osc52`]): the terminal, or tmux on its way there,
//! puts it on the clipboard. Inside a tmux that would drop it (`set-clipboard`
//! `external`, tmux's default, or `off`), `tmux load-buffer -w -`: a tmux
//! paste buffer, which tmux also sends on to the terminal's clipboard when it
//! can. tmux's option is read at each copy, so changing it takes effect at once.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// How a copy reaches the clipboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// An OSC 52 sequence to the terminal.
    Osc52,
    /// `tmux load-buffer -w -`.
    TmuxBuffer,
}

/// The route, inside tmux or not, with tmux's `set-clipboard` value (when it
/// could be read).
pub fn route(in_tmux: bool, set_clipboard: Option<&str>) -> Route {
    match (in_tmux, set_clipboard) {
        (false, _) | (true, Some("on")) => Route::Osc52,
        (true, _) => Route::TmuxBuffer,
    }
}

/// The route now: asks the tmux we run in, if any, for its `set-clipboard`.
pub async fn current_route() -> Route {
    let in_tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    if !in_tmux {
        return route(false, None);
    }
    let out = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::process::Command::new("tmux")
            .args(["show-options", "-sv", "set-clipboard"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output(),
    )
    .await;
    let value = match out {
        Ok(Ok(o)) if o.status.success() => {
            Some(String::from_utf8_lossy(&o.stdout).trim().to_string())
        }
        _ => None,
    };
    route(true, value.as_deref())
}

/// Puts `text` in a tmux paste buffer (and the terminal's clipboard, `-w`);
/// false when tmux could not be run or refused.
pub async fn tmux_load_buffer(text: &str) -> bool {
    let run = async {
        let mut child = tokio::process::Command::new("tmux")
            .args(["load-buffer", "-w", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        stdin.write_all(text.as_bytes()).await.ok()?;
        drop(stdin);
        child.wait().await.ok().map(|s| s.success())
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), run).await,
        Ok(Some(true))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc_52_unless_a_tmux_would_drop_it() {
        assert_eq!(route(false, None), Route::Osc52);
        assert_eq!(route(true, Some("on")), Route::Osc52);
        assert_eq!(route(true, Some("external")), Route::TmuxBuffer);
        assert_eq!(route(true, Some("off")), Route::TmuxBuffer);
        assert_eq!(route(true, None), Route::TmuxBuffer);
    }
}
