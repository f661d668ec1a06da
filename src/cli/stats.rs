//! Counting what a binary sends and receives, and reporting it: `--stats DUR` prints
//! `NAME: stats {"elapsed_ms":...,"sent":...,"received":...}` on stderr every DUR
//! and once more at exit (with `"final":true`), for scripts and `zlab` to read;
//! `--verbose` prints a one-line summary at exit; an interrupted run (SIGINT or
//! SIGTERM) always prints `NAME: interrupted: sent N, received M, dropped K`.

use crate::cli::latency::{self, Latency};
use crate::cli::lines::{LatencyStats, StatsLine};
use crate::stop::Stop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Running totals of one binary. Each total is written by one thread (its loop
/// stores the new total), read by the reporter.
#[derive(Debug, Default)]
pub struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    malformed: AtomicU64,
    skipped: AtomicU64,
    gaps: AtomicU64,
    drops_unknown: AtomicBool,
    /// One-way latencies, once an item with a batch header was received.
    latency: Mutex<Option<Latency>>,
}

impl Counters {
    /// Record the total sent so far.
    pub fn set_sent(&self, total: u64) {
        self.sent.store(total, Ordering::Relaxed);
    }

    /// Record the total received so far.
    pub fn set_received(&self, total: u64) {
        self.received.store(total, Ordering::Relaxed);
    }

    /// Count `n` more sent, for loops that share the counters between threads.
    pub fn add_sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Count `n` more received, for loops that share the counters between threads.
    pub fn add_received(&self, n: u64) {
        self.received.fetch_add(n, Ordering::Relaxed);
    }

    /// Count one more message dropped for lack of a valid batch header.
    pub fn add_malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    /// Count one more message received but skipped: over a size or frame limit.
    pub fn add_skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// Record the items known to be missing from the batch-header streams so far
    /// (sequence numbers never received: late join, HWM drops).
    pub fn set_gaps(&self, total: u64) {
        self.gaps.store(total, Ordering::Relaxed);
    }

    /// Say that this binary cannot know what was dropped (a PUB socket drops at its
    /// high-water mark without telling): the summary says `dropped unknown`.
    pub fn set_drops_unknown(&self) {
        self.drops_unknown.store(true, Ordering::Relaxed);
    }

    /// Record the one-way latency of an item sent at `sent_us` (its batch header's
    /// send time) that arrived at `arrived_us`, both in microseconds since the Unix
    /// epoch.
    pub fn record_latency(&self, sent_us: u64, arrived_us: u64) {
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        latency
            .get_or_insert_with(Latency::new)
            .record(sent_us, arrived_us);
    }

    /// The latency percentiles so far, and how many items had a negative latency.
    pub fn latency(&self) -> (Option<LatencyStats>, u64) {
        let latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        latency
            .as_ref()
            .map_or((None, 0), |l| (l.stats(), l.negative()))
    }

    /// Messages known to be lost: received but skipped (no valid header, over a
    /// limit), and items missing from batch-header streams. `None` when unknowable.
    pub fn dropped(&self) -> Option<u64> {
        if self.drops_unknown.load(Ordering::Relaxed) {
            return None;
        }
        Some(self.malformed() + self.skipped.load(Ordering::Relaxed) + self.gaps())
    }

    /// Items missing from batch-header streams, as last recorded.
    pub fn gaps(&self) -> u64 {
        self.gaps.load(Ordering::Relaxed)
    }

    /// Messages dropped for lack of a valid batch header so far.
    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Messages received so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The stats as a [`StatsLine`]; `malformed` is given once a message was
    /// dropped for lack of a valid batch header, `dropped` once any was known lost,
    /// `gaps` once items of a batch-header stream were missing.
    pub fn snapshot(&self, elapsed: Duration, last: bool) -> StatsLine {
        let some = |n: u64| (n > 0).then_some(n);
        let (latency, negative_latency) = self.latency();
        StatsLine {
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            sent: self.sent(),
            received: self.received(),
            malformed: some(self.malformed()),
            dropped: self.dropped().and_then(some),
            gaps: some(self.gaps()),
            latency,
            negative_latency: some(negative_latency),
            last,
        }
    }
}

/// Prints a stats line every interval from a background thread, and the final stats
/// line and summary when dropped, however the run ends.
pub struct Reporter {
    name: &'static str,
    counters: Arc<Counters>,
    started: Instant,
    every: Option<Duration>,
    verbose: bool,
    stop: Stop,
    done: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Reporter {
    /// Start reporting `counters` every `every` (`None`: never, and no final line);
    /// with `verbose`, print a summary line at the end unless `stop` was requested
    /// by then.
    pub fn start(
        name: &'static str,
        counters: Arc<Counters>,
        every: Option<Duration>,
        verbose: bool,
        stop: Stop,
    ) -> Reporter {
        let started = Instant::now();
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = every.map(|every| {
            let (counters, done) = (Arc::clone(&counters), Arc::clone(&done));
            std::thread::spawn(move || {
                let (lock, wake) = &*done;
                let mut finished = lock.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    let (guard, timeout) = wake
                        .wait_timeout(finished, every)
                        .unwrap_or_else(|p| p.into_inner());
                    finished = guard;
                    if *finished {
                        return;
                    }
                    if timeout.timed_out() {
                        let stats = counters.snapshot(started.elapsed(), false);
                        note!("{}", stats.line(name));
                    }
                }
            })
        });
        Reporter {
            name,
            counters,
            started,
            every,
            verbose,
            stop,
            done,
            thread,
        }
    }

    /// The one-line summary, e.g. `sent 10 messages` or `sent 5, received 5 messages`.
    pub fn summary(&self) -> String {
        let (sent, received) = (self.counters.sent(), self.counters.received());
        let plural = |n: u64| if n == 1 { "message" } else { "messages" };
        let summary = match (sent, received) {
            (0, r) => format!("received {r} {}", plural(r)),
            (s, 0) => format!("sent {s} {}", plural(s)),
            (s, r) => format!("sent {s}, received {r} {}", plural(r)),
        };
        let mut summary = match self.counters.malformed() {
            0 => summary,
            n => format!("{summary}; dropped {n} without a valid batch header"),
        };
        let (stats, negative) = self.counters.latency();
        if let Some(stats) = stats {
            summary = format!("{summary}; {}", latency::summary(&stats));
        }
        if negative > 0 {
            summary = format!(
                "{summary}; {negative} with a negative latency (the sender's clock is ahead of ours)"
            );
        }
        summary
    }

    /// The line printed when the run was interrupted:
    /// `interrupted: sent 3, received 0, dropped 0` (`dropped unknown` for a
    /// publisher, which cannot know).
    pub fn interrupted_summary(&self) -> String {
        interrupted_summary(&self.counters)
    }

    fn stop_thread(&mut self) {
        let (lock, wake) = &*self.done;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.stop_thread();
        if self.every.is_some() {
            let stats = self.counters.snapshot(self.started.elapsed(), true);
            note!("{}", stats.line(self.name));
        }
        // An interrupted run gets the interrupted summary from the runner instead.
        if self.verbose && !self.stop.is_requested() {
            note!("{}: {}", self.name, self.summary());
        }
    }
}

/// The interrupted summary of `counters`; see [`Reporter::interrupted_summary`].
pub fn interrupted_summary(counters: &Counters) -> String {
    let dropped = match counters.dropped() {
        Some(n) => n.to_string(),
        None => "unknown".to_string(),
    };
    format!(
        "interrupted: sent {}, received {}, dropped {dropped}",
        counters.sent(),
        counters.received()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stats_line_has_the_totals() {
        let c = Counters::default();
        c.set_sent(3);
        c.set_received(5);
        assert_eq!(
            c.snapshot(Duration::from_millis(1500), true).line("t"),
            r#"t: stats {"elapsed_ms":1500,"sent":3,"received":5,"final":true}"#
        );
        c.add_malformed();
        let line = c.snapshot(Duration::ZERO, false);
        assert_eq!((line.malformed, line.dropped), (Some(1), Some(1)));
    }

    #[test]
    fn summary_names_what_moved() {
        let c = Arc::new(Counters::default());
        let r = Reporter::start("test", Arc::clone(&c), None, false, Stop::new());
        c.set_sent(1);
        assert_eq!(r.summary(), "sent 1 message");
        c.set_received(4);
        assert_eq!(r.summary(), "sent 1, received 4 messages");
        c.add_malformed();
        assert_eq!(
            r.summary(),
            "sent 1, received 4 messages; dropped 1 without a valid batch header"
        );
        c.record_latency(1_000, 1_084);
        c.record_latency(2_000, 1_000);
        assert_eq!(
            r.summary(),
            "sent 1, received 4 messages; dropped 1 without a valid batch header; \
             latency p50 84µs, p90 84µs, p99 84µs, max 84µs; \
             1 with a negative latency (the sender's clock is ahead of ours)"
        );
        c.add_skipped();
        c.set_gaps(10);
        assert_eq!(
            r.interrupted_summary(),
            "interrupted: sent 1, received 4, dropped 12"
        );
        c.set_drops_unknown();
        assert_eq!(
            r.interrupted_summary(),
            "interrupted: sent 1, received 4, dropped unknown"
        );
    }
}
