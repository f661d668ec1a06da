//! Counting what a binary sends and receives, and reporting it: `--stats DUR` prints
//! `NAME: stats {"elapsed_ms":...,"sent":...,"received":...}` on stderr every DUR
//! and once more at exit (with `"final":true`), for scripts and `zlab` to read;
//! `--verbose` prints a one-line summary at exit.

use std::sync::atomic::{AtomicU64, Ordering};
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

    /// The stats as one JSON object; `malformed` appears once a message was dropped
    /// for lack of a valid batch header.
    pub fn to_json(&self, elapsed: Duration, last: bool) -> String {
        let malformed = match self.malformed() {
            0 => String::new(),
            n => format!(",\"malformed\":{n}"),
        };
        format!(
            "{{\"elapsed_ms\":{},\"sent\":{},\"received\":{}{malformed}{}}}",
            elapsed.as_millis(),
            self.sent(),
            self.received(),
            if last { ",\"final\":true" } else { "" }
        )
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
    done: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Reporter {
    /// Start reporting `counters` every `every` (`None`: never, and no final line);
    /// with `verbose`, print a summary line at the end.
    pub fn start(
        name: &'static str,
        counters: Arc<Counters>,
        every: Option<Duration>,
        verbose: bool,
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
                        eprintln!(
                            "{name}: stats {}",
                            counters.to_json(started.elapsed(), false)
                        );
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
        match self.counters.malformed() {
            0 => summary,
            n => format!("{summary}; dropped {n} without a valid batch header"),
        }
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
            let json = self.counters.to_json(self.started.elapsed(), true);
            eprintln!("{}: stats {json}", self.name);
        }
        if self.verbose {
            eprintln!("{}: {}", self.name, self.summary());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_totals() {
        let c = Counters::default();
        c.set_sent(3);
        c.set_received(5);
        assert_eq!(
            c.to_json(Duration::from_millis(1500), true),
            r#"{"elapsed_ms":1500,"sent":3,"received":5,"final":true}"#
        );
        let v: serde_json::Value = serde_json::from_str(&c.to_json(Duration::ZERO, false)).unwrap();
        assert_eq!(v["received"], 5);
        c.add_malformed();
        let v: serde_json::Value = serde_json::from_str(&c.to_json(Duration::ZERO, false)).unwrap();
        assert_eq!(v["malformed"], 1);
    }

    #[test]
    fn summary_names_what_moved() {
        let c = Arc::new(Counters::default());
        let r = Reporter::start("test", Arc::clone(&c), None, false);
        c.set_sent(1);
        assert_eq!(r.summary(), "sent 1 message");
        c.set_received(4);
        assert_eq!(r.summary(), "sent 1, received 4 messages");
        c.add_malformed();
        assert_eq!(
            r.summary(),
            "sent 1, received 4 messages; dropped 1 without a valid batch header"
        );
    }
}
