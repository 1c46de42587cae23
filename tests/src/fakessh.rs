//! A fake `ssh` for `tether --host` tests: a script put first on the local
//! env's `PATH` that logs its arguments, skips ssh's options and the host, and
//! runs the remote command here, as the remote shell would, with the "remote"
//! env's directories (a second daemon). No sshd is needed; the tether on the
//! other end is the real binary.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::harness::{TestEnv, tether_bin};

/// The fake ssh installed in one env.
pub struct FakeSsh {
    dir: PathBuf,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Writes an executable shell script.
pub fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl FakeSsh {
    /// An `ssh` on `local`'s PATH that runs the remote command against
    /// `remote`'s daemon, with a `tether` on the remote PATH.
    pub fn to(local: &mut TestEnv, remote: &TestEnv) -> FakeSsh {
        Self::running(local, remote, true, "")
    }

    /// As [`FakeSsh::to`], with no `tether` on the remote PATH (the remote
    /// shell says "not found", exit 127).
    pub fn without_tether(local: &mut TestEnv, remote: &TestEnv) -> FakeSsh {
        Self::running(local, remote, false, "")
    }

    /// As [`FakeSsh::to`], with `exports` (`NAME=value ...`) added to the
    /// remote environment.
    pub fn with_remote_env(local: &mut TestEnv, remote: &TestEnv, exports: &str) -> FakeSsh {
        Self::running(local, remote, true, exports)
    }

    fn running(local: &mut TestEnv, remote: &TestEnv, tether: bool, exports: &str) -> FakeSsh {
        let fake = FakeSsh::new(local);
        let remote_bin = fake.dir.join("remote-bin");
        std::fs::create_dir_all(&remote_bin).unwrap();
        if tether {
            std::os::unix::fs::symlink(tether_bin(), remote_bin.join("tether")).unwrap();
        }
        let env = [
            ("TETHER_SOCKET", remote.socket.display().to_string()),
            ("TETHER_CONFIG_DIR", remote.config_dir.display().to_string()),
            ("TETHER_STATE_DIR", remote.state_dir.display().to_string()),
            ("HOME", remote.root.path().display().to_string()),
            ("PATH", format!("{}:/usr/bin:/bin", remote_bin.display())),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect::<Vec<_>>()
        .join(" ");
        // `exec`, twice: this process becomes the remote tether, so killing the
        // pid it logs drops the link as killing ssh would.
        let down = quote(&fake.dir.join("down").display().to_string());
        fake.install(&format!(
            "if [ -e {down} ]; then\n\
             \x20 echo 'ssh: connect to host box port 22: Connection refused' >&2\n\
             \x20 exit 255\n\
             fi\n\
             while [ $# -gt 0 ]; do\n\
             \x20 case \"$1\" in\n\
             \x20   -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;\n\
             \x20   -*) shift ;;\n\
             \x20   *) shift; break ;;\n\
             \x20 esac\n\
             done\n\
             cd {home}\n\
             export {env} {exports}\n\
             exec sh -c \"exec $*\"\n",
            home = quote(&remote.root.path().display().to_string()),
        ));
        fake
    }

    /// While `down`, ssh fails as when the host cannot be reached (exit 255).
    pub fn set_down(&self, down: bool) {
        let path = self.dir.join("down");
        if down {
            std::fs::write(path, "").unwrap();
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    /// An `ssh` that runs `body` (a shell script's text) after logging.
    pub fn scripted(local: &mut TestEnv, body: &str) -> FakeSsh {
        let fake = FakeSsh::new(local);
        fake.install(body);
        fake
    }

    fn new(local: &mut TestEnv) -> FakeSsh {
        let dir = local.root.path().join("fake-ssh");
        std::fs::create_dir_all(&dir).unwrap();
        let path = format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        local.env.retain(|(k, _)| k != "PATH");
        local.env.push(("PATH".into(), path));
        FakeSsh { dir }
    }

    fn install(&self, body: &str) {
        let log = quote(&self.dir.join("calls").display().to_string());
        let pids = quote(&self.dir.join("pids").display().to_string());
        script(
            &self.dir.join("ssh"),
            &format!("printf '%s\\n' \"$*\" >> {log}\necho $$ >> {pids}\n{body}"),
        );
    }

    /// Each run's arguments, joined by spaces, oldest first.
    pub fn calls(&self) -> Vec<String> {
        crate::harness::lines(&self.dir.join("calls"))
    }

    /// Each run's pid, oldest first.
    pub fn pids(&self) -> Vec<i32> {
        crate::harness::lines(&self.dir.join("pids"))
            .iter()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// A directory for the test's own scripts (fake remote tethers).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
