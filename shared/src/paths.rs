//! Where tether keeps its socket, config and state, per DESIGN.md "Files".

use std::path::PathBuf;

/// Environment variable naming the socket.
pub const ENV_SOCKET: &str = "TETHER_SOCKET";
/// Environment variable naming the config directory.
pub const ENV_CONFIG_DIR: &str = "TETHER_CONFIG_DIR";
/// Environment variable naming the state directory.
pub const ENV_STATE_DIR: &str = "TETHER_STATE_DIR";

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> PathBuf {
    env_path("HOME").unwrap_or_else(|| PathBuf::from("/"))
}

/// The socket path: `explicit`, else `$TETHER_SOCKET`, else
/// `$XDG_RUNTIME_DIR/tether/tether.sock`, else `/tmp/tether-$UID/tether.sock`.
pub fn socket_path(explicit: Option<PathBuf>, uid: u32) -> PathBuf {
    explicit
        .or_else(|| env_path(ENV_SOCKET))
        .unwrap_or_else(|| match env_path("XDG_RUNTIME_DIR") {
            Some(dir) => dir.join("tether").join("tether.sock"),
            None => PathBuf::from(format!("/tmp/tether-{uid}")).join("tether.sock"),
        })
}

/// The config directory: `$TETHER_CONFIG_DIR`, else `$XDG_CONFIG_HOME/tether`,
/// else `~/.config/tether`.
pub fn config_dir() -> PathBuf {
    env_path(ENV_CONFIG_DIR).unwrap_or_else(|| {
        env_path("XDG_CONFIG_HOME")
            .unwrap_or_else(|| home().join(".config"))
            .join("tether")
    })
}

/// The state directory: `$TETHER_STATE_DIR`, else `$XDG_STATE_HOME/tether`,
/// else `~/.local/state/tether`.
pub fn state_dir() -> PathBuf {
    env_path(ENV_STATE_DIR).unwrap_or_else(|| {
        env_path("XDG_STATE_HOME")
            .unwrap_or_else(|| home().join(".local").join("state"))
            .join("tether")
    })
}

/// Creates `dir` (and its parents) and makes it private to its owner (0700):
/// the state directory holds conversations and tool output.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}
