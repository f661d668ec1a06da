//! The report: the targets with their verdicts first, then the tables, as markdown
//! to paste into BENCHMARKS.md.

use crate::measure::{Spread, Summary};
use std::fmt::Write as _;

/// How a library case is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Messages per second: zpattern / raw should be at least the bound.
    Throughput,
    /// Median round-trip time: zpattern / raw should be at most the bound.
    Latency,
}

/// A library case: raw `zmq` crate against zpattern.
pub struct Comparison {
    /// The case, e.g. `push→pull tcp 64 B`.
    pub name: String,
    /// What the ratio compares.
    pub metric: Metric,
    /// The raw side.
    pub raw: Summary,
    /// The zpattern side.
    pub ours: Summary,
    /// zpattern / raw within each round: how much the ratio moves from round to
    /// round on this machine.
    pub round_ratios: Spread,
}

impl Comparison {
    /// zpattern / raw, of medians: messages per second, or round-trip p50.
    pub fn ratio(&self) -> f64 {
        match self.metric {
            Metric::Throughput => self.ours.rate.median / self.raw.rate.median,
            Metric::Latency => median(self.ours.p50_micros) / median(self.raw.p50_micros),
        }
    }
}

/// What CURVE costs zpattern: one case with and without encryption, interleaved.
pub struct EncryptionCost {
    /// The case, e.g. `push→pull tcp 64 B CURVE`.
    pub name: String,
    /// zpattern with CURVE.
    pub encrypted: Summary,
    /// zpattern without (NULL).
    pub unencrypted: Summary,
    /// CURVE / NULL within each round.
    pub round_ratios: Spread,
}

/// A whole-process run: binaries or the pyzmq script.
pub struct Pipeline {
    /// e.g. `zpush→zpull`.
    pub name: &'static str,
    /// Its runs.
    pub summary: Summary,
}

/// One target of the issue and whether this run met it.
pub struct Target {
    /// The target, in words.
    pub what: String,
    /// The figure measured.
    pub measured: String,
    /// Met or not.
    pub met: bool,
}

/// Everything one run measured.
#[derive(Default)]
pub struct Report {
    /// A line on the head: rounds and counts.
    pub settings: String,
    /// Facts about the machine.
    pub machine: Vec<String>,
    /// Library cases, in order.
    pub library: Vec<Comparison>,
    /// Whole-process cases, in order.
    pub pipelines: Vec<Pipeline>,
    /// What encryption costs, per CURVE case.
    pub encryption: Vec<EncryptionCost>,
    /// Notes, such as a case skipped.
    pub notes: Vec<String>,
}

/// Whole-process throughput every binary pair should reach.
const BINARY_RATE: f64 = 1_000_000.0;
/// The reference for the binaries: the raw library loop of this case.
const RAW_REFERENCE: &str = "push→pull tcp 64 B";

impl Report {
    /// The targets that this run's cases measure.
    pub fn targets(&self) -> Vec<Target> {
        let mut targets: Vec<Target> = self.library.iter().map(library_target).collect();
        let raw_loop = self
            .library
            .iter()
            .find(|c| c.name == RAW_REFERENCE)
            .map(|c| c.raw.rate.median);
        let pyzmq = self.pipeline("pyzmq push→pull").map(|p| p.rate.median);
        let zeromq_crate = self
            .pipeline("zeromq-crate push→pull")
            .map(|p| p.rate.median);
        for name in ["zpush→zpull", "zpub→zsub"] {
            let Some(binaries) = self.pipeline(name) else {
                continue;
            };
            let rate = binaries.rate.median;
            targets.push(Target {
                what: format!("{name}: ≥ 1,000,000 msgs/s"),
                measured: format!("{} msgs/s", thousands(rate)),
                met: rate >= BINARY_RATE,
            });
            if let Some(raw) = raw_loop {
                targets.push(ratio_target(
                    format!("{name} / raw loop ({RAW_REFERENCE}) ≥ 0.4"),
                    rate / raw,
                    0.4,
                ));
            }
            if let (Some(py), "zpush→zpull") = (pyzmq, name) {
                targets.push(ratio_target(
                    format!("{name} / pyzmq script ≥ 5"),
                    rate / py,
                    5.0,
                ));
            }
            if let (Some(crate_rate), "zpush→zpull") = (zeromq_crate, name) {
                targets.push(ratio_target(
                    format!("{name} / zeromq-crate program ≥ 1"),
                    rate / crate_rate,
                    1.0,
                ));
            }
        }
        if let Some(zsub) = self.peak_rss("zsub") {
            targets.push(Target {
                what: "zsub peak RSS under the flood < 64 MiB".into(),
                measured: format!("{:.1} MiB", zsub as f64 / 1024.0),
                met: zsub < 64 * 1024,
            });
        }
        targets
    }

    fn pipeline(&self, name: &str) -> Option<&Summary> {
        self.pipelines
            .iter()
            .find(|p| p.name == name)
            .map(|p| &p.summary)
    }

    fn peak_rss(&self, role: &str) -> Option<u64> {
        self.pipelines
            .iter()
            .flat_map(|p| &p.summary.peak_rss)
            .find(|(r, _)| *r == role)
            .map(|&(_, kib)| kib)
    }

    /// The whole report as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Run\n\n{}\n", self.settings);
        for fact in &self.machine {
            let _ = writeln!(out, "- {fact}");
        }
        let _ = writeln!(out, "\n## Targets\n");
        let _ = writeln!(out, "| target | measured | met |\n|---|---:|---|");
        for t in self.targets() {
            let met = if t.met { "yes" } else { "**no**" };
            let _ = writeln!(out, "| {} | {} | {met} |", t.what, t.measured);
        }
        self.library_table(&mut out);
        self.encryption_table(&mut out);
        self.pipeline_table(&mut out);
        let wide = wide_sides(self);
        if !wide.is_empty() {
            let _ = writeln!(
                out,
                "\n**Spread over ±20 %** (a round left ±20 % of the side's median: bimodal or noisy here, the median alone says little; marked ⚠ above): {}.",
                wide.join("; ")
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\n## Notes\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }

    fn library_table(&self, out: &mut String) {
        if self.library.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n## Library: zpattern against the raw zmq crate\n");
        let _ = writeln!(
            out,
            "| case | side | msgs/s median (min–max) | MB/s | p50 µs (min–max) | p99 µs | zpattern / raw | per round (min–max) |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
        for case in &self.library {
            for (side, summary) in [("raw zmq", &case.raw), ("zpattern", &case.ours)] {
                let (ratio, per_round) = if side == "zpattern" {
                    let r = case.round_ratios;
                    (
                        format!("**{:.3}**", case.ratio()),
                        format!("{:.2}–{:.2}", r.min, r.max),
                    )
                } else {
                    (String::new(), String::new())
                };
                let _ = writeln!(
                    out,
                    "| {} | {side} | {} | {:.1} | {} | {} | {ratio} | {per_round} |",
                    case.name,
                    rate_spread(summary.rate),
                    summary.megabytes_per_second.median,
                    micros_spread(summary.p50_micros),
                    summary
                        .p99_micros
                        .map_or("-".into(), |p| format!("{:.0}", p.median)),
                );
            }
        }
    }

    fn encryption_table(&self, out: &mut String) {
        if self.encryption.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n## What CURVE costs zpattern\n");
        let _ = writeln!(
            out,
            "| case | NULL msgs/s median (min–max) | CURVE msgs/s median (min–max) | CURVE MB/s | CURVE / NULL | per round (min–max) |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for cost in &self.encryption {
            let r = cost.round_ratios;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} | **{:.3}** | {:.2}–{:.2} |",
                cost.name,
                rate_spread(cost.unencrypted.rate),
                rate_spread(cost.encrypted.rate),
                cost.encrypted.megabytes_per_second.median,
                cost.encrypted.rate.median / cost.unencrypted.rate.median,
                r.min,
                r.max
            );
        }
    }

    fn pipeline_table(&self, out: &mut String) {
        if self.pipelines.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n## Binaries: whole processes\n");
        let _ = writeln!(
            out,
            "| pipeline | wall s median (min–max) | msgs/s median (min–max) | MB/s | peak RSS (highest) |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---|");
        for p in &self.pipelines {
            let s = &p.summary;
            let rss: Vec<String> = s
                .peak_rss
                .iter()
                .map(|(role, kib)| format!("{role} {:.1} MiB", *kib as f64 / 1024.0))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {:.3} ({:.3}–{:.3}) | {} | {:.1} | {} |",
                p.name,
                s.seconds.median,
                s.seconds.min,
                s.seconds.max,
                rate_spread(s.rate),
                s.megabytes_per_second.median,
                rss.join(", ")
            );
        }
    }
}

fn library_target(case: &Comparison) -> Target {
    match case.metric {
        Metric::Throughput => ratio_target(
            format!("{}: zpattern / raw msgs/s ≥ 0.95", case.name),
            case.ratio(),
            0.95,
        ),
        Metric::Latency => Target {
            what: format!("{}: zpattern / raw p50 ≤ 1.05", case.name),
            measured: format!("{:.3}", case.ratio()),
            met: case.ratio() <= 1.05,
        },
    }
}

fn ratio_target(what: String, ratio: f64, at_least: f64) -> Target {
    Target {
        what,
        measured: format!("{ratio:.3}"),
        met: ratio >= at_least,
    }
}

fn median(spread: Option<Spread>) -> f64 {
    spread.map_or(f64::NAN, |s| s.median)
}

/// The sides whose rounds spread more than ±20 % around their median.
fn wide_sides(report: &Report) -> Vec<String> {
    let mut wide = Vec::new();
    for case in &report.library {
        for (side, summary) in [("raw zmq", &case.raw), ("zpattern", &case.ours)] {
            if summary.rate.is_wide() {
                wide.push(format!("{}, {side}", case.name));
            }
        }
    }
    for pipeline in &report.pipelines {
        if pipeline.summary.rate.is_wide() {
            wide.push(pipeline.name.to_string());
        }
    }
    wide
}

fn rate_spread(s: Spread) -> String {
    let mark = if s.is_wide() { " ⚠" } else { "" };
    format!(
        "{} ({}–{}){mark}",
        thousands(s.median),
        thousands(s.min),
        thousands(s.max)
    )
}

fn micros_spread(s: Option<Spread>) -> String {
    s.map_or("-".into(), |s| {
        format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max)
    })
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
