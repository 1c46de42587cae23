//! The command line, as DESIGN.md's CLI contract fixes it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// tether: a stateful runtime for long-lived AI agents.
#[derive(Debug, Parser)]
#[command(name = "tether", version, about, long_about = None)]
pub struct Cli {
    /// The daemon's socket (default: $TETHER_SOCKET, else $XDG_RUNTIME_DIR/tether/tether.sock,
    /// else /tmp/tether-$UID/tether.sock).
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Run the command against the daemon on another machine, through
    /// `ssh HOST tether bridge`: `[USER@]HOST[:PORT]`, or a `[hosts.NAME]` of
    /// config.toml (default: $TETHER_HOST).
    #[arg(
        long,
        global = true,
        value_name = "[USER@]HOST[:PORT]",
        conflicts_with = "socket"
    )]
    pub host: Option<String>,
    /// What to do; without one, the session list.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (headless, for systemd), or stop / query it.
    Daemon(DaemonArgs),
    /// Create a session; attach to it unless -d.
    New(NewArgs),
    /// List sessions.
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Attach to a session (the most recently active one without NAME).
    Attach {
        /// The session.
        name: Option<String>,
        /// Watch only: cannot send, interrupt or approve.
        #[arg(long)]
        read_only: bool,
    },
    /// Send a message to a session.
    Send {
        /// The session.
        name: String,
        /// Join the running turn at its next step.
        #[arg(long, conflicts_with = "interrupt")]
        steer: bool,
        /// Cancel the running turn and start a new one with this message.
        #[arg(long)]
        interrupt: bool,
        /// Makes retries safe: a second send with the same KEY (within a day) is
        /// not delivered again and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// Send a tool server's prompt instead of TEXT: SERVER/PROMPT, expanded by
        /// the server (`tether prompts` lists them).
        #[arg(long, value_name = "SERVER/PROMPT", conflicts_with = "text")]
        prompt: Option<String>,
        /// An argument of the prompt (repeat for each).
        #[arg(long = "arg", value_name = "K=V", requires = "prompt")]
        args: Vec<String>,
        /// The message; `-` reads it from standard input.
        #[arg(required_unless_present = "prompt", num_args = 1.., trailing_var_arg = true)]
        text: Vec<String>,
    },
    /// Interrupt a session's running turn.
    Interrupt {
        /// The session.
        name: String,
        /// Makes retries safe: a second run with the same KEY (within a day) does
        /// nothing again and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Approve a pending tool call (the only one without CALL_ID).
    Approve {
        /// The session.
        name: String,
        /// The call to approve.
        #[arg(conflicts_with = "all")]
        call_id: Option<String>,
        /// Approve every pending call.
        #[arg(long)]
        all: bool,
        /// Also allow later calls like this one without asking: every call of its
        /// tool, or with --prefix the `shell` commands that start with WORDS. For
        /// this session, or with --project for every session in its project.
        #[arg(long)]
        always: bool,
        /// With --always: the rule is for every session working in this session's
        /// project (its git work tree, else its directory), existing and future.
        #[arg(long, requires = "always")]
        project: bool,
        /// With --always, for a `shell` call: the words a command must start with
        /// (e.g. "cargo test"); a command with shell operators, substitutions,
        /// redirections or globs never matches and still asks.
        #[arg(long, value_name = "WORDS", requires = "always")]
        prefix: Option<String>,
        /// Makes retries safe: a second run with the same KEY (within a day) does
        /// nothing again and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// The "always allow" rules that apply to a session (its own and its
    /// project's), or remove one with --rm.
    Approvals {
        /// The session.
        name: String,
        /// Print JSON (an array of rules).
        #[arg(long, conflicts_with = "rm")]
        json: bool,
        /// Remove the rule with this id: the calls it allowed ask again.
        #[arg(long, value_name = "ID")]
        rm: Option<u64>,
    },
    /// Deny a pending tool call (the only one without CALL_ID); the model is told.
    Deny {
        /// The session.
        name: String,
        /// The call to deny.
        #[arg(conflicts_with = "all")]
        call_id: Option<String>,
        /// Deny every pending call.
        #[arg(long)]
        all: bool,
        /// Why (told to the model).
        #[arg(long)]
        reason: Option<String>,
        /// Makes retries safe: a second run with the same KEY (within a day) does
        /// nothing again and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Answer a tool server's question (the only one without REQUEST_ID): --json
    /// with the values (merged over the form's defaults, checked against it), or
    /// --decline, or --cancel. Prints `REQUEST_ID ACTION`.
    Answer {
        /// The session.
        name: String,
        /// The question (`tether ls --json`: pending_inputs; `tether logs`: input_requested).
        request_id: Option<String>,
        /// Accept with these values, a JSON object (`{}` takes the defaults).
        #[arg(long, value_name = "JSON", group = "answer_action", required = true)]
        json: Option<String>,
        /// Say no to the question.
        #[arg(long, group = "answer_action")]
        decline: bool,
        /// Dismiss the question without a choice.
        #[arg(long, group = "answer_action")]
        cancel: bool,
        /// Makes retries safe: a second run with the same KEY (within a day) does
        /// nothing again and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Block until the session is idle, failed, awaiting approval or out of budget; print that state.
    /// With --any: until any session needs a person (awaiting approval, failed or
    /// out of budget); print `NAME STATE`.
    Wait {
        /// The session.
        #[arg(required_unless_present = "any", conflicts_with = "any")]
        name: Option<String>,
        /// Wait for any session that needs a person; one that already does
        /// (the one that has waited longest) returns at once.
        #[arg(long)]
        any: bool,
        /// With --any: print one JSON object (session, name, state, event,
        /// call_ids, since).
        #[arg(long, requires = "any")]
        json: bool,
        /// Give up after SECS (exit 124).
        #[arg(long, value_name = "SECS")]
        timeout: Option<f64>,
    },
    /// Print a session's event log.
    Logs {
        /// The session.
        name: String,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Keep printing new events.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Only events after this seq.
        #[arg(long, value_name = "SEQ")]
        since: Option<u64>,
    },
    /// Fork a session: a new one with NAME's history up to SEQ (default: all of it),
    /// the same model, directory and instructions; NAME is untouched. Prints the
    /// new session's name.
    Fork {
        /// The session to fork.
        name: String,
        /// The new session's name.
        #[arg(short = 'n', long = "name", value_name = "NEW")]
        new: String,
        /// The last event the fork keeps, by its seq (`tether logs NAME` shows them).
        #[arg(long, value_name = "SEQ")]
        at: Option<u64>,
        /// Print the new session as JSON (as `ls --json` prints one).
        #[arg(long)]
        json: bool,
        /// Makes retries safe: a second fork with the same KEY (within a day) creates
        /// nothing and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Compact a session's context now: what the model sees of the older
    /// conversation becomes a summary (the log keeps every event).
    Compact {
        /// The session.
        name: String,
        /// What the summary should keep or focus on, besides the usual.
        #[arg(long, value_name = "TEXT")]
        instructions: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Makes retries safe: a second run with the same KEY (within a day) does
        /// nothing again and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Set a session's budget, or clear it; a session stopped on its budget goes
    /// on (the same turn, with its next model call) when the new one allows.
    #[command(group(clap::ArgGroup::new("limit").required(true).args(["cost", "tokens", "none"])))]
    Budget {
        /// The session.
        name: String,
        /// The cost budget in US dollars (by the price table; see `tether usage`).
        #[arg(long, value_name = "USD")]
        cost: Option<f64>,
        /// The token budget: input (cached included) plus output tokens.
        #[arg(long, value_name = "N")]
        tokens: Option<u64>,
        /// No budget at all.
        #[arg(long)]
        none: bool,
        /// Print the session as JSON (as `ls --json` prints one).
        #[arg(long)]
        json: bool,
        /// Makes retries safe: a second run with the same KEY (within a day) does
        /// nothing again and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Tokens and cost: per session (or of NAME) and in total, with the share of
    /// input read from the provider's prompt cache.
    Usage {
        /// Only this session.
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Schedules and file triggers: a session gets a message on a timer, on a
    /// cron rule, or when files in its directory change, and works on its own.
    Schedule {
        /// add, ls, rm, pause or resume.
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Stop a session and delete it.
    Kill {
        /// The session.
        name: String,
        /// Makes retries safe: a second run with the same KEY (within a day) does
        /// nothing again and prints the same result.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Hand a session to another node of the fleet at its next step boundary.
    Move {
        /// The session.
        name: String,
        /// The node to run it from now on.
        #[arg(long, value_name = "NODE")]
        node: String,
    },
    /// Tool servers and their state.
    Tools {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The prompts the tool servers offer (those a session sees, with NAME).
    Prompts {
        /// The session whose tool servers to ask.
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// OAuth for HTTP tool servers: `mcp login SERVER`, `mcp logout SERVER`.
    Mcp {
        /// login or logout.
        #[command(subcommand)]
        action: McpAction,
    },
    /// An Agent Client Protocol agent on stdio, for editors (Zed's `agent_servers`):
    /// its sessions are ordinary tether sessions.
    Acp,
    /// Relay standard input and output to the daemon's socket, byte for byte
    /// (starting the daemon when none runs): what `tether --host` runs on the
    /// other machine through ssh.
    Bridge {
        /// Do not start a daemon: exit 3 when none runs.
        #[arg(long, hide = true)]
        no_start: bool,
    },
}

/// `tether schedule` actions.
#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Add a schedule to session NAME: each firing sends it TEXT (a user
    /// message with delivery `schedule`). Prints the schedule's id.
    Add(ScheduleAddArgs),
    /// List schedules: id, session, rule, next run, last run and its outcome.
    Ls {
        /// Only this session's.
        name: Option<String>,
        /// Print JSON (an array of schedules).
        #[arg(long)]
        json: bool,
    },
    /// Remove a schedule (a message it sent that still waits stays queued).
    Rm {
        /// The schedule's id (`tether schedule ls`).
        id: u64,
        /// Print the schedule as JSON (as `schedule ls --json` prints one).
        #[arg(long)]
        json: bool,
    },
    /// Pause a schedule: it does not fire until resumed.
    Pause {
        /// The schedule's id.
        id: u64,
        /// Print the schedule as JSON (as `schedule ls --json` prints one).
        #[arg(long)]
        json: bool,
    },
    /// Resume a paused schedule: it fires next at its rule's next time from now.
    Resume {
        /// The schedule's id.
        id: u64,
        /// Print the schedule as JSON (as `schedule ls --json` prints one).
        #[arg(long)]
        json: bool,
    },
}

/// How a schedule's message joins a running turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScheduleDelivery {
    /// A turn of its own once the running one ends.
    Queue,
    /// Joins the running turn at its next step.
    Steer,
}

/// `tether schedule add` arguments.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("rule").required(true).args(["every", "cron", "on_change"])))]
pub struct ScheduleAddArgs {
    /// The session.
    pub name: String,
    /// Fire every DURATION, from now: 90s, 15m, 2h, 1d, 1h30m.
    #[arg(long, value_name = "DURATION")]
    pub every: Option<String>,
    /// Fire when the 5-field cron expression matches ("minute hour day-of-month
    /// month day-of-week", e.g. "0 9 * * 1-5"), in the daemon's local time or --tz.
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// Fire when files matching GLOB under the session's directory change
    /// (debounced; the changed paths are appended to the message). A glob
    /// without / matches file names at any depth; .git/ and .tether/ are ignored.
    #[arg(long = "on-change", value_name = "GLOB")]
    pub on_change: Option<String>,
    /// The time zone of --cron: an IANA name such as Europe/Berlin or UTC.
    #[arg(long, value_name = "TZ")]
    pub tz: Option<String>,
    /// What a firing does while a turn runs: queue (a turn of its own after it,
    /// at most one waiting per schedule) or steer (joins it).
    #[arg(long, value_enum, default_value = "queue")]
    pub delivery: ScheduleDelivery,
    /// Drop a firing missed while the daemon was down (default: it runs once at start).
    #[arg(long)]
    pub skip_missed: bool,
    /// Print the schedule as JSON (as `schedule ls --json` prints one).
    #[arg(long)]
    pub json: bool,
    /// Makes retries safe: a second add with the same KEY (within a day) adds
    /// nothing and prints the same result.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// The message each firing sends.
    #[arg(required = true, num_args = 1.., trailing_var_arg = true)]
    pub text: Vec<String>,
}

/// `tether mcp` actions.
#[derive(Debug, Subcommand)]
pub enum McpAction {
    /// Log in to an HTTP tool server with OAuth: prints the URL (and opens it
    /// with $BROWSER, else xdg-open when there is a display), then waits for
    /// the browser's redirect to a loopback port, or a pasted redirect URL or
    /// code on stdin. The daemon keeps (and refreshes) the tokens.
    Login {
        /// The server's name in tools.toml or .mcp.json.
        server: String,
        /// The loopback port for the redirect (default: any free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Only print the URL; do not open a browser.
        #[arg(long)]
        no_browser: bool,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        timeout: u64,
    },
    /// Forget an HTTP tool server's stored tokens.
    Logout {
        /// The server's name.
        server: String,
    },
}

/// `tether daemon` arguments.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// stop or status; none runs the daemon.
    #[command(subcommand)]
    pub action: Option<DaemonAction>,
    /// Detach from the terminal and log only to the state directory (used by auto-start).
    #[arg(long, hide = true)]
    pub background: bool,
}

/// `tether daemon` actions.
#[derive(Debug, Subcommand)]
pub enum DaemonAction {
    /// Stop the daemon gracefully (everything is persisted).
    Stop,
    /// Is a daemon running, and what does it hold?
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tether new` arguments.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The session's name (default: from the directory).
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// Working directory (default: the current one).
    #[arg(short = 'C', long = "cwd", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// PROVIDER/MODEL (default: config.toml's default_model).
    #[arg(short = 'm', long)]
    pub model: Option<String>,
    /// The system prompt.
    #[arg(long)]
    pub instructions: Option<String>,
    /// Do not attach; print the session's name.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Stop the session's model calls once they cost this much (US dollars, by
    /// the price table); `tether budget` raises it. Default: `[limits]`.
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// Stop the session's model calls once they used this many tokens (input,
    /// cached included, plus output); `tether budget` raises it. Default: `[limits]`.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// Makes retries safe: a second `new` with the same KEY (within a day) creates
    /// nothing and prints the same result.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Work in a new git worktree of the repository at -C DIR (or the current
    /// directory), on a new branch `tether/NAME`; `tether kill` removes it again
    /// when nothing in it would be lost.
    #[arg(long)]
    pub worktree: bool,
    /// With --worktree: the branch (or commit) the new branch starts from
    /// (default: the repository's current HEAD).
    #[arg(long, value_name = "BRANCH", requires = "worktree")]
    pub base: Option<String>,
    /// Run the session on this node of the fleet (default: the daemon's own);
    /// needs a shared store (`[store] url`).
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Any node of the fleet may take the session over when its node dies, not
    /// only one where its working directory exists.
    #[arg(long)]
    pub portable: bool,
    /// A first message.
    #[arg(trailing_var_arg = true)]
    pub prompt: Vec<String>,
}

impl Cli {
    /// The command line of this process. `tether` and `tether attach [NAME]
    /// [--read-only]`, the ways into the TUI, are read without clap: building
    /// clap's whole command tree (every subcommand, every help text) was half
    /// a millisecond of the TUI's first frame. They mean what clap makes of
    /// them (a test checks); anything else, `--help` included, goes to clap.
    pub fn from_env() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
        Cli::into_tui(&args).unwrap_or_else(Cli::parse)
    }

    /// `args` (without the program's name) when they are a plain way into
    /// the TUI: nothing, or `attach`, at most one NAME (not an option, not
    /// empty) and `--read-only` once, in any order.
    fn into_tui(args: &[std::ffi::OsString]) -> Option<Cli> {
        let command = match args.split_first() {
            None => None,
            Some((first, rest)) if first == "attach" => {
                let mut name = None;
                let mut read_only = false;
                for arg in rest {
                    let arg = arg.to_str()?;
                    match arg {
                        "--read-only" if !read_only => read_only = true,
                        _ if arg.is_empty() || arg.starts_with('-') || name.is_some() => {
                            return None;
                        }
                        _ => name = Some(arg.to_string()),
                    }
                }
                Some(Command::Attach { name, read_only })
            }
            Some(_) => return None,
        };
        Some(Cli {
            socket: None,
            host: None,
            command,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
        args.iter().map(Into::into).collect()
    }

    #[test]
    fn the_ways_into_the_tui_mean_what_clap_makes_of_them() {
        for args in [
            &[][..],
            &["attach"],
            &["attach", "x"],
            &["attach", "--read-only"],
            &["attach", "x", "--read-only"],
            &["attach", "--read-only", "my-agent"],
            &["attach", "help"],
            &["attach", "日本"],
        ] {
            let fast = Cli::into_tui(&os(args)).expect("read without clap");
            let clap = Cli::try_parse_from(std::iter::once("tether").chain(args.iter().copied()))
                .expect("clap takes it");
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{args:?}");
        }
    }

    #[test]
    fn anything_else_goes_to_clap() {
        for args in [
            &["attach", "x", "y"][..],
            &["attach", "--read-only", "--read-only"],
            &["attach", "-x"],
            &["attach", "--", "x"],
            &["attach", "--help"],
            &["attach", "-h"],
            &["attach", ""],
            &["attach", "--socket", "/tmp/s", "x"],
            &["attach", "x", "--host", "h"],
            &["--socket", "/tmp/s", "attach", "x"],
            &["--help"],
            &["--version"],
            &["ls"],
            &["attachx"],
        ] {
            assert!(Cli::into_tui(&os(args)).is_none(), "{args:?}");
        }
    }
}
