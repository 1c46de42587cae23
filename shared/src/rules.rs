//! "Always allow" rules (issue 11): what a rule is on the wire and in the log, and
//! the one question every part asks of it, "does this rule allow this call?".
//!
//! A rule allows every call of one tool, or, for the builtin `shell`, the commands
//! that start with a prefix of words. The prefix test is deliberately narrow: a
//! command matches only when it is nothing but plain words, so a rule for `ls`
//! can never let `ls; rm -rf /`, `ls $(rm x)` or `ls > /etc/passwd` through.
//! Pure code, shared by the daemon (which decides) and the TUI (which shows what a
//! rule would match before it is added).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The builtin tool whose rules may carry a command prefix.
pub const SHELL_TOOL: &str = "shell";

/// Where a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleScope {
    /// Only the session it was added in.
    Session,
    /// Every session, existing and future, whose working directory is in the
    /// project: the git work tree that holds it, else that directory itself.
    Project,
    /// A scope this client does not know (sent by a newer daemon).
    #[serde(other)]
    Unknown,
}

impl RuleScope {
    /// The word used on the wire and in CLI output.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleScope::Session => "session",
            RuleScope::Project => "project",
            RuleScope::Unknown => "unknown",
        }
    }
}

/// A stored "always allow" rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// Its id, unique in the store (`tether approvals NAME --rm ID`).
    pub id: u64,
    /// Where it applies.
    pub scope: RuleScope,
    /// The tool it allows (its name as the model sees it).
    pub tool: String,
    /// For `shell`: the words a command must start with; absent allows every call of
    /// `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// When it was added, RFC 3339 UTC.
    pub created_at: String,
    /// The session (its id) a `session` rule belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The directory a `project` rule covers: a git work tree's root, or the
    /// working directory of the session that added it when it is in none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl ApprovalRule {
    /// True when this rule lets a call of `tool` with `arguments` run without asking.
    /// A rule of an unknown scope allows nothing.
    pub fn allows(&self, tool: &str, arguments: &Value) -> bool {
        if self.scope == RuleScope::Unknown || self.tool != tool {
            return false;
        }
        match &self.prefix {
            None => true,
            Some(prefix) => {
                tool == SHELL_TOOL
                    && arguments
                        .get("command")
                        .and_then(Value::as_str)
                        .is_some_and(|command| prefix_matches(prefix, command))
            }
        }
    }

    /// What it allows, in words: `shell commands starting with "ls"`, `every read_file call`.
    pub fn describe(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{} commands starting with {p:?}", self.tool),
            None => format!("every {} call", self.tool),
        }
    }
}

/// Why a command is not plain words (so no prefix rule matches it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPlain {
    /// No words at all.
    Empty,
    /// A character the shell gives a meaning (an operator, a redirection, an
    /// expansion, a glob, a comment, an escape) or one that could hide text.
    Special(char),
    /// A quote that is never closed.
    OpenQuote,
    /// The first word sets a variable (`FOO=1 rm`).
    Assignment,
}

impl std::fmt::Display for NotPlain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotPlain::Empty => f.write_str("it has no words"),
            NotPlain::Special(c) if c.is_control() || !c.is_ascii() => {
                write!(f, "it holds the character U+{:04X}", *c as u32)
            }
            NotPlain::Special(c) => write!(f, "it holds {c:?}, which the shell interprets"),
            NotPlain::OpenQuote => f.write_str("a quote is never closed"),
            NotPlain::Assignment => f.write_str("it starts by setting a variable"),
        }
    }
}

/// Characters that make a command more than plain words, wherever they are
/// (quoted or not, to stay simple and on the safe side):
/// - `;` `&` `|` newline: more commands; `<` `>`: redirections; `(` `)` `{` `}`:
///   subshells and groups; `` ` `` `$`: substitutions and variables; `\`: escapes;
///   `#`: a comment; `!`: negation; `^`: a pipe in old shells;
/// - `*` `?` `[` `]` `~`: globs and the home directory. They run nothing, but a glob
///   turns file names the agent may have created into arguments (a file named
///   `--exec=...`), so a rule never covers them: such a command asks.
const SPECIAL: &[char] = &[
    ';', '&', '|', '<', '>', '(', ')', '{', '}', '`', '$', '\\', '#', '!', '^', '*', '?', '[', ']',
    '~',
];

/// True for characters that could hide or disguise text on screen (zero-width
/// marks, bidirectional overrides): a rule never matches a command holding one.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// The words of `command` as `sh` would split them (spaces and tabs separate
/// words; single and double quotes group), when it is nothing but plain words:
/// no operator, redirection, expansion, glob, comment, escape, control character
/// or leading variable assignment.
pub fn plain_words(command: &str) -> Result<Vec<String>, NotPlain> {
    if let Some(c) = command
        .chars()
        .find(|c| SPECIAL.contains(c) || (c.is_control() && *c != '\t') || invisible(*c))
    {
        return Err(NotPlain::Special(c));
    }
    let mut words = Vec::new();
    let mut word = String::new();
    // A word exists once it has a character or a quote (`''` is an empty word).
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None => match c {
                ' ' | '\t' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                c => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
    }
    if quote.is_some() {
        return Err(NotPlain::OpenQuote);
    }
    if in_word {
        words.push(word);
    }
    let Some(first) = words.first() else {
        return Err(NotPlain::Empty);
    };
    if first.contains('=') {
        return Err(NotPlain::Assignment);
    }
    Ok(words)
}

/// True when `command` is plain words (see [`plain_words`]) that start with the
/// words of `prefix`, each whole: prefix `ls` matches `ls -la` but not `lsblk`.
pub fn prefix_matches(prefix: &str, command: &str) -> bool {
    let (Ok(want), Ok(words)) = (plain_words(prefix), plain_words(command)) else {
        return false;
    };
    words.len() >= want.len() && words.iter().zip(&want).all(|(w, p)| w == p)
}

/// Checks a prefix for a new rule: plain words, at least one. Returns its words.
pub fn check_prefix(prefix: &str) -> Result<Vec<String>, String> {
    plain_words(prefix).map_err(|e| {
        format!(
            "the prefix {prefix:?} cannot be a rule: {e}; give plain words, like \"cargo test\""
        )
    })
}

/// The prefix a person is offered for a `shell` command: its first word, as
/// written (empty when the command has none that a rule could hold).
pub fn default_prefix(command: &str) -> String {
    match plain_words(command) {
        Ok(words) => words.into_iter().next().unwrap_or_default(),
        // Not plain: the text up to the first space or shell character, if that
        // alone is a plain word.
        Err(_) => {
            let head: String = command
                .trim_start()
                .chars()
                .take_while(|c| !c.is_whitespace() && !SPECIAL.contains(c))
                .collect();
            match plain_words(&head) {
                Ok(words) if words.len() == 1 => head,
                _ => String::new(),
            }
        }
    }
}

/// Programs that run whatever command they are given: a prefix rule for one of
/// these alone allows every command, which the TUI says before it is added.
pub const RUNS_ANY_COMMAND: &[&str] = &[
    "sh", "bash", "zsh", "dash", "fish", "env", "eval", "exec", "command", "builtin", "sudo",
    "doas", "su", "xargs", "nohup", "nice", "timeout", "time", "watch", "ssh", "python", "python3",
    "node", "perl", "ruby", "npx", "busybox",
];

/// True when a rule for `prefix` would let any command at all run (its words are
/// one of [`RUNS_ANY_COMMAND`] and nothing more).
pub fn prefix_runs_anything(prefix: &str) -> bool {
    matches!(plain_words(prefix).as_deref(), Ok([one]) if RUNS_ANY_COMMAND.contains(&one.as_str()))
}

#[cfg(test)]
mod tests;
