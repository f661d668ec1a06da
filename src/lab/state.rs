//! What the runner knows about each instance while the lab runs: its process, the
//! endpoints it reported, its counts over time and what it printed.

use super::process::{Child, Stream};
use crate::cli::lines::{self, LatencyStats, StatsLine};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Output lines kept per instance and stream; later lines are counted, not kept.
const KEPT_LINES: usize = 200_000;

/// How an instance's last run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
}

/// A point of the counts timeline, cumulative over restarts.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Sample {
    /// Milliseconds since the lab started.
    pub at_ms: u64,
    /// Messages sent so far.
    pub sent: u64,
    /// Messages received so far.
    pub received: u64,
}

/// One instance's state.
#[derive(Default)]
pub(crate) struct Live {
    pub(crate) child: Option<Child>,
    pub(crate) generation: u32,
    pub(crate) started: bool,
    /// Endpoint name to the concrete address this instance bound it to.
    pub(crate) bound: BTreeMap<String, String>,
    /// Bound lines seen in the current run.
    reported: usize,
    /// Set by a ready pattern (programs that print no bound line).
    pub(crate) ready_seen: bool,
    /// zlab has said that this binder is overdue.
    pub(crate) hinted: bool,
    pub(crate) exit: Option<Exit>,
    /// The last run was ended by zlab at the end of the lab.
    pub(crate) stopped: bool,
    /// The last run was ended by a fault.
    pub(crate) faulted: bool,
    /// Counts of earlier runs, and of the current one.
    earlier: (u64, u64),
    current: (u64, u64),
    /// Milliseconds the runs spent until their last count changed (for the rate).
    active_ms: u64,
    current_ms: u64,
    pub(crate) has_stats: bool,
    /// One-way latency percentiles of the last stats line that had them (a
    /// receiver in batch header mode), and its count of negative latencies.
    pub(crate) latency: Option<LatencyStats>,
    pub(crate) negative_latency: Option<u64>,
    pub(crate) samples: Vec<Sample>,
    pub(crate) stdout: Vec<String>,
    pub(crate) stdout_lines: u64,
    pub(crate) stderr: Vec<String>,
    pub(crate) open_streams: u8,
    pub(crate) started_ms: u64,
    pub(crate) ended_ms: Option<u64>,
}

impl Live {
    /// Whether the current run is still going.
    pub(crate) fn running(&self) -> bool {
        self.child.is_some()
    }

    /// A new run starts: earlier counts are kept.
    pub(crate) fn begin(&mut self, child: Child, at_ms: u64) {
        self.earlier.0 += self.current.0;
        self.earlier.1 += self.current.1;
        self.active_ms += self.current_ms;
        self.current = (0, 0);
        self.current_ms = 0;
        self.child = Some(child);
        self.generation += 1;
        self.started = true;
        self.reported = 0;
        self.exit = None;
        self.faulted = false;
        self.stopped = false;
        self.open_streams = 2;
        self.started_ms = at_ms;
        self.ended_ms = None;
        // The timeline starts where this run starts.
        let (sent, received) = self.earlier;
        self.samples.push(Sample {
            at_ms,
            sent,
            received,
        });
    }

    /// Sent and received over all runs.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.earlier.0 + self.current.0,
            self.earlier.1 + self.current.1,
        )
    }

    /// Messages per second while counting: the larger of sent and received.
    pub(crate) fn rate(&self) -> Option<f64> {
        let ms = self.active_ms + self.current_ms;
        let (sent, received) = self.counts();
        (self.has_stats && ms > 0).then(|| sent.max(received) as f64 * 1000.0 / ms as f64)
    }

    /// Take in a line. Returns the endpoint of a `NAME: bound EP` line.
    pub(crate) fn line(&mut self, stream: Stream, line: String, at: Duration) -> Option<String> {
        let mut bound = None;
        match stream {
            Stream::Stdout => {
                self.stdout_lines += 1;
                if self.stdout.len() < KEPT_LINES {
                    self.stdout.push(line);
                }
                return None;
            }
            Stream::Stderr => {
                if let Some(endpoint) = lines::parse_bound(&line) {
                    self.reported += 1;
                    bound = Some(endpoint.to_string());
                } else if let Some(stats) = lines::parse_stats(&line) {
                    self.stats(&stats, at);
                    return None;
                }
            }
        }
        if self.stderr.len() < KEPT_LINES {
            self.stderr.push(line);
        }
        bound
    }

    /// Take in a stats line.
    fn stats(&mut self, stats: &StatsLine, at: Duration) {
        self.has_stats = true;
        // The rate counts the time until the last message, not an idle wait after it.
        if (stats.sent, stats.received) != self.current || self.current_ms == 0 {
            self.current_ms = stats.elapsed_ms;
        }
        self.current = (stats.sent, stats.received);
        if stats.latency.is_some() {
            self.latency = stats.latency;
        }
        if stats.negative_latency.is_some() {
            self.negative_latency = stats.negative_latency;
        }
        let (sent, received) = self.counts();
        self.samples.push(Sample {
            at_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
            sent,
            received,
        });
    }

    /// How many bound lines the current run printed.
    pub(crate) fn reported(&self) -> usize {
        self.reported
    }
}

/// A short word for what an instance is doing.
pub(crate) fn state_text(live: &Live) -> String {
    match (live.started, live.running(), live.exit) {
        (false, _, _) => "waiting".into(),
        (_, true, _) => "running".into(),
        (_, false, _) if live.faulted => "killed (fault)".into(),
        (_, false, _) if live.stopped => "stopped".into(),
        (_, false, Some(Exit::Code(code))) => format!("exited {code}"),
        (_, false, Some(Exit::Signal(signal))) => format!("signal {signal}"),
        (_, false, None) => "ended".into(),
    }
}

/// Milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
