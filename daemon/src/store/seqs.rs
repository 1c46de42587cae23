//! The check every store applies to the events it reads: a page is the
//! contiguous run the session's recorded `last_seq` promises. Some damage reads
//! as a smaller, valid log (see `sqlite/integrity.rs`), so a short page is an
//! error, never served as if complete.

/// Checks that `seqs` (ascending) are contiguous, start at `first` and end at
/// `last` where those are known; describes the gap otherwise.
pub(crate) fn check_run(
    name: &str,
    seqs: &[u64],
    first: Option<u64>,
    last: Option<u64>,
    last_seq: u64,
) -> Result<(), String> {
    let missing = |a: u64, b: u64| {
        if a == b {
            format!("session {name:?} is missing event {a} (its log ends at seq {last_seq})")
        } else {
            format!("session {name:?} is missing events {a}..{b} (its log ends at seq {last_seq})")
        }
    };
    match (seqs.first(), seqs.last()) {
        (None, _) | (_, None) => match (first, last) {
            (Some(a), Some(b)) if a <= b => Err(missing(a, b)),
            _ => Ok(()),
        },
        (Some(&lo), Some(&hi)) => {
            if let Some(a) = first
                && lo > a
            {
                return Err(missing(a, lo - 1));
            }
            for w in seqs.windows(2) {
                if w[1] != w[0] + 1 {
                    return Err(missing(w[0] + 1, w[1] - 1));
                }
            }
            if hi > last_seq {
                return Err(format!(
                    "session {name:?} has event {hi} past its recorded last seq {last_seq}"
                ));
            }
            if let Some(b) = last
                && hi < b
            {
                return Err(missing(hi + 1, b));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_seqs_must_be_contiguous_and_reach_the_recorded_last() {
        assert!(check_run("a", &[1, 2, 3], Some(1), Some(3), 3).is_ok());
        assert!(check_run("a", &[], Some(4), Some(3), 3).is_ok());
        let gap = check_run("a", &[1, 2, 5], Some(1), Some(5), 5).unwrap_err();
        assert!(gap.contains("missing events 3..4"), "{gap}");
        let short = check_run("a", &[1, 2, 3, 4, 5, 6, 7], Some(1), Some(181), 181).unwrap_err();
        assert!(short.contains("missing events 8..181"), "{short}");
        let none = check_run("a", &[], Some(1), Some(9), 9).unwrap_err();
        assert!(none.contains("missing events 1..9"), "{none}");
        let start = check_run("a", &[3, 4], Some(2), None, 9).unwrap_err();
        assert!(start.contains("missing event 2 "), "{start}");
        assert!(check_run("a", &[3, 4, 10], None, None, 9).is_err());
    }
}
