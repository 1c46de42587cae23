//! The `tether` binary: parse the command line, set up logging, run the command.

mod cli;
mod client;
mod commands;
mod render;
mod ui;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("tether: {}", commands::one_line(&e));
            std::process::ExitCode::from(1)
        }
    }
}
