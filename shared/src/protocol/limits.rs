//! Fixed numbers of the protocol: its version, the request-key rules and the
//! frame caps.

/// The protocol version. Within a version, changes are additive only.
pub const PROTOCOL_VERSION: u32 = 1;

/// The optional params member that makes a mutating request idempotent: a
/// client-chosen string (1 to [`MAX_KEY_LEN`] bytes). The daemon remembers the
/// first successful result under it for [`KEY_TTL_S`] seconds, durably; a request
/// with the same key, method and params is answered with that result and does
/// nothing again (even across a daemon restart). The same key with another method
/// or params is refused with [`code::KEY_REUSED`](super::code::KEY_REUSED).
pub const KEY_PARAM: &str = "key";
/// The longest request key accepted.
pub const MAX_KEY_LEN: usize = 200;
/// How long the daemon remembers a request key, in seconds (a day).
pub const KEY_TTL_S: u64 = 24 * 60 * 60;

/// The largest frame the daemon accepts from a client, newline excluded.
pub const MAX_REQUEST_FRAME: usize = 4 * 1024 * 1024;
/// The largest frame a client accepts from the daemon.
pub const MAX_RESPONSE_FRAME: usize = 64 * 1024 * 1024;
