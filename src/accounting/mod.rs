//! Sequence accounting: given the batch headers that arrived, which items of which
//! batch are here, which are missing, which came twice, and is a batch complete?
//!
//! Pure: no sockets, no clocks. A [`Ledger`] is fed one decoded [`Header`] per
//! message (or the reason a message had no valid header) and answers with a
//! [`Report`]. The pipeline sink uses it to decide when a batch is over; a subscriber
//! can use it to report gaps per publisher, since a batch id also names its sender.
//!
//! Memory is proportional to what arrived, never to the numbers a header claims:
//! each batch keeps the runs of sequence numbers it has seen (a batch that arrives
//! in order is one run, whatever its size; at worst one run per item received), and
//! [`AccountingLimits`] caps how many batches are tracked, so that forged headers
//! (distinct batch ids, sequence numbers near 2^64) cannot make a receiver allocate
//! more than the messages themselves. Missing and duplicated sequence numbers are
//! reported as ranges: `missing 21: 17, 40-59`.
//!
//! ```
//! use zpattern::accounting::{Ledger, Verdict};
//! use zpattern::frame::Header;
//!
//! let mut ledger = Ledger::new();
//! for seq in [0, 1, 3] {
//!     ledger.record(&Header::item(7, seq, None));
//! }
//! ledger.record(&Header::end_of_stream(7, 5)); // the batch held 5 items
//!
//! let report = ledger.report(1);
//! assert_eq!(report.verdict, Verdict::Incomplete);
//! assert_eq!(report.batches[0].missing_ranges, [(2, 2), (4, 4)]);
//! assert_eq!(report.batches[0].to_string(), "batch 7: incomplete: 3 of 5 items; missing 2: 2, 4");
//! ```

mod batch;
mod report;
mod seqset;

pub use batch::BatchTally;
pub use report::{BatchReport, Report};

use crate::frame::Header;
use std::collections::BTreeMap;
use std::fmt;

/// Bounds on what one [`Ledger`] tracks. The defaults suit untrusted senders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountingLimits {
    /// Sequence numbers at or above this cannot belong to a batch and are counted
    /// as out of range: 2^40 by default (a plausibility bound; memory does not
    /// depend on it).
    pub max_items: u64,
    /// Batches tracked at once; messages of further batches are counted as
    /// untracked. 1024 by default.
    pub max_batches: usize,
}

impl Default for AccountingLimits {
    fn default() -> AccountingLimits {
        AccountingLimits {
            max_items: 1 << 40,
            max_batches: 1024,
        }
    }
}

/// What recording one header found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// An item seen for the first time.
    New,
    /// An item seen before.
    Duplicate,
    /// An end-of-stream message (the first or a repeat).
    End,
    /// An item that cannot belong to the batch: its sequence number is at or past
    /// the batch size, or past [`AccountingLimits::max_items`].
    OutOfRange,
    /// A message of a batch beyond [`AccountingLimits::max_batches`].
    Untracked,
}

/// The state of one batch, or of all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Every item arrived exactly once, and nothing else went wrong.
    Complete,
    /// Items are missing, or the batch size is not known yet.
    Incomplete,
    /// Every item is here, but something else is wrong: duplicates, items out of
    /// range, sizes that disagree, malformed headers.
    Inconsistent,
}

impl Verdict {
    /// `complete`, `incomplete` or `inconsistent`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Complete => "complete",
            Verdict::Incomplete => "incomplete",
            Verdict::Inconsistent => "inconsistent",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The accounting of every batch a receiver has seen, and of the messages that
/// could not be accounted for.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    limits: AccountingLimits,
    batches: BTreeMap<u64, BatchTally>,
    malformed: u64,
    last_malformed: Option<String>,
    untracked: u64,
}

impl Ledger {
    /// An empty ledger with [`AccountingLimits::default`].
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// An empty ledger with `limits`.
    pub fn with_limits(limits: AccountingLimits) -> Ledger {
        Ledger {
            limits,
            ..Ledger::default()
        }
    }

    /// Account for one message's header.
    pub fn record(&mut self, header: &Header) -> Recorded {
        if !self.batches.contains_key(&header.batch) {
            if self.batches.len() >= self.limits.max_batches {
                self.untracked += 1;
                return Recorded::Untracked;
            }
            self.batches
                .insert(header.batch, BatchTally::new(header.batch));
        }
        match self.batches.get_mut(&header.batch) {
            Some(tally) => tally.record(header, &self.limits),
            None => Recorded::Untracked,
        }
    }

    /// Count a message that could not be accounted for (no header, a malformed one,
    /// a size limit broken); `reason` is kept for the report.
    pub fn record_malformed(&mut self, reason: impl fmt::Display) {
        self.malformed += 1;
        self.last_malformed = Some(reason.to_string());
    }

    /// Messages counted by [`Ledger::record_malformed`].
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// One batch's tally.
    pub fn batch(&self, batch: u64) -> Option<&BatchTally> {
        self.batches.get(&batch)
    }

    /// Every batch seen, by id.
    pub fn batches(&self) -> impl Iterator<Item = &BatchTally> {
        self.batches.values()
    }

    /// How many batches have every item (see [`BatchTally::is_whole`]).
    pub fn whole_batches(&self) -> usize {
        self.batches.values().filter(|b| b.is_whole()).count()
    }

    /// Whether there is nothing left to wait for when `wanted` batches are expected:
    /// at least that many batches seen, and every batch seen whole. A batch that has
    /// been seen but is not whole keeps a receiver waiting even once `wanted` is
    /// reached: its sender is still sending, so its items are on their way. This is
    /// the condition [`Ledger::verdict`] calls anything but incomplete, so a receiver
    /// that stops when it holds never reports as missing an item it simply did not
    /// wait for.
    pub fn is_done(&self, wanted: usize) -> bool {
        self.batches.len() >= wanted && self.batches.values().all(BatchTally::is_whole)
    }

    /// The verdict when `wanted` batches were expected: complete only if at least
    /// that many batches arrived, every batch seen arrived exactly once, and
    /// nothing was malformed.
    pub fn verdict(&self, wanted: usize) -> Verdict {
        if !self.is_done(wanted) {
            Verdict::Incomplete
        } else if self.malformed > 0
            || self.untracked > 0
            || self
                .batches
                .values()
                .any(|b| b.verdict() != Verdict::Complete)
        {
            Verdict::Inconsistent
        } else {
            Verdict::Complete
        }
    }

    /// A snapshot of everything, judged against `wanted` batches.
    pub fn report(&self, wanted: usize) -> Report {
        Report {
            verdict: self.verdict(wanted),
            wanted,
            batches: self.batches.values().map(BatchTally::report).collect(),
            malformed: self.malformed,
            last_malformed: self.last_malformed.clone(),
            untracked: self.untracked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(batch: u64, seq: u64) -> Header {
        Header::item(batch, seq, None)
    }

    fn ledger_with(batch: u64, seqs: &[u64], end: Option<u64>) -> Ledger {
        let mut ledger = Ledger::new();
        for &seq in seqs {
            ledger.record(&item(batch, seq));
        }
        if let Some(count) = end {
            ledger.record(&Header::end_of_stream(batch, count));
        }
        ledger
    }

    #[test]
    fn every_item_once_is_complete() {
        let ledger = ledger_with(1, &[2, 0, 1], Some(3));
        let report = ledger.report(1);
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(
            report.lines(),
            ["batch 1: complete: 3 of 3 items, each exactly once"]
        );
    }

    #[test]
    fn the_end_may_overtake_items() {
        let mut ledger = ledger_with(1, &[0], Some(3));
        assert!(!ledger.batch(1).unwrap().is_whole());
        assert_eq!(ledger.record(&item(1, 2)), Recorded::New);
        assert_eq!(ledger.record(&item(1, 1)), Recorded::New);
        assert_eq!(ledger.verdict(1), Verdict::Complete);
    }

    #[test]
    fn missing_items_come_as_ranges() {
        let present: Vec<u64> = (0..100)
            .filter(|s| !(40..60).contains(s) && *s != 17)
            .collect();
        let report = ledger_with(9, &present, Some(100)).report(1);
        let batch = &report.batches[0];
        assert_eq!(batch.missing, 21);
        assert_eq!(batch.missing_ranges, [(17, 17), (40, 59)]);
        assert_eq!(
            batch.to_string(),
            "batch 9: incomplete: 79 of 100 items; missing 21: 17, 40-59"
        );
        assert_eq!(
            report.summary(),
            "batch incomplete: 1 of 1 batches seen, 21 items missing"
        );
    }

    #[test]
    fn missing_ranges_cross_word_boundaries() {
        let present: Vec<u64> = (0..1000)
            .filter(|s| !(63..=200).contains(s) && *s != 999)
            .collect();
        let batch = ledger_with(1, &present, Some(1000)).report(1).batches[0].clone();
        assert_eq!(batch.missing_ranges, [(63, 200), (999, 999)]);
        let nothing = ledger_with(1, &[], Some(130)).report(1).batches[0].clone();
        assert_eq!(nothing.missing_ranges, [(0, 129)]);
        let all = ledger_with(1, &(0..128).collect::<Vec<_>>(), Some(128)).report(1);
        assert!(all.batches[0].missing_ranges.is_empty());
    }

    #[test]
    fn duplicates_make_a_whole_batch_inconsistent() {
        let report = ledger_with(1, &[0, 1, 1, 2, 1, 3, 3], Some(4)).report(1);
        assert_eq!(report.verdict, Verdict::Inconsistent);
        let batch = &report.batches[0];
        assert_eq!((batch.duplicates, batch.missing), (3, 0));
        assert_eq!(batch.duplicate_ranges, [(1, 1), (3, 3)]);
        assert!(
            batch.to_string().ends_with("; 3 duplicates: 1, 3"),
            "{batch}"
        );
    }

    #[test]
    fn without_an_end_the_size_is_unknown() {
        let report = ledger_with(1, &[0, 1, 4], None).report(1);
        assert_eq!(report.verdict, Verdict::Incomplete);
        let batch = &report.batches[0];
        assert_eq!(batch.expected, None);
        assert_eq!(batch.missing_ranges, [(2, 3)]);
        assert_eq!(
            batch.to_string(),
            "batch 1: incomplete: 3 items, end of stream not seen (size unknown); missing at least 2: 2-3"
        );
    }

    #[test]
    fn a_size_in_the_item_headers_is_enough() {
        let mut ledger = Ledger::new();
        for seq in 0..3 {
            ledger.record(&Header::item(5, seq, Some(3)));
        }
        assert_eq!(ledger.verdict(1), Verdict::Complete);
    }

    #[test]
    fn an_empty_batch_is_complete_at_its_end() {
        let ledger = ledger_with(1, &[], Some(0));
        assert_eq!(ledger.verdict(1), Verdict::Complete);
    }

    #[test]
    fn items_past_the_size_and_conflicting_sizes_are_inconsistent() {
        let mut ledger = ledger_with(1, &[0, 1, 5], Some(2));
        let batch = ledger.batch(1).unwrap().report();
        assert_eq!(batch.out_of_range, 1);
        assert_eq!(batch.verdict, Verdict::Inconsistent);
        assert_eq!(ledger.record(&item(1, 7)), Recorded::OutOfRange);
        ledger.record(&Header::end_of_stream(1, 3));
        assert_eq!(ledger.batch(1).unwrap().report().conflicts, 1);
    }

    #[test]
    fn malformed_messages_spoil_the_verdict() {
        let mut ledger = ledger_with(1, &[0], Some(1));
        ledger.record_malformed(crate::frame::HeaderError::UnknownVersion(2));
        let report = ledger.report(1);
        assert_eq!(report.verdict, Verdict::Inconsistent);
        assert_eq!(
            report.lines()[1],
            "1 messages without a valid header (last: header version 2 is not supported)"
        );
    }

    #[test]
    fn fewer_batches_than_wanted_is_incomplete() {
        let ledger = ledger_with(1, &[0], Some(1));
        assert_eq!(ledger.verdict(1), Verdict::Complete);
        assert_eq!(ledger.verdict(2), Verdict::Incomplete);
        assert_eq!(ledger.report(2).lines()[1], "1 of 2 batches seen");
        assert_eq!(Ledger::new().verdict(1), Verdict::Incomplete);
    }

    #[test]
    fn a_batch_seen_but_not_whole_keeps_the_ledger_waiting() {
        let mut ledger = ledger_with(1, &[0], Some(1));
        ledger.record(&Header::item(2, 0, Some(2)));
        // One batch is whole and one was wanted, but batch 2 is on its way.
        assert_eq!(ledger.whole_batches(), 1);
        assert!(!ledger.is_done(1));
        assert_eq!(ledger.verdict(1), Verdict::Incomplete);
        ledger.record(&Header::item(2, 1, Some(2)));
        assert!(ledger.is_done(1));
        assert_eq!(ledger.verdict(1), Verdict::Complete);
        assert!(!ledger.is_done(3));
    }

    #[test]
    fn hostile_numbers_cost_no_memory() {
        let limits = AccountingLimits {
            max_items: 1000,
            max_batches: 2,
        };
        let mut ledger = Ledger::with_limits(limits);
        assert_eq!(ledger.record(&item(1, u64::MAX - 1)), Recorded::OutOfRange);
        ledger.record(&Header::end_of_stream(1, u64::MAX));
        let batch = ledger.batch(1).unwrap().report();
        assert_eq!(batch.missing_ranges, [(0, u64::MAX - 1)]);
        ledger.record(&item(2, 0));
        assert_eq!(ledger.record(&item(3, 0)), Recorded::Untracked);
        assert_eq!(ledger.report(1).untracked, 1);
    }

    #[test]
    fn json_has_the_counts_and_the_ranges() {
        let report = ledger_with(3, &[0, 2, 2], Some(4)).report(1);
        let json = report.to_json();
        assert_eq!(json["verdict"], "incomplete");
        let batch = &json["batches"][0];
        assert_eq!(batch["batch"], 3);
        assert_eq!(batch["expected"], 4);
        assert_eq!(batch["missing"], 2);
        assert_eq!(batch["missing_ranges"], json!([[1, 1], [3, 3]]));
        assert_eq!(batch["duplicate_ranges"], json!([[2, 2]]));
        assert_eq!(batch["ends"], 1);
    }

    #[test]
    fn decoded_wire_headers_feed_the_ledger() {
        // Item 0 of batch 7 and the end of a 1-item batch 7, as sent by any peer.
        let item = *b"ZPH\x01\x00\x00\x00\x00\0\0\0\0\0\0\0\x07\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x2a";
        let end = *b"ZPH\x01\x01\x00\x00\x00\0\0\0\0\0\0\0\x07\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x2b";
        let mut ledger = Ledger::new();
        ledger.record(&Header::decode(&item).unwrap());
        assert_eq!(ledger.verdict(1), Verdict::Incomplete);
        ledger.record(&Header::decode(&end).unwrap());
        assert_eq!(ledger.verdict(1), Verdict::Complete);
    }
}
