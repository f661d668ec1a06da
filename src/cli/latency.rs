//! One-way latency of the items a receiver takes in batch header mode: the time
//! from the send time in an item's header to its arrival here, recorded in an HDR
//! histogram, summarised as percentiles (the `--verbose` summary, the `--stats`
//! lines, zlab's reports), and written the way people read it (`84µs`, `1.25ms`).
//!
//! Both times are wall-clock times of two machines (or of one): the latency means
//! something only when the sender's clock and ours agree (the same host, or hosts
//! kept in step by NTP or PTP); any difference between them is added to every
//! latency. When our clock is behind the sender's by more than the true latency,
//! an item seems to arrive before it was sent: such a negative latency is counted
//! apart ([`Latency::negative`]) and left out of the percentiles.

use crate::cli::lines::LatencyStats;
use hdrhistogram::Histogram;
use std::fmt::Write as _;

/// The largest latency recorded as itself: one hour. A longer one (a clock far
/// ahead, a message that waited an hour in a queue) counts as one hour.
const HIGHEST_US: u64 = 3_600_000_000;

/// Significant decimal digits kept: each percentile is within 0.1% of the truth.
const DIGITS: u8 = 3;

/// The latencies recorded so far.
#[derive(Debug)]
pub struct Latency {
    /// `None` only if hdrhistogram refused the constant bounds, which it does not.
    histogram: Option<Histogram<u64>>,
    negative: u64,
}

impl Latency {
    /// No latency recorded yet.
    pub fn new() -> Latency {
        Latency {
            histogram: Histogram::new_with_bounds(1, HIGHEST_US, DIGITS).ok(),
            negative: 0,
        }
    }

    /// Record an item sent at `sent_us` that arrived at `arrived_us` (both in
    /// microseconds since the Unix epoch).
    pub fn record(&mut self, sent_us: u64, arrived_us: u64) {
        match (arrived_us.checked_sub(sent_us), &mut self.histogram) {
            (Some(us), Some(histogram)) => histogram.saturating_record(us),
            (Some(_), None) => {}
            (None, _) => self.negative += 1,
        }
    }

    /// Items whose latency was negative: sent, by the sender's clock, after they
    /// arrived by ours.
    pub fn negative(&self) -> u64 {
        self.negative
    }

    /// The percentiles of what was recorded, once an item had a latency of zero
    /// or more.
    pub fn stats(&self) -> Option<LatencyStats> {
        let h = self.histogram.as_ref()?;
        (!h.is_empty()).then(|| LatencyStats {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
        })
    }
}

impl Default for Latency {
    fn default() -> Latency {
        Latency::new()
    }
}

/// The latency summary of the `--verbose` line: `latency p50 84µs, p90 120µs, p99
/// 310µs, max 1.20ms`.
pub fn summary(stats: &LatencyStats) -> String {
    let mut out = String::from("latency");
    for (name, us) in [
        ("p50", stats.p50_us),
        ("p90", stats.p90_us),
        ("p99", stats.p99_us),
        ("max", stats.max_us),
    ] {
        let sep = if name == "p50" { " " } else { ", " };
        let _ = write!(out, "{sep}{name} ");
        write_micros(&mut out, i64::try_from(us).unwrap_or(i64::MAX));
    }
    out
}

/// Write a latency of `us` microseconds with three significant digits in the
/// largest unit that keeps it at least 1: `84µs`, `1.25ms`, `12.5ms`, `125ms`,
/// `1.25s`, `125s` (over 999 s, whole seconds). A negative one gets a minus sign.
pub fn write_micros(out: &mut impl std::fmt::Write, us: i64) {
    let sign = if us < 0 { "-" } else { "" };
    let us = us.unsigned_abs();
    let (value, unit) = match us {
        0..1_000 => {
            let _ = write!(out, "{sign}{us}µs");
            return;
        }
        1_000..1_000_000 => (us as f64 / 1e3, "ms"),
        _ => (us as f64 / 1e6, "s"),
    };
    // Rounded to what is shown: 9.996 shows as 10.0, not 10.00.
    let decimals = match value {
        v if v < 9.995 => 2,
        v if v < 99.95 => 1,
        _ => 0,
    };
    let _ = write!(out, "{sign}{value:.decimals$}{unit}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(us: i64) -> String {
        let mut out = String::new();
        write_micros(&mut out, us);
        out
    }

    #[test]
    fn latencies_read_as_people_write_them() {
        assert_eq!(text(0), "0µs");
        assert_eq!(text(84), "84µs");
        assert_eq!(text(999), "999µs");
        assert_eq!(text(1_000), "1.00ms");
        assert_eq!(text(1_254), "1.25ms");
        assert_eq!(text(9_999), "10.0ms");
        assert_eq!(text(12_500), "12.5ms");
        assert_eq!(text(125_000), "125ms");
        assert_eq!(text(999_999), "1000ms");
        assert_eq!(text(1_250_000), "1.25s");
        assert_eq!(text(3_600_000_000), "3600s");
        assert_eq!(text(-84), "-84µs");
        assert_eq!(text(-2_500), "-2.50ms");
    }

    #[test]
    fn percentiles_come_in_order_and_negatives_apart() {
        let mut latency = Latency::new();
        assert_eq!(latency.stats(), None);
        for us in 1..=1000 {
            latency.record(1_000_000, 1_000_000 + us);
        }
        latency.record(2_000_000, 1_000_000);
        let stats = latency.stats().unwrap();
        assert_eq!(stats.count, 1000);
        assert_eq!(latency.negative(), 1);
        // Within the histogram's 0.1%.
        assert!((499..=501).contains(&stats.p50_us), "{stats:?}");
        assert!((899..=901).contains(&stats.p90_us), "{stats:?}");
        assert!((989..=991).contains(&stats.p99_us), "{stats:?}");
        assert!((999..=1001).contains(&stats.max_us), "{stats:?}");
        assert_eq!(
            summary(&LatencyStats {
                count: 3,
                p50_us: 84,
                p90_us: 120,
                p99_us: 310,
                max_us: 1_200
            }),
            "latency p50 84µs, p90 120µs, p99 310µs, max 1.20ms"
        );
    }

    #[test]
    fn an_hour_and_more_counts_as_an_hour() {
        let mut latency = Latency::new();
        latency.record(0, u64::MAX);
        let max = latency.stats().unwrap().max_us;
        assert!(
            (HIGHEST_US..=HIGHEST_US + HIGHEST_US / 1000).contains(&max),
            "{max}"
        );
    }
}
