//! A tiny tmpfs mounted over a test's directory, to fill a disk for real.
//!
//! Mounting needs root (or CAP_SYS_ADMIN; without them, `sudo -n` is tried). A test that needs one and cannot get
//! it fails with a message saying so: it never passes without having run.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted at a directory; unmounted when dropped.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `"2m"`) at `dir`, creating the directory.
    pub fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let options = format!("size={size},mode=0700");
        // As root, mount(8) itself; otherwise sudo without a password, if allowed
        // (the mount is then owned by root: give it to us with uid= and gid=).
        let mut out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount(8)");
        if !out.status.success() && !nix::unistd::Uid::effective().is_root() {
            let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
            let owned = format!("{options},uid={uid},gid={gid}");
            if let Ok(o) = Command::new("sudo")
                .args(["-n", "mount", "-t", "tmpfs", "-o", &owned, "tmpfs"])
                .arg(dir)
                .output()
            {
                out = o;
            }
        }
        assert!(
            out.status.success(),
            "this test needs a {size} tmpfs at {} and could not mount one ({}): run the suite \
             as root (or with CAP_SYS_ADMIN), as CI does",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs {
            dir: dir.to_path_buf(),
        }
    }

    /// Writes `path` until the disk is full (ENOSPC); returns the bytes written.
    pub fn fill(&self, path: &Path) -> u64 {
        use std::io::Write;
        let mut f = std::fs::File::create(path).unwrap();
        let chunk = vec![0x55u8; 4096];
        let mut written = 0u64;
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        // Top up the last partial page, byte by byte.
        while let Ok(1) = f.write(&[0x55]) {
            written += 1;
        }
        written
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a daemon still holding files there must not keep the mount alive.
        let ok = Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("sudo")
                .args(["-n", "umount", "-l"])
                .arg(&self.dir)
                .status();
        }
    }
}
