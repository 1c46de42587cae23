//! Identifying processes across a daemon restart, so a process group that a
//! crashed daemon left running can be stopped without hitting a reused pid.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Who a process is: its pid, when it started (clock ticks since boot) and the
/// boot it started in. A pid reused later has another start time or boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessIdentity {
    /// The pid (a process group leader's pid is its group id).
    pub pid: u32,
    /// Field 22 of `/proc/<pid>/stat`.
    pub start_ticks: u64,
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: String,
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest begins at field 3 (state); starttime is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl ProcessIdentity {
    /// The identity of a live process, if it can be read.
    pub fn of(pid: u32) -> Option<ProcessIdentity> {
        Some(ProcessIdentity {
            pid,
            start_ticks: start_ticks(pid)?,
            boot_id: boot_id()?,
        })
    }

    /// True when the same process is still alive (same boot, same start time).
    pub fn is_alive(&self) -> bool {
        boot_id().is_some_and(|b| b == self.boot_id)
            && start_ticks(self.pid) == Some(self.start_ticks)
    }

    /// Kills the process group this process leads, if it is still the same one.
    /// Returns whether a signal was sent.
    pub fn kill_group_if_alive(&self) -> bool {
        if !self.is_alive() {
            return false;
        }
        let Ok(pid) = i32::try_from(self.pid) else {
            return false;
        };
        killpg(Pid::from_raw(pid), Signal::SIGKILL).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_a_live_process_and_rejects_a_changed_start_time() {
        let me = ProcessIdentity::of(std::process::id()).unwrap();
        assert!(me.is_alive());
        let other = ProcessIdentity {
            start_ticks: me.start_ticks + 1,
            ..me.clone()
        };
        assert!(!other.is_alive(), "a reused pid has another start time");
        let other = ProcessIdentity {
            boot_id: "another-boot".into(),
            ..me
        };
        assert!(!other.is_alive());
    }

    #[test]
    fn kills_a_leftover_group() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .process_group(0)
            .spawn()
            .unwrap();
        let id = ProcessIdentity::of(child.id()).unwrap();
        assert!(id.kill_group_if_alive());
        let status = child.wait().unwrap();
        assert!(!status.success());
    }
}
