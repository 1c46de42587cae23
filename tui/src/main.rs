//! The `tether` binary: parse the command line and run the command.

fn main() -> std::process::ExitCode {
    tether::ui::trace::mark("main");
    let cli = tether::cli::Cli::from_env();
    tether::ui::trace::mark("command line read");
    match tether::commands::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("tether: {}", tether::commands::one_line(&e));
            std::process::ExitCode::from(1)
        }
    }
}
