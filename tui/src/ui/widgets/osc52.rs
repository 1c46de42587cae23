//! Copying to the system clipboard with OSC 52: `ESC ] 52 ; c ; BASE64 BEL`.
//! The terminal (xterm, kitty, WezTerm, iTerm2, Windows Terminal, foot, …)
//! puts the text on the clipboard; tmux with `set-clipboard on` takes it into
//! its paste buffer and passes it on to the terminal it runs in; over ssh it
//! is just bytes on the way to the local terminal, so it works there too.

/// The most text sent at once: some terminals drop a longer sequence whole
/// (tmux and xterm accept about 1 MB of base64; hterm less).
pub const MAX_BYTES: usize = 512 * 1024;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64, with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The escape sequence that puts `text` on the clipboard, or `None` when it
/// is longer than [`MAX_BYTES`].
pub fn sequence(text: &str) -> Option<String> {
    if text.len() > MAX_BYTES {
        return None;
    }
    Some(format!("\x1b]52;c;{}\x07", base64(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn the_sequence_is_osc_52_for_the_clipboard_ended_by_bel() {
        assert_eq!(
            sequence("héllo\nworld").as_deref(),
            Some("\x1b]52;c;aMOpbGxvCndvcmxk\x07")
        );
        // Nothing in it can end the sequence early or start another.
        let s = sequence("\x1b]0;title\x07 and \x1b[31m").unwrap_or_default();
        let body = &s["\x1b]52;c;".len()..s.len() - 1];
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
            "{s:?}"
        );
        assert!(sequence(&"x".repeat(MAX_BYTES)).is_some());
        assert!(sequence(&"x".repeat(MAX_BYTES + 1)).is_none());
    }
}
