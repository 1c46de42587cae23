//! Small helpers without a better home: timestamps and ids.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Now as RFC 3339 UTC with milliseconds, e.g. `2026-11-26T09:19:25.123Z`.
pub fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(since.as_secs() as i64, since.subsec_millis())
}

/// Formats seconds since the epoch (UTC) as RFC 3339.
pub fn format_rfc3339(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

// Howard Hinnant's days-to-civil algorithm (a well-known public formula).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A new random-enough id with a prefix, e.g. `s-3f9a1c0b7d2e`.
pub fn new_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS per process; mixing in time and a counter
    // makes ids unique within and across daemon runs without a rand dependency.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{prefix}-{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Seconds from config or the wire as a `Duration`, clamped to [0, 30 days]:
/// `Duration::from_secs_f64` panics on values too large to hold.
pub fn secs(s: f64) -> std::time::Duration {
    let max = 30.0 * 24.0 * 3600.0;
    let s = if s.is_nan() { 0.0 } else { s.clamp(0.0, max) };
    std::time::Duration::from_secs_f64(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(1_795_685_965, 7), "2026-11-26T09:39:25.007Z");
        assert_eq!(format_rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn secs_clamps_instead_of_panicking() {
        assert_eq!(secs(1.5), std::time::Duration::from_millis(1500));
        assert_eq!(secs(-3.0), std::time::Duration::ZERO);
        assert_eq!(secs(1e300), std::time::Duration::from_secs(30 * 24 * 3600));
        assert_eq!(secs(f64::NAN), std::time::Duration::ZERO);
    }

    #[test]
    fn ids_differ() {
        assert_ne!(new_id("s"), new_id("s"));
    }
}
