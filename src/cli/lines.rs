//! The lines the binaries print on stderr for programs to read, and the flag names
//! programs add or look for: one definition for the binaries that write them and
//! for `zlab`, which reads them.
//!
//! * `NAME: bound EP`, one per bound endpoint ([`bound_line`], [`parse_bound`]);
//! * `NAME: stats {JSON}`, with `--stats` ([`StatsLine`], [`parse_stats`]).

use serde::{Deserialize, Serialize};

/// Flag names that programs driving the binaries add or look for.
pub mod flags {
    /// Bind an endpoint.
    pub const BIND: &str = "--bind";
    /// The short form of [`BIND`].
    pub const BIND_SHORT: &str = "-b";
    /// Connect to an endpoint.
    pub const CONNECT: &str = "--connect";
    /// The short form of [`CONNECT`].
    pub const CONNECT_SHORT: &str = "-c";
    /// Print stats lines every DUR.
    pub const STATS: &str = "--stats";
    /// Print only errors and loss reports (no bound lines).
    pub const QUIET: &str = "--quiet";
    /// The short form of [`QUIET`].
    pub const QUIET_SHORT: &str = "-q";
}

/// The line that reports a bound endpoint: `NAME: bound EP`.
pub fn bound_line(name: &str, endpoint: impl std::fmt::Display) -> String {
    format!("{name}: bound {endpoint}")
}

/// The endpoint of a `NAME: bound EP` line (`NAME` is one word).
pub fn parse_bound(line: &str) -> Option<&str> {
    let (_, rest) = split_name(line)?;
    rest.strip_prefix("bound ").map(str::trim)
}

/// One `--stats` line's counts: `NAME: stats {"elapsed_ms":...,"sent":...}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsLine {
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
    /// Messages sent so far.
    pub sent: u64,
    /// Messages received so far.
    pub received: u64,
    /// Messages dropped for lack of a valid batch header, once there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<u64>,
    /// Messages known to be lost (malformed, over a limit, missing from a batch),
    /// once there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    /// Items missing from batch-header streams, once there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gaps: Option<u64>,
    /// One-way latency percentiles of the items received in batch header mode,
    /// once one had a latency of zero or more (`zsub --header`, `zpull --header`,
    /// `zpull --sink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyStats>,
    /// Items whose latency was negative (the sender's clock ahead of ours), once
    /// there are any; left out of [`StatsLine::latency`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_latency: Option<u64>,
    /// Set on the last line of a run.
    #[serde(rename = "final", default, skip_serializing_if = "std::ops::Not::not")]
    pub last: bool,
}

/// One-way latencies in microseconds, from the send time in each item's batch
/// header to its arrival: `{"count":1000,"p50_us":84,"p90_us":120,"p99_us":310,"max_us":1200}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Items with a latency of zero or more, which the percentiles are of.
    pub count: u64,
    /// The median.
    pub p50_us: u64,
    /// The 90th percentile.
    pub p90_us: u64,
    /// The 99th percentile.
    pub p99_us: u64,
    /// The largest (at most an hour: a longer one counts as an hour).
    pub max_us: u64,
}

impl StatsLine {
    /// The line as the binaries print it: `NAME: stats {JSON}`.
    pub fn line(&self, name: &str) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string());
        format!("{name}: stats {json}")
    }
}

/// The counts of a `NAME: stats {JSON}` line.
pub fn parse_stats(line: &str) -> Option<StatsLine> {
    let (_, rest) = split_name(line)?;
    serde_json::from_str(rest.strip_prefix("stats ")?).ok()
}

/// `NAME` and the rest of a `NAME: rest` line, where `NAME` is one word.
fn split_name(line: &str) -> Option<(&str, &str)> {
    line.split_once(": ")
        .filter(|(name, _)| !name.contains(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_lines_read_back_as_written() {
        let stats = StatsLine {
            elapsed_ms: 1500,
            sent: 3,
            received: 5,
            gaps: Some(2),
            last: true,
            ..StatsLine::default()
        };
        let line = stats.line("zsub");
        assert_eq!(
            line,
            r#"zsub: stats {"elapsed_ms":1500,"sent":3,"received":5,"gaps":2,"final":true}"#
        );
        assert_eq!(parse_stats(&line), Some(stats));
        assert_eq!(parse_stats("zsub: bound tcp://x:1"), None);
        let latency = StatsLine {
            latency: Some(LatencyStats {
                count: 2,
                p50_us: 84,
                p90_us: 90,
                p99_us: 90,
                max_us: 90,
            }),
            negative_latency: Some(1),
            ..StatsLine::default()
        };
        let line = latency.line("zpull");
        assert!(
            line.contains(r#""latency":{"count":2,"p50_us":84,"p90_us":90,"p99_us":90,"max_us":90},"negative_latency":1"#),
            "{line}"
        );
        assert_eq!(parse_stats(&line), Some(latency));
    }

    #[test]
    fn bound_lines_read_back_as_written() {
        let line = bound_line("zpull", "tcp://127.0.0.1:5555");
        assert_eq!(parse_bound(&line), Some("tcp://127.0.0.1:5555"));
        assert_eq!(parse_bound("two words: bound x"), None);
    }
}
