//! Samples, their summaries over rounds, and the interleaving of the sides of a case.

use crate::BenchResult;
use std::time::Duration;

/// One timed run of one side of a case.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Messages delivered (round trips for request/reply).
    pub messages: u64,
    /// Payload bytes delivered, over all frames.
    pub bytes: u64,
    /// Per-message latency of this run, for the cases that time each message.
    pub latency: Option<Percentiles>,
    /// Peak resident memory of each process of the run, in KiB, by role.
    pub peak_rss: Vec<(&'static str, u64)>,
}

impl Sample {
    /// A throughput run: `messages` carrying `bytes` delivered in `elapsed`.
    pub fn throughput(elapsed: Duration, messages: u64, bytes: u64) -> Sample {
        Sample {
            elapsed,
            messages,
            bytes,
            ..Sample::default()
        }
    }

    /// Messages per second.
    pub fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Payload megabytes (10^6 bytes) per second.
    pub fn megabytes_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The median and the 99th percentile of a set of durations.
#[derive(Clone, Copy, Debug)]
pub struct Percentiles {
    /// Half of the values are at most this.
    pub p50: Duration,
    /// 99 % of the values are at most this.
    pub p99: Duration,
}

impl Percentiles {
    /// The percentiles of `values` (nearest rank); `None` when there are none.
    pub fn of(mut values: Vec<Duration>) -> Option<Percentiles> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let rank = |p: usize| values[(values.len() * p).div_ceil(100).max(1) - 1];
        Some(Percentiles {
            p50: rank(50),
            p99: rank(99),
        })
    }
}

/// Median, lowest and highest of one figure over the rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The lowest value.
    pub min: f64,
    /// The highest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut values: Vec<f64> = values.into_iter().collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = if values.len() % 2 == 1 {
            values[middle]
        } else {
            (values[middle - 1] + values[middle]) / 2.0
        };
        Some(Spread {
            median,
            min: values[0],
            max: values[values.len() - 1],
        })
    }

    /// Whether a round left ±20 % of the median: the case is bimodal or noisy on
    /// this machine, and its median alone says little.
    pub fn is_wide(&self) -> bool {
        self.median > 0.0 && (self.min < 0.8 * self.median || self.max > 1.2 * self.median)
    }
}

/// One side of a case over all its rounds.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Messages per second.
    pub rate: Spread,
    /// Payload megabytes per second.
    pub megabytes_per_second: Spread,
    /// Wall seconds of one run.
    pub seconds: Spread,
    /// Per-round median latency, in microseconds.
    pub p50_micros: Option<Spread>,
    /// Per-round 99th-percentile latency, in microseconds.
    pub p99_micros: Option<Spread>,
    /// Highest peak memory of each process over the rounds, in KiB.
    pub peak_rss: Vec<(&'static str, u64)>,
}

impl Summary {
    /// The summary of `samples` (at least one).
    pub fn of(samples: &[Sample]) -> BenchResult<Summary> {
        let spread = |f: &dyn Fn(&Sample) -> f64| {
            Spread::of(samples.iter().map(f)).ok_or("a side has no samples")
        };
        let latencies: Vec<Percentiles> = samples.iter().filter_map(|s| s.latency).collect();
        let micros = |f: fn(&Percentiles) -> Duration| {
            Spread::of(latencies.iter().map(|p| f(p).as_secs_f64() * 1e6))
        };
        let mut peak_rss: Vec<(&'static str, u64)> = Vec::new();
        for &(role, kib) in samples.iter().flat_map(|s| &s.peak_rss) {
            match peak_rss.iter_mut().find(|(r, _)| *r == role) {
                Some((_, peak)) => *peak = (*peak).max(kib),
                None => peak_rss.push((role, kib)),
            }
        }
        Ok(Summary {
            rate: spread(&Sample::rate)?,
            megabytes_per_second: spread(&Sample::megabytes_per_second)?,
            seconds: spread(&|s| s.elapsed.as_secs_f64())?,
            p50_micros: micros(|p| p.p50),
            p99_micros: micros(|p| p.p99),
            peak_rss,
        })
    }
}

/// A side of a case: a name and a run that can be repeated.
pub struct Side<'a> {
    /// What the side is, for progress lines.
    pub name: &'static str,
    /// One timed run.
    pub run: Box<dyn FnMut() -> BenchResult<Sample> + 'a>,
}

impl<'a> Side<'a> {
    /// A side called `name` that runs `run`.
    pub fn new(name: &'static str, run: impl FnMut() -> BenchResult<Sample> + 'a) -> Side<'a> {
        Side {
            name,
            run: Box::new(run),
        }
    }
}

/// Run every side once per round, in order (A, B, A, B...), so that drift in the
/// machine's speed reaches all sides alike. Returns the samples of each side.
pub fn interleave(case: &str, rounds: usize, sides: &mut [Side]) -> BenchResult<Vec<Vec<Sample>>> {
    let mut samples = vec![Vec::with_capacity(rounds); sides.len()];
    for round in 1..=rounds {
        for (side, taken) in sides.iter_mut().zip(&mut samples) {
            let sample = (side.run)().map_err(|e| format!("{case}, {}: {e}", side.name))?;
            eprintln!(
                "zbench: {case} round {round}/{rounds} {}: {:.0} msgs/s in {:.3} s",
                side.name,
                sample.rate(),
                sample.elapsed.as_secs_f64()
            );
            taken.push(sample);
        }
    }
    Ok(samples)
}
