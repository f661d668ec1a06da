//! [`Report`] and [`BatchReport`]: what a [`Ledger`](super::Ledger) knows, as lines
//! for people (`missing 21: 17, 40-59`) and JSON for programs.

use super::Verdict;
use serde_json::{json, Value};
use std::fmt;

/// What is known about one batch, for people and programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchReport {
    /// The batch id.
    pub batch: u64,
    /// The batch's verdict.
    pub verdict: Verdict,
    /// The batch size, if announced.
    pub expected: Option<u64>,
    /// Distinct items received.
    pub received: u64,
    /// Items missing: below the size if known, else below the highest item seen.
    pub missing: u64,
    /// The missing sequence numbers as inclusive ranges.
    pub missing_ranges: Vec<(u64, u64)>,
    /// Copies received beyond the first.
    pub duplicates: u64,
    /// The sequence numbers received more than once, as inclusive ranges.
    pub duplicate_ranges: Vec<(u64, u64)>,
    /// Items whose sequence number cannot belong to the batch.
    pub out_of_range: u64,
    /// Size announcements that disagreed with the first one.
    pub conflicts: u64,
    /// End-of-stream messages received (a sender may send one per worker).
    pub ends: u64,
    /// The highest sequence number received.
    pub highest: Option<u64>,
}

/// How many ranges the one-line text form lists before summing up the rest.
const RANGES_SHOWN: usize = 12;

impl BatchReport {
    /// The report as a JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "batch": self.batch,
            "verdict": self.verdict.name(),
            "expected": self.expected,
            "received": self.received,
            "missing": self.missing,
            "duplicates": self.duplicates,
            "out_of_range": self.out_of_range,
            "conflicts": self.conflicts,
            "ends": self.ends,
            "duplicate_ranges": pairs(&self.duplicate_ranges),
            "missing_ranges": pairs(&self.missing_ranges),
        })
    }
}

fn pairs(ranges: &[(u64, u64)]) -> Value {
    Value::from(
        ranges
            .iter()
            .map(|&(a, b)| json!([a, b]))
            .collect::<Vec<_>>(),
    )
}

impl fmt::Display for BatchReport {
    /// One line: `batch 7: incomplete: 9874 of 10000 items; missing 126: 17, 40-59`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "batch {}: {}: ", self.batch, self.verdict)?;
        match self.expected {
            Some(n) => write!(f, "{} of {n} items", self.received)?,
            None => write!(
                f,
                "{} items, end of stream not seen (size unknown)",
                self.received
            )?,
        }
        if self.verdict == Verdict::Complete {
            return write!(f, ", each exactly once");
        }
        if self.missing > 0 {
            let at_least = if self.expected.is_none() {
                "at least "
            } else {
                ""
            };
            write!(f, "; missing {at_least}{}: ", self.missing)?;
            write_ranges(f, &self.missing_ranges)?;
        }
        if self.duplicates > 0 {
            write!(f, "; {} duplicates: ", self.duplicates)?;
            write_ranges(f, &self.duplicate_ranges)?;
        }
        if self.out_of_range > 0 {
            write!(f, "; {} items out of range", self.out_of_range)?;
        }
        if self.conflicts > 0 {
            write!(f, "; {} conflicting size announcements", self.conflicts)?;
        }
        Ok(())
    }
}

/// `17, 40-59, ...` with at most [`RANGES_SHOWN`] ranges.
fn write_ranges(f: &mut fmt::Formatter<'_>, ranges: &[(u64, u64)]) -> fmt::Result {
    for (i, &(a, b)) in ranges.iter().take(RANGES_SHOWN).enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        if a == b {
            write!(f, "{a}")?;
        } else {
            write!(f, "{a}-{b}")?;
        }
    }
    if ranges.len() > RANGES_SHOWN {
        write!(f, " and {} more ranges", ranges.len() - RANGES_SHOWN)?;
    }
    Ok(())
}

/// The state of every batch, judged against the number of batches wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The overall verdict.
    pub verdict: Verdict,
    /// How many batches were wanted.
    pub wanted: usize,
    /// One report per batch seen, by id.
    pub batches: Vec<BatchReport>,
    /// Messages that could not be accounted for: no header, a malformed one.
    pub malformed: u64,
    /// Why the last of them could not.
    pub last_malformed: Option<String>,
    /// Messages of batches past [`AccountingLimits::max_batches`](super::AccountingLimits::max_batches).
    pub untracked: u64,
}

impl Report {
    /// Whether every wanted batch arrived exactly once and nothing was malformed.
    pub fn is_complete(&self) -> bool {
        self.verdict == Verdict::Complete
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "verdict": self.verdict.name(),
            "wanted": self.wanted,
            "malformed": self.malformed,
            "untracked": self.untracked,
            "batches": self.batches.iter().map(BatchReport::to_json).collect::<Vec<_>>(),
        })
    }

    /// The report for people: one line per batch, then one per other problem.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.batches.iter().map(ToString::to_string).collect();
        if self.batches.len() < self.wanted {
            lines.push(format!(
                "{} of {} batches seen",
                self.batches.len(),
                self.wanted
            ));
        }
        if self.malformed > 0 {
            let why = self.last_malformed.as_deref().unwrap_or("unknown");
            lines.push(format!(
                "{} messages without a valid header (last: {why})",
                self.malformed
            ));
        }
        if self.untracked > 0 {
            lines.push(format!(
                "{} messages of batches past the tracking limit",
                self.untracked
            ));
        }
        lines
    }

    /// One line for an error message: the verdict and the main counts.
    pub fn summary(&self) -> String {
        let missing = self
            .batches
            .iter()
            .fold(0u64, |total, b| total.saturating_add(b.missing));
        let duplicates: u64 = self.batches.iter().map(|b| b.duplicates).sum();
        let endless = self.batches.iter().filter(|b| b.expected.is_none()).count();
        let mut parts = vec![format!(
            "{} of {} batches seen",
            self.batches.len(),
            self.wanted.max(self.batches.len())
        )];
        if missing > 0 {
            parts.push(format!("{missing} items missing"));
        }
        if endless > 0 {
            parts.push(format!("{endless} without end of stream"));
        }
        if duplicates > 0 {
            parts.push(format!("{duplicates} duplicates"));
        }
        if self.malformed > 0 {
            parts.push(format!("{} malformed", self.malformed));
        }
        format!("batch {}: {}", self.verdict, parts.join(", "))
    }
}
