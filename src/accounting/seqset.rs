//! [`SeqSet`]: a set of sequence numbers, one bit each, that reports its runs.

/// A set of sequence numbers: one bit each, grown on demand.
#[derive(Clone, Debug, Default)]
pub(super) struct SeqSet {
    words: Vec<u64>,
}

impl SeqSet {
    /// Add `seq`; `false` if it was already there.
    pub(super) fn insert(&mut self, seq: u64) -> bool {
        let (word, bit) = split(seq);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let fresh = self.words[word] & bit == 0;
        self.words[word] |= bit;
        fresh
    }

    /// How many members are below `end`.
    pub(super) fn count_below(&self, end: u64) -> u64 {
        let (full, bit) = split(end);
        let whole: u64 = self
            .words
            .iter()
            .take(full)
            .map(|w| u64::from(w.count_ones()))
            .sum();
        let part = self
            .words
            .get(full)
            .map_or(0, |w| u64::from((w & (bit - 1)).count_ones()));
        whole + part
    }

    /// The runs of members (`present`) or of non-members below `end`, as inclusive
    /// ranges.
    pub(super) fn runs_below(&self, end: u64, present: bool) -> Vec<(u64, u64)> {
        let mut runs = Vec::new();
        let mut start: Option<u64> = None;
        let stored = u64::try_from(self.words.len()).unwrap_or(u64::MAX) * 64;
        let mut seq = 0;
        while seq < end.min(stored) {
            let (word, _) = split(seq);
            let w = if present {
                self.words[word]
            } else {
                !self.words[word]
            };
            // Skip whole words that continue (or do not start) a run.
            if seq % 64 == 0 && seq + 64 <= end && (w == 0 || w == u64::MAX) {
                match (w == u64::MAX, start) {
                    (true, None) => start = Some(seq),
                    (false, Some(s)) => {
                        runs.push((s, seq - 1));
                        start = None;
                    }
                    _ => {}
                }
                seq += 64;
                continue;
            }
            let hit = w & (1 << (seq % 64)) != 0;
            match (hit, start) {
                (true, None) => start = Some(seq),
                (false, Some(s)) => {
                    runs.push((s, seq - 1));
                    start = None;
                }
                _ => {}
            }
            seq += 1;
        }
        // Past the stored words every number is a non-member.
        if !present && end > stored && start.is_none() {
            start = Some(stored);
        }
        if let Some(s) = start {
            let last = if present { end.min(stored) } else { end };
            runs.push((s, last - 1));
        }
        runs
    }
}

/// How many numbers inclusive `ranges` hold (saturating: a hostile size can claim
/// nearly 2^64 missing items).
pub(super) fn count(ranges: &[(u64, u64)]) -> u64 {
    ranges
        .iter()
        .fold(0u64, |total, (a, b)| total.saturating_add(b - a + 1))
}

fn split(seq: u64) -> (usize, u64) {
    (
        usize::try_from(seq / 64).unwrap_or(usize::MAX),
        1 << (seq % 64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runs of a set, the slow obvious way.
    fn naive_runs(members: &[bool], present: bool) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (seq, &m) in (0u64..).zip(members) {
            if m == present {
                match runs.last_mut() {
                    Some((_, last)) if *last + 1 == seq => *last = seq,
                    _ => runs.push((seq, seq)),
                }
            }
        }
        runs
    }

    #[test]
    fn runs_match_a_naive_count_on_random_sets() {
        use rand::{rngs::StdRng, RngExt, SeedableRng};
        let mut rng = StdRng::seed_from_u64(3);
        for round in 0..300 {
            let stored = rng.random_range(0..400u64);
            let end = rng.random_range(0..500u64);
            let density = [0.02, 0.5, 0.98][round % 3];
            let mut set = SeqSet::default();
            let mut members = vec![false; usize::try_from(end.max(stored)).unwrap()];
            for seq in 0..stored {
                if rng.random_bool(density) {
                    set.insert(seq);
                    members[usize::try_from(seq).unwrap()] = true;
                }
            }
            let below = &members[..usize::try_from(end).unwrap()];
            assert_eq!(
                set.runs_below(end, false),
                naive_runs(below, false),
                "{round}"
            );
            assert_eq!(
                set.runs_below(end, true),
                naive_runs(below, true),
                "{round}"
            );
            let ones = below.iter().filter(|&&m| m).count();
            assert_eq!(set.count_below(end), u64::try_from(ones).unwrap());
        }
    }
}
