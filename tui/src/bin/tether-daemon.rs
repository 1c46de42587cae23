//! The `tether-daemon` binary: the daemon alone, beside `tether` (issue 13).
//! `tether daemon` runs it in its own place (exec) and a command that finds no
//! daemon starts it; the `tether` executable that people start for every
//! command and every attach then links none of the daemon, so it starts in a
//! fraction of the time (its relocations are what a start costs).

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: tether-daemon [--socket PATH] [--background]
The tether daemon; `tether daemon` runs it, and any tether command starts it when none runs.";

fn main() -> ExitCode {
    let mut socket: Option<PathBuf> = None;
    let mut background = false;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--socket") => match args.next() {
                Some(path) => socket = Some(PathBuf::from(path)),
                None => return usage("--socket needs a path"),
            },
            Some("--background") => background = true,
            Some("--version" | "-V") => {
                println!("tether-daemon {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            Some("--help" | "-h") => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => return usage(&format!("unexpected argument {}", arg.to_string_lossy())),
        }
    }
    let uid = nix::unistd::getuid().as_raw();
    let socket = tether_shared::paths::socket_path(socket, uid);
    match tether::commands::host_daemon(socket, background) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether: {}", tether::commands::one_line(&e));
            ExitCode::from(1)
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("tether-daemon: {problem}\n{USAGE}");
    ExitCode::from(2)
}
