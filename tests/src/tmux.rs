//! Driving the real `tether` TUI inside tmux, the way a person sees it:
//! `send-keys` in, `capture-pane` out, on a private tmux server per test.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::harness::{TestEnv, tether_bin};

/// One tmux pane running a command.
pub struct Pane {
    server: String,
    exit_file: PathBuf,
}

/// True when tmux is installed.
pub fn available() -> bool {
    std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What a TUI test says when it cannot run: it fails, it never passes unseen.
pub const TMUX_MISSING: &str = "tmux is not installed: the TUI end-to-end tests need it (install it, e.g. `apt-get install tmux`)";

/// Fails the calling test when tmux is missing. A test that cannot run must not
/// report "passed".
pub fn require() {
    assert!(available(), "{TMUX_MISSING}");
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Pane {
    /// Starts `tether ARGS` in a `width`x`height` pane with the env's directories.
    pub fn start(env: &TestEnv, label: &str, args: &[&str], width: u16, height: u16) -> Pane {
        require();
        let server = format!("tether-test-{}-{label}", std::process::id());
        let exit_file = env.root.path().join(format!("{label}.exit"));
        let mut cmd = String::new();
        for (k, v) in [
            ("TETHER_SOCKET", env.socket.display().to_string()),
            ("TETHER_CONFIG_DIR", env.config_dir.display().to_string()),
            ("TETHER_STATE_DIR", env.state_dir.display().to_string()),
            ("HOME", env.root.path().display().to_string()),
        ] {
            cmd.push_str(&format!("{k}={} ", shell_quote(&v)));
        }
        for (k, v) in &env.env {
            cmd.push_str(&format!("{k}={} ", shell_quote(v)));
        }
        cmd.push_str(&shell_quote(&tether_bin().display().to_string()));
        for a in args {
            cmd.push(' ');
            cmd.push_str(&shell_quote(a));
        }
        let script = format!(
            "cd {}; {cmd}; echo \"exit=$?\" > {}; echo DETACHED-SHELL; sleep 600",
            shell_quote(&env.work_dir.display().to_string()),
            shell_quote(&exit_file.display().to_string())
        );
        let status = std::process::Command::new("tmux")
            .args([
                "-L",
                &server,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(script)
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        Pane { server, exit_file }
    }

    /// Sends keys (tmux key names, or literal text with `literal`).
    pub fn keys(&self, keys: &[&str]) {
        let status = std::process::Command::new("tmux")
            .args(["-L", &self.server, "send-keys", "-t", "0"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        let status = std::process::Command::new("tmux")
            .args(["-L", &self.server, "send-keys", "-t", "0", "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// A tmux format evaluated for the pane (`#{alternate_on}`, `#{cursor_flag}`).
    pub fn format(&self, fmt: &str) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", &self.server, "display-message", "-p", "-t", "0", fmt])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until the tmux format `fmt` evaluates to `want` for the pane
    /// (`#{window_bell_flag}`, `#{pane_title}`), or panics saying what it was.
    pub async fn wait_format(&self, fmt: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.format(fmt);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {fmt} to be {want:?}: it is {got:?}; the screen shows:\n{}",
                self.screen()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Pastes `text` the way tmux does (`paste-buffer -p`: bracketed when the
    /// program asked for it, each line end sent as CR).
    pub fn paste(&self, text: &str) {
        self.paste_buffer(text, true);
    }

    /// Pastes `text` as a terminal without bracketed paste does: the bytes
    /// arrive as keys (`paste-buffer` without `-p`).
    pub fn paste_unmarked(&self, text: &str) {
        self.paste_buffer(text, false);
    }

    fn paste_buffer(&self, text: &str, bracketed: bool) {
        let mut paste = vec!["paste-buffer", "-b", "tether-test", "-t", "0"];
        if bracketed {
            paste.push("-p");
        }
        for args in [vec!["set-buffer", "-b", "tether-test", text], paste] {
            let status = std::process::Command::new("tmux")
                .args(["-L", &self.server])
                .args(&args)
                .status()
                .expect("tmux paste");
            assert!(status.success(), "tmux {args:?} failed");
        }
    }

    /// The pid of the `tether` process in the pane (the pane's shell's child).
    pub fn tether_pid(&self) -> u32 {
        let shell = self.format("#{pane_pid}");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_else(|e| {
                panic!("cannot read the children of the pane's shell {shell}: {e}")
            });
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the pane's shell {shell} runs no tether"))
    }

    /// What the pane shows now.
    pub fn screen(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", &self.server, "capture-pane", "-p", "-t", "0"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the pane shows now, with its colours as SGR sequences (`capture-pane -e`).
    pub fn screen_with_styles(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", &self.server, "capture-pane", "-p", "-e", "-t", "0"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `pred`, or panics showing the screen.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen shows:\n{s}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the screen contains `text`.
    pub async fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?} on screen"), |s| s.contains(text))
            .await
    }

    /// The tether process's exit status line, once it exited (`exit=N`).
    pub async fn wait_exit(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // The shell creates the file before it writes to it: wait for a whole line.
            if let Ok(s) = std::fs::read_to_string(&self.exit_file)
                && s.ends_with('\n')
            {
                return s.trim().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "tether did not exit; the screen shows:\n{}",
                self.screen()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.server, "kill-server"])
            .status();
    }
}
