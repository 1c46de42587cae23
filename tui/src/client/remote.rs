//! Which machine `tether --host` talks to, and through what: `[USER@]HOST[:PORT]`
//! or a `[hosts.NAME]` entry, the ssh program (`TETHER_SSH`, `[remote] ssh`, else
//! `ssh` from `PATH`) and the remote tether (`command`, default `tether`). Pure:
//! it reads a config table it is given and builds an ssh command line.

/// How to reach a daemon on another machine: the ssh command line that runs
/// `tether bridge` there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// What the user named (`build`, `me@box:2222`), for messages.
    pub name: String,
    /// The ssh program and its own options.
    pub ssh: Vec<String>,
    /// Where [`Remote::ssh`] came from, for the error when it cannot run.
    pub ssh_from: &'static str,
    /// `[USER@]HOST` as ssh takes it.
    pub destination: String,
    /// The port, when not ssh's default (or its config's).
    pub port: Option<u16>,
    /// The command line the remote shell runs tether with (`tether`,
    /// `~/.cargo/bin/tether`); `bridge` is appended.
    pub command: String,
    /// No one can answer ssh's questions (a TUI reconnecting owns the
    /// terminal): ssh runs with `BatchMode=yes`, so it fails instead of asking.
    pub unattended: bool,
}

/// A `--host` that cannot be used, or a config that says how badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The `--host` / `TETHER_HOST` value itself (bad usage: exit 2).
    #[error("{0}")]
    Usage(String),
    /// `TETHER_SSH`, `[remote]` or `[hosts.NAME]` (exit 1).
    #[error("{0}")]
    Config(String),
}

impl Remote {
    /// The whole command line: ssh, its options, `-T` (no terminal: the link
    /// carries bytes), the port, the destination and the remote command. With
    /// `start` false the remote bridge does not start a daemon (`--no-start`).
    pub fn argv(&self, start: bool) -> Vec<String> {
        let mut argv = self.ssh.clone();
        argv.push("-T".into());
        if self.unattended {
            argv.extend(["-o".into(), "BatchMode=yes".into()]);
        }
        if let Some(p) = self.port {
            argv.extend(["-p".into(), p.to_string()]);
        }
        argv.push(self.destination.clone());
        let mut command = format!("{} bridge", self.command);
        if !start {
            command.push_str(" --no-start");
        }
        argv.push(command);
        argv
    }

    /// The command line as a person would type it, for messages.
    pub fn display(&self, start: bool) -> String {
        self.argv(start)
            .iter()
            .map(|a| {
                if a.is_empty()
                    || a.chars()
                        .any(|c| c.is_whitespace() || "'\"\\$`".contains(c))
                {
                    format!("'{}'", a.replace('\'', "'\\''"))
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Reads `host` (a `[hosts.NAME]` entry of `config`, else `[USER@]HOST[:PORT]`)
/// with the ssh program of `tether_ssh` (the environment's `TETHER_SSH`) or
/// `config`'s `[remote]`.
pub fn resolve(
    host: &str,
    tether_ssh: Option<&str>,
    config: Option<&toml::Table>,
) -> Result<Remote, RemoteError> {
    let empty = toml::Table::new();
    let config = config.unwrap_or(&empty);
    let remote = table(config, "remote")?;
    if let Some(remote) = remote {
        known_keys(remote, "[remote]", &["ssh", "command"])?;
    }
    let named = match table(config, "hosts")? {
        Some(hosts) => match hosts.get(host) {
            Some(toml::Value::Table(t)) => Some(t),
            Some(_) => {
                return Err(RemoteError::Config(format!(
                    "[hosts.{host}] must be a table (ssh = \"[USER@]HOST[:PORT]\", port, command)"
                )));
            }
            None => None,
        },
        None => None,
    };
    let (destination, port) = match named {
        Some(t) => {
            let section = format!("[hosts.{host}]");
            known_keys(t, &section, &["ssh", "port", "command"])?;
            let given = match t.get("ssh") {
                None => host.to_string(),
                Some(toml::Value::String(s)) => s.clone(),
                Some(_) => {
                    return Err(RemoteError::Config(format!(
                        "{section} ssh must be a string: \"[USER@]HOST[:PORT]\""
                    )));
                }
            };
            let (destination, port) = destination(&given)
                .map_err(|e| RemoteError::Config(format!("{section} ssh = {given:?}: {e}")))?;
            let port_key = match t.get("port") {
                None => None,
                Some(toml::Value::Integer(n)) => {
                    Some(u16::try_from(*n).ok().filter(|p| *p != 0).ok_or_else(|| {
                        RemoteError::Config(format!("{section} port = {n}: not a TCP port"))
                    })?)
                }
                Some(_) => {
                    return Err(RemoteError::Config(format!(
                        "{section} port must be a number"
                    )));
                }
            };
            if port.is_some() && port_key.is_some() && port != port_key {
                return Err(RemoteError::Config(format!(
                    "{section} gives two ports (in ssh and in port): keep one"
                )));
            }
            (destination, port.or(port_key))
        }
        None => destination(host).map_err(|e| RemoteError::Usage(format!("--host {host}: {e}")))?,
    };
    let command = named
        .and_then(|t| t.get("command"))
        .map(|v| (v, format!("[hosts.{host}] command")))
        .or_else(|| {
            remote
                .and_then(|r| r.get("command"))
                .map(|v| (v, "[remote] command".to_string()))
        });
    let command = match command {
        None => "tether".to_string(),
        Some((toml::Value::String(s), _)) if !s.trim().is_empty() => s.trim().to_string(),
        Some((_, key)) => {
            return Err(RemoteError::Config(format!(
                "{key} must be a command line for the remote shell, such as \"/usr/local/bin/tether\""
            )));
        }
    };
    let (ssh, ssh_from) = match tether_ssh.filter(|s| !s.trim().is_empty()) {
        Some(s) => (
            shlex::split(s).filter(|w| !w.is_empty()).ok_or_else(|| {
                RemoteError::Config(format!(
                    "TETHER_SSH={s:?} does not split like a shell command line (an unclosed quote?)"
                ))
            })?,
            "TETHER_SSH",
        ),
        None => match remote.and_then(|r| r.get("ssh")) {
            None => (vec!["ssh".to_string()], "PATH"),
            Some(v) => (ssh_words(v)?, "[remote] ssh"),
        },
    };
    Ok(Remote {
        name: host.to_string(),
        ssh,
        ssh_from,
        destination,
        port,
        command,
        unattended: false,
    })
}

/// `[remote] ssh`: an array of words (`["ssh", "-o", "ConnectTimeout=5"]`) or
/// one string split like a shell.
fn ssh_words(v: &toml::Value) -> Result<Vec<String>, RemoteError> {
    let bad = || {
        RemoteError::Config(
            "[remote] ssh must be the ssh program and its options, e.g. [\"ssh\", \"-o\", \"ConnectTimeout=10\"]"
                .to_string(),
        )
    };
    let words = match v {
        toml::Value::Array(a) => a
            .iter()
            .map(|w| w.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?,
        toml::Value::String(s) => shlex::split(s).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if words.first().is_none_or(|w| w.is_empty()) {
        return Err(bad());
    }
    Ok(words)
}

fn table<'a>(config: &'a toml::Table, key: &str) -> Result<Option<&'a toml::Table>, RemoteError> {
    match config.get(key) {
        None => Ok(None),
        Some(toml::Value::Table(t)) => Ok(Some(t)),
        Some(_) => Err(RemoteError::Config(format!("[{key}] must be a table"))),
    }
}

fn known_keys(t: &toml::Table, section: &str, known: &[&str]) -> Result<(), RemoteError> {
    match t.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(RemoteError::Config(format!(
            "{section} has no key {k:?} (it takes {})",
            known.join(", ")
        ))),
    }
}

/// `[USER@]HOST[:PORT]` as ssh's destination and port. `[ADDR]:PORT` for an
/// IPv6 address with a port; an address with several colons and no brackets
/// is all host.
pub fn destination(s: &str) -> Result<(String, Option<u16>), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("no host given; expected [USER@]HOST[:PORT]".into());
    }
    if s.starts_with('-') {
        return Err("a host cannot start with '-'".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a host cannot contain spaces".into());
    }
    let (user, rest) = match s.rsplit_once('@') {
        Some((u, r)) if !u.is_empty() && !r.is_empty() => (Some(u), r),
        Some(_) => return Err("expected [USER@]HOST[:PORT]".into()),
        None => (None, s),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or("an unclosed '[' (an IPv6 address is written [ADDR]:PORT)")?;
        match after {
            "" => (host, None),
            p => match p.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err("expected [ADDR]:PORT".into()),
            },
        }
    } else {
        match rest.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, Some(p)),
            _ => (rest, None),
        }
    };
    if host.is_empty() {
        return Err("no host given; expected [USER@]HOST[:PORT]".into());
    }
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{p:?} is not a TCP port"))?,
        ),
    };
    let destination = match user {
        Some(u) => format!("{u}@{host}"),
        None => host.to_string(),
    };
    Ok((destination, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn destinations_take_a_user_and_a_port() {
        assert_eq!(destination("box").unwrap(), ("box".into(), None));
        assert_eq!(
            destination("me@box:2222").unwrap(),
            ("me@box".into(), Some(2222))
        );
        assert_eq!(
            destination("[::1]:2200").unwrap(),
            ("::1".into(), Some(2200))
        );
        assert_eq!(destination("fe80::1").unwrap(), ("fe80::1".into(), None));
        assert!(
            destination("box:ssh")
                .unwrap_err()
                .contains("not a TCP port")
        );
        assert!(destination("box:0").is_err());
        assert!(destination("-oProxyCommand=x").is_err());
        assert!(destination("").is_err());
        assert!(destination("@box").is_err());
        assert!(destination("a b").is_err());
    }

    #[test]
    fn a_plain_host_runs_ssh_from_path_and_tether_bridge() {
        let r = resolve("me@box:2222", None, None).unwrap();
        assert_eq!(
            r.argv(true),
            ["ssh", "-T", "-p", "2222", "me@box", "tether bridge"]
        );
        assert_eq!(r.argv(false).last().unwrap(), "tether bridge --no-start");
        assert_eq!(r.ssh_from, "PATH");
        let quiet = Remote {
            unattended: true,
            ..r
        };
        assert_eq!(quiet.argv(true)[..4], ["ssh", "-T", "-o", "BatchMode=yes"]);
    }

    #[test]
    fn named_hosts_and_remote_settings_come_from_config() {
        let c = config(
            "[remote]\nssh = [\"ssh\", \"-o\", \"ConnectTimeout=5\"]\ncommand = \"~/bin/tether\"\n\n\
             [hosts.build]\nssh = \"me@build.example\"\nport = 2200\ncommand = \"/opt/tether\"\n\n\
             [hosts.plain]\n",
        );
        let b = resolve("build", None, Some(&c)).unwrap();
        assert_eq!(
            b.argv(true),
            [
                "ssh",
                "-o",
                "ConnectTimeout=5",
                "-T",
                "-p",
                "2200",
                "me@build.example",
                "/opt/tether bridge"
            ]
        );
        assert_eq!(b.name, "build");
        // No ssh key: the name is the host; [remote] command applies.
        let p = resolve("plain", None, Some(&c)).unwrap();
        assert_eq!(p.destination, "plain");
        assert_eq!(p.command, "~/bin/tether");
        // Not a named host: as given.
        let o = resolve("other:2022", None, Some(&c)).unwrap();
        assert_eq!((o.destination.as_str(), o.port), ("other", Some(2022)));
        // TETHER_SSH wins over [remote] ssh and splits like a shell.
        let e = resolve("build", Some("ssh -F '/my config'"), Some(&c)).unwrap();
        assert_eq!(e.ssh, ["ssh", "-F", "/my config"]);
        assert_eq!(e.ssh_from, "TETHER_SSH");
    }

    #[test]
    fn bad_settings_are_errors_that_say_where() {
        let bad = |text: &str, host: &str| match resolve(host, None, Some(&config(text))) {
            Err(RemoteError::Config(e)) => e,
            other => panic!("{other:?}"),
        };
        assert!(bad("[remote]\nshh = []\n", "b").contains("[remote] has no key \"shh\""));
        assert!(bad("[remote]\nssh = 3\n", "b").contains("[remote] ssh must be"));
        assert!(bad("[remote]\nssh = []\n", "b").contains("[remote] ssh must be"));
        assert!(bad("[hosts.b]\nport = 70000\n", "b").contains("not a TCP port"));
        assert!(bad("[hosts.b]\nssh = \"b:22\"\nport = 23\n", "b").contains("two ports"));
        assert!(bad("[hosts.b]\nssh = \"-x\"\n", "b").contains("[hosts.b] ssh"));
        assert!(bad("[hosts.b]\ncommand = \"\"\n", "b").contains("[hosts.b] command"));
        assert!(matches!(
            resolve("b", Some("ssh 'open"), None),
            Err(RemoteError::Config(e)) if e.contains("TETHER_SSH")
        ));
        assert!(matches!(
            resolve("b:x", None, None),
            Err(RemoteError::Usage(e)) if e.contains("--host b:x")
        ));
    }

    #[test]
    fn the_display_form_quotes_what_a_shell_would_split() {
        let r = resolve("box", None, None).unwrap();
        assert_eq!(r.display(true), "ssh -T box 'tether bridge'");
    }
}
