//! The `tether-daemon` binary: the daemon alone, beside `tether` (issue 13).
//! `tether daemon` runs it in its own place (exec) and a command that finds no
//! daemon starts it; the `tether` executable that people start for every
//! command and every attach then links none of the daemon, so it starts in a
//! fraction of the time (its relocations are what a start costs).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// The tether daemon: `tether daemon` runs it, and any tether command starts it
/// when none runs.
#[derive(Debug, Parser)]
#[command(name = "tether-daemon", version)]
struct Args {
    /// The socket to listen on (default: $TETHER_SOCKET, else
    /// $XDG_RUNTIME_DIR/tether/tether.sock, else /tmp/tether-$UID/tether.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Detach from the terminal and log only to the state directory.
    #[arg(long)]
    background: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let uid = nix::unistd::getuid().as_raw();
    let socket = tether_shared::paths::socket_path(args.socket, uid);
    match tether::commands::host_daemon(socket, args.background) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether: {}", tether::commands::one_line(&e));
            // Started in the background by a command, which waits for the
            // daemon that holds the lock (`client::local`); in the foreground,
            // an error like any other (exit 1, as DESIGN.md says).
            if args.background && e.downcast_ref::<tether_daemon::AlreadyRunning>().is_some() {
                ExitCode::from(tether_daemon::EXIT_ALREADY_RUNNING)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
