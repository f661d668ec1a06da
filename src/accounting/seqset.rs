//! [`SeqSet`]: a set of sequence numbers kept as runs, which reports its runs.

use std::collections::BTreeMap;

/// A set of sequence numbers as disjoint, non-adjacent runs (first → last,
/// inclusive). Memory grows with the number of runs, never with the size of the
/// numbers: an item numbered near 2^64 costs what item 0 costs, and a batch that
/// arrives in order is one run however long it is. At worst (every other number)
/// there is one run per number received: memory proportional to what arrived.
#[derive(Clone, Debug, Default)]
pub(super) struct SeqSet {
    runs: BTreeMap<u64, u64>,
}

impl SeqSet {
    /// Add `seq`; `false` if it was already there.
    pub(super) fn insert(&mut self, seq: u64) -> bool {
        let before = self.runs.range(..=seq).next_back().map(|(&a, &b)| (a, b));
        if let Some((_, last)) = before {
            if seq <= last {
                return false;
            }
        }
        let after = seq
            .checked_add(1)
            .and_then(|next| self.runs.get(&next).map(|&last| (next, last)));
        match (before, after) {
            // Joins the run before and the run after into one.
            (Some((first, last)), Some((next, next_last))) if last + 1 == seq => {
                self.runs.remove(&next);
                self.runs.insert(first, next_last);
            }
            (Some((first, last)), _) if last + 1 == seq => {
                self.runs.insert(first, seq);
            }
            (_, Some((next, next_last))) => {
                self.runs.remove(&next);
                self.runs.insert(seq, next_last);
            }
            _ => {
                self.runs.insert(seq, seq);
            }
        }
        true
    }

    /// How many members are below `end`.
    pub(super) fn count_below(&self, end: u64) -> u64 {
        self.runs
            .range(..end)
            .map(|(&first, &last)| last.min(end - 1) - first + 1)
            .sum()
    }

    /// The runs of members (`present`) or of non-members below `end`, as inclusive
    /// ranges.
    pub(super) fn runs_below(&self, end: u64, present: bool) -> Vec<(u64, u64)> {
        let members = self
            .runs
            .range(..end)
            .map(|(&first, &last)| (first, last.min(end - 1)));
        if present {
            return members.collect();
        }
        let mut gaps = Vec::new();
        let mut next = 0;
        for (first, last) in members {
            if first > next {
                gaps.push((next, first - 1));
            }
            next = last.saturating_add(1);
        }
        if next < end {
            gaps.push((next, end - 1));
        }
        gaps
    }

    /// How many runs the set holds (its memory, in units of one map entry).
    #[cfg(test)]
    fn run_count(&self) -> usize {
        self.runs.len()
    }
}

/// How many numbers inclusive `ranges` hold (saturating: a hostile size can claim
/// nearly 2^64 missing items).
pub(super) fn count(ranges: &[(u64, u64)]) -> u64 {
    ranges
        .iter()
        .fold(0u64, |total, (a, b)| total.saturating_add(b - a + 1))
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

    #[test]
    fn inserting_in_any_order_merges_runs() {
        use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};
        let mut order: Vec<u64> = (0..1000).collect();
        order.shuffle(&mut StdRng::seed_from_u64(9));
        let mut set = SeqSet::default();
        for &seq in &order {
            assert!(set.insert(seq));
            assert!(!set.insert(seq));
        }
        assert_eq!(set.run_count(), 1);
        assert_eq!(set.runs_below(1000, true), [(0, 999)]);
        assert!(set.runs_below(1000, false).is_empty());
    }

    #[test]
    fn huge_sequence_numbers_cost_no_more_than_small_ones() {
        let mut set = SeqSet::default();
        for seq in [u64::MAX, u64::MAX - 1, 1 << 62, 0] {
            assert!(set.insert(seq));
        }
        assert_eq!(set.run_count(), 3);
        assert_eq!(set.count_below(u64::MAX), 3);
        assert_eq!(set.runs_below(3, false), [(1, 2)]);
    }
}
