//! What a key can do ([`Action`]) and where ([`Context`]), with each action's
//! name in `[keys]` and its line in the help.

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    /// After the prefix key (`Ctrl-b` by default), anywhere.
    Prefix,
    /// The session list.
    List,
    /// The session view.
    Session,
    /// The session view while an approval waits (checked before `Session`).
    Approval,
    /// Copy mode over the transcript (`Ctrl-b [`), like tmux's.
    Copy,
}

impl Context {
    pub(super) fn title(self) -> &'static str {
        match self {
            Context::Prefix => "after the prefix",
            Context::List => "session list",
            Context::Session => "session view",
            Context::Approval => "approval prompt (while a call waits)",
            Context::Copy => "copy mode (Ctrl-b [)",
        }
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Leave the TUI; the agent keeps working.
    Detach,
    /// Show or hide the help.
    Help,
    /// Back to the session list.
    SessionList,
    /// Interrupt the running turn.
    Interrupt,
    /// Send the input (queue).
    Send,
    /// Send the input with `--steer`.
    SendSteer,
    /// Send the input with `--interrupt`.
    SendInterrupt,
    /// A newline in the input.
    Newline,
    /// Scroll up a page.
    PageUp,
    /// Scroll down a page.
    PageDown,
    /// Scroll to the top.
    Top,
    /// Scroll to the bottom and follow.
    Bottom,
    /// Search the transcript.
    Search,
    /// Next search match.
    NextMatch,
    /// Previous search match.
    PrevMatch,
    /// Expand or collapse tool calls and compactions.
    ToggleTools,
    /// Approve the pending call.
    Approve,
    /// Deny the pending call (asks for a reason).
    Deny,
    /// Always allow calls like the pending one: asks which rule, then the
    /// approve key adds it and approves the call.
    AlwaysAllow,
    /// Cancel a tool server's question (its form's own key; submit is the
    /// approve key, decline the deny key).
    CancelQuestion,
    /// Scroll the approval prompt's call up.
    PromptUp,
    /// Scroll the approval prompt's call down.
    PromptDown,
    /// Move up in a list.
    Up,
    /// Move down in a list.
    Down,
    /// Attach to the selected session.
    Attach,
    /// Create a session.
    New,
    /// Kill the selected session (asks first).
    Kill,
    /// Filter the session list.
    Filter,
    /// Quit the TUI.
    Quit,
    /// Clear the terminal and draw everything again (after another program
    /// wrote over the screen).
    Redraw,
    /// Open the session picker over the current view.
    SessionPicker,
    /// Switch to the next session (in list order).
    NextSession,
    /// Switch to the previous session (in list order).
    PrevSession,
    /// Switch to the session that has waited longest for a person.
    JumpWaiting,
    /// Open the approval prompt for the selected session's waiting call.
    Review,
    /// Edit the message in `$EDITOR`.
    Editor,
    /// The previous (older) message of the input history.
    HistoryPrev,
    /// The next (newer) message of the input history, then the draft.
    HistoryNext,
    /// Scroll the transcript up a line (input empty).
    ScrollUp,
    /// Scroll the transcript down a line (input empty).
    ScrollDown,
    /// Enter copy mode: a cursor over the transcript to select and copy text.
    CopyMode,
    /// Turn mouse capture off (the terminal selects text) or on (wheel scrolls).
    ToggleMouse,
    /// Take the last queued message back into the box (cancels it).
    Unqueue,
    /// Copy mode: cursor up a line.
    CursorUp,
    /// Copy mode: cursor down a line.
    CursorDown,
    /// Copy mode: cursor left.
    CursorLeft,
    /// Copy mode: cursor right.
    CursorRight,
    /// Copy mode: cursor to the next word.
    WordNext,
    /// Copy mode: cursor to the previous word.
    WordPrev,
    /// Copy mode: cursor to the line's start.
    LineStart,
    /// Copy mode: cursor to the line's end.
    LineEnd,
    /// Copy mode: cursor up a page.
    CursorPageUp,
    /// Copy mode: cursor down a page.
    CursorPageDown,
    /// Copy mode: cursor to the first line loaded (loads older ones).
    CursorTop,
    /// Copy mode: cursor to the last line.
    CursorBottom,
    /// Copy mode: start (or drop) a selection at the cursor.
    Select,
    /// Copy mode: start (or drop) a selection of whole lines.
    SelectLines,
    /// Copy mode: copy the selection to the clipboard and leave.
    Yank,
    /// Copy mode: expand or collapse the tool call under the cursor.
    ToggleCell,
    /// Copy mode: drop the selection, or leave when there is none.
    CopyCancel,
    /// Copy mode: leave.
    CopyLeave,
}

impl Action {
    /// The name used in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Detach => "detach",
            Action::Help => "help",
            Action::SessionList => "session_list",
            Action::Interrupt => "interrupt",
            Action::Send => "send",
            Action::SendSteer => "send_steer",
            Action::SendInterrupt => "send_interrupt",
            Action::Newline => "newline",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Search => "search",
            Action::NextMatch => "next_match",
            Action::PrevMatch => "prev_match",
            Action::ToggleTools => "toggle_tools",
            Action::Approve => "approve",
            Action::Deny => "deny",
            Action::AlwaysAllow => "always_allow",
            Action::CancelQuestion => "cancel_question",
            Action::PromptUp => "prompt_up",
            Action::PromptDown => "prompt_down",
            Action::Up => "up",
            Action::Down => "down",
            Action::Attach => "attach",
            Action::New => "new",
            Action::Kill => "kill",
            Action::Filter => "filter",
            Action::Quit => "quit",
            Action::Redraw => "redraw",
            Action::SessionPicker => "session_picker",
            Action::NextSession => "next_session",
            Action::PrevSession => "prev_session",
            Action::JumpWaiting => "jump_waiting",
            Action::Review => "review",
            Action::Editor => "editor",
            Action::HistoryPrev => "history_prev",
            Action::HistoryNext => "history_next",
            Action::ScrollUp => "scroll_up",
            Action::ScrollDown => "scroll_down",
            Action::CopyMode => "copy_mode",
            Action::ToggleMouse => "toggle_mouse",
            Action::Unqueue => "unqueue",
            Action::CursorUp => "cursor_up",
            Action::CursorDown => "cursor_down",
            Action::CursorLeft => "cursor_left",
            Action::CursorRight => "cursor_right",
            Action::WordNext => "word_next",
            Action::WordPrev => "word_prev",
            Action::LineStart => "line_start",
            Action::LineEnd => "line_end",
            Action::CursorPageUp => "cursor_page_up",
            Action::CursorPageDown => "cursor_page_down",
            Action::CursorTop => "cursor_top",
            Action::CursorBottom => "cursor_bottom",
            Action::Select => "select",
            Action::SelectLines => "select_lines",
            Action::Yank => "yank",
            Action::ToggleCell => "toggle_cell",
            Action::CopyCancel => "copy_cancel",
            Action::CopyLeave => "copy_leave",
        }
    }

    /// What it does, for the help screen.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Detach => "detach (the agent keeps working)",
            Action::Help => "show / hide this help",
            Action::SessionList => "back to the session list",
            Action::Interrupt => "interrupt the running turn (Esc: only while one runs)",
            Action::Send => "send (queued after the running turn)",
            Action::SendSteer => "send with --steer (joins the running turn)",
            Action::SendInterrupt => "send with --interrupt (replaces the running turn)",
            Action::Newline => "new line in the message",
            Action::PageUp => "scroll up",
            Action::PageDown => "scroll down",
            Action::Top => "scroll to the top (input empty)",
            Action::Bottom => "scroll to the bottom and follow (input empty)",
            Action::Search => "search the whole history",
            Action::NextMatch => "next match",
            Action::PrevMatch => "previous match",
            Action::ToggleTools => "expand / collapse tool calls and compactions",
            Action::Approve => "approve the tool call (once the prompt is armed)",
            Action::Deny => "deny the tool call (asks for an optional reason)",
            Action::AlwaysAllow => "always allow calls like this one (asks which first)",
            Action::CancelQuestion => "cancel a tool server's question (in its form)",
            Action::PromptUp => "scroll the call shown in the prompt up",
            Action::PromptDown => "scroll the call shown in the prompt down",
            Action::Up => "previous session",
            Action::Down => "next session",
            Action::Attach => "attach to the session",
            Action::New => "new session",
            Action::Kill => "kill the session (asks first)",
            Action::Filter => "filter sessions",
            Action::Quit => "quit",
            Action::Redraw => "redraw the screen (clears it first)",
            Action::SessionPicker => "pick a session to switch to (those that need you first)",
            Action::NextSession => "switch to the next session",
            Action::PrevSession => "switch to the previous session",
            Action::JumpWaiting => "switch to the session that has waited longest for you",
            Action::Review => "review the waiting call here: approve or deny it",
            Action::Editor => "edit the message in $EDITOR (not sent)",
            Action::HistoryPrev => "older sent message (Up on the first line: by its start)",
            Action::HistoryNext => "newer sent message, then the draft (Down on the last line)",
            Action::ScrollUp => "scroll up a line (input empty)",
            Action::ScrollDown => "scroll down a line (input empty)",
            Action::CopyMode => "copy mode: select transcript text and copy it",
            Action::ToggleMouse => "mouse capture off (terminal selection) / on (wheel scrolls)",
            Action::Unqueue => "take the last queued message back to edit (cancels it)",
            Action::CursorUp => "cursor up",
            Action::CursorDown => "cursor down",
            Action::CursorLeft => "cursor left",
            Action::CursorRight => "cursor right",
            Action::WordNext => "next word",
            Action::WordPrev => "previous word",
            Action::LineStart => "start of the line",
            Action::LineEnd => "end of the line",
            Action::CursorPageUp => "page up",
            Action::CursorPageDown => "page down",
            Action::CursorTop => "top (loads older events)",
            Action::CursorBottom => "bottom",
            Action::Select => "start a selection (again: drop it)",
            Action::SelectLines => "select whole lines",
            Action::Yank => {
                "copy the selection to the clipboard (OSC 52) and leave; on a tool call with no selection: expand / collapse it"
            }
            Action::ToggleCell => "expand / collapse the tool call under the cursor",
            Action::CopyCancel => "drop the selection, or leave copy mode",
            Action::CopyLeave => "leave copy mode",
        }
    }

    pub(super) fn all() -> &'static [Action] {
        &[
            Action::Detach,
            Action::Help,
            Action::SessionList,
            Action::Interrupt,
            Action::Send,
            Action::SendSteer,
            Action::SendInterrupt,
            Action::Newline,
            Action::PageUp,
            Action::PageDown,
            Action::Top,
            Action::Bottom,
            Action::Search,
            Action::NextMatch,
            Action::PrevMatch,
            Action::ToggleTools,
            Action::Approve,
            Action::Deny,
            Action::AlwaysAllow,
            Action::CancelQuestion,
            Action::PromptUp,
            Action::PromptDown,
            Action::Up,
            Action::Down,
            Action::Attach,
            Action::New,
            Action::Kill,
            Action::Filter,
            Action::Quit,
            Action::Redraw,
            Action::SessionPicker,
            Action::NextSession,
            Action::PrevSession,
            Action::JumpWaiting,
            Action::Review,
            Action::Editor,
            Action::HistoryPrev,
            Action::HistoryNext,
            Action::ScrollUp,
            Action::ScrollDown,
            Action::CopyMode,
            Action::ToggleMouse,
            Action::Unqueue,
            Action::CursorUp,
            Action::CursorDown,
            Action::CursorLeft,
            Action::CursorRight,
            Action::WordNext,
            Action::WordPrev,
            Action::LineStart,
            Action::LineEnd,
            Action::CursorPageUp,
            Action::CursorPageDown,
            Action::CursorTop,
            Action::CursorBottom,
            Action::Select,
            Action::SelectLines,
            Action::Yank,
            Action::ToggleCell,
            Action::CopyCancel,
            Action::CopyLeave,
        ]
    }
}
