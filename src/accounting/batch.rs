//! [`BatchTally`]: the accounting of one batch.

use super::report::BatchReport;
use super::seqset::{count, SeqSet};
use super::{AccountingLimits, Recorded, Verdict};
use crate::frame::Header;

/// The accounting of one batch.
#[derive(Clone, Debug)]
pub struct BatchTally {
    batch: u64,
    seen: SeqSet,
    repeated: SeqSet,
    distinct: u64,
    duplicates: u64,
    expected: Option<u64>,
    /// Distinct items below `expected`, once it is known.
    in_range: u64,
    out_of_range: u64,
    conflicts: u64,
    ends: u64,
    highest: Option<u64>,
}

impl BatchTally {
    pub(super) fn new(batch: u64) -> BatchTally {
        BatchTally {
            batch,
            seen: SeqSet::default(),
            repeated: SeqSet::default(),
            distinct: 0,
            duplicates: 0,
            expected: None,
            in_range: 0,
            out_of_range: 0,
            conflicts: 0,
            ends: 0,
            highest: None,
        }
    }

    pub(super) fn record(&mut self, header: &Header, limits: &AccountingLimits) -> Recorded {
        if header.end {
            self.ends += 1;
            self.learn_size(header.seq);
            return Recorded::End;
        }
        if let Some(size) = header.size {
            self.learn_size(size);
        }
        let seq = header.seq;
        if seq >= limits.max_items || self.expected.is_some_and(|n| seq >= n) {
            self.out_of_range += 1;
            return Recorded::OutOfRange;
        }
        if !self.seen.insert(seq) {
            self.duplicates += 1;
            self.repeated.insert(seq);
            return Recorded::Duplicate;
        }
        self.distinct += 1;
        self.in_range += u64::from(self.expected.is_some());
        self.highest = self.highest.max(Some(seq));
        Recorded::New
    }

    /// The batch size, from an item's header or the end-of-stream message. The first
    /// announcement counts; one that disagrees is a conflict.
    fn learn_size(&mut self, size: u64) {
        match self.expected {
            Some(known) if known != size => self.conflicts += 1,
            Some(_) => {}
            None => {
                self.expected = Some(size);
                self.in_range = self.seen.count_below(size);
                // Items recorded before the size was known may lie past it.
                self.out_of_range += self.distinct - self.in_range;
            }
        }
    }

    /// The batch id.
    pub fn batch(&self) -> u64 {
        self.batch
    }

    /// The batch size, once an item header or an end-of-stream message has said it.
    pub fn expected(&self) -> Option<u64> {
        self.expected
    }

    /// Whether every item of the batch has arrived (duplicates or not): there is
    /// nothing left to wait for.
    pub fn is_whole(&self) -> bool {
        self.expected.is_some_and(|n| self.in_range == n)
    }

    /// This batch's verdict.
    pub fn verdict(&self) -> Verdict {
        if !self.is_whole() {
            Verdict::Incomplete
        } else if self.duplicates > 0 || self.out_of_range > 0 || self.conflicts > 0 {
            Verdict::Inconsistent
        } else {
            Verdict::Complete
        }
    }

    /// A snapshot for reporting.
    pub fn report(&self) -> BatchReport {
        // Without a size, what is missing is only known below the highest item seen.
        let end = self.expected.or(self.highest.map(|h| h + 1)).unwrap_or(0);
        let missing_ranges = self.seen.runs_below(end, false);
        // Repeats are of items seen, so none lies past the highest.
        let repeated_end = self.highest.map_or(0, |h| h + 1);
        BatchReport {
            batch: self.batch,
            verdict: self.verdict(),
            expected: self.expected,
            received: if self.expected.is_some() {
                self.in_range
            } else {
                self.distinct
            },
            missing: count(&missing_ranges),
            missing_ranges,
            duplicates: self.duplicates,
            duplicate_ranges: self.repeated.runs_below(repeated_end, true),
            out_of_range: self.out_of_range,
            conflicts: self.conflicts,
            ends: self.ends,
            highest: self.highest,
        }
    }
}
