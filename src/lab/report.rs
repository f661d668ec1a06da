//! The result of a run: per-node counts and exit, every expectation with its
//! verdict, the notable events and the counts timeline. Printed as a table
//! ([`Report::to_text`]), JSON ([`Report::to_json`]) or a self-contained HTML page
//! ([`Report::to_html`]).

use super::expect::{checks, Check};
use super::plan::Plan;
use super::state::{millis, state_text, Exit, Live, Sample};
use super::topology::Topology;
use crate::cli::lines;
use serde::Serialize;
use std::fmt::Write;
use std::time::Duration;

/// Stdout lines a `show = true` node prints in the text report.
const SHOWN_LINES: usize = 20;

/// How the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every foreground node ended by itself.
    Completed,
    /// The lab's time limit passed first.
    TimeLimit,
    /// The run was stopped (Ctrl-C, SIGTERM, [`crate::Stop::request`]).
    Interrupted,
    /// The topology could not come up (a binder ended before binding, a node
    /// could not start).
    Failed(String),
}

/// What happened in a run, and the verdict.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The lab's name.
    pub lab: String,
    /// The lab's description.
    pub description: String,
    /// Whether the run completed, every expectation held, and the lab was not
    /// skipped.
    pub passed: bool,
    /// Why the lab is skipped rather than passed: its links' impairment, the point
    /// of the lab, could not all be applied (the run went ahead without it).
    pub skipped: Option<String>,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// How the run ended, in words.
    pub outcome: String,
    /// How long the run took.
    pub elapsed_ms: u64,
    /// What was done about network namespaces and link impairment.
    pub network: Vec<String>,
    /// One entry per instance.
    pub nodes: Vec<NodeReport>,
    /// Every expectation and whether it held.
    pub checks: Vec<Check>,
    /// Starts, bound endpoints, exits, faults, in time order.
    pub events: Vec<Event>,
    /// The lab's nodes, endpoints and faults, and who binds and connects what.
    pub topology: Topology,
}

/// One instance's part of the report.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct NodeReport {
    /// Instance name (`NAME` or `NAME.N`).
    pub name: String,
    /// The name of its node (`NAME`).
    pub node: String,
    /// How it ended: `exited 0`, `stopped`, `killed (fault)`, ...
    pub state: String,
    /// Its exit code, if it exited by itself.
    pub exit_code: Option<i32>,
    /// Messages sent (zpattern binaries).
    pub sent: Option<u64>,
    /// Messages received (zpattern binaries).
    pub received: Option<u64>,
    /// Messages per second while counting.
    pub rate: Option<f64>,
    /// One-way latency percentiles of the items it received in batch header
    /// mode, from its last stats line that had them (of its last run, if it was
    /// restarted): `zsub --header`, `zpull --header`, `zpull --sink`.
    pub latency: Option<lines::LatencyStats>,
    /// Items it received with a negative latency (the sender's clock ahead of its
    /// own), left out of the percentiles.
    pub negative_latency: Option<u64>,
    /// Lines it printed on stdout.
    pub stdout_lines: u64,
    /// Its first stdout lines, for nodes marked `show = true`.
    pub shown: Vec<String>,
    /// What it printed on stderr, other than bound and stats lines (the last lines).
    pub stderr_tail: Vec<String>,
    /// Those stderr lines (the first ones), for nodes marked `show_stderr = true`.
    pub shown_stderr: Vec<String>,
    /// Counts over time (from `--stats`).
    pub samples: Vec<Sample>,
}

/// Something that happened during the run.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Milliseconds since the start.
    pub at_ms: u64,
    /// The instance it is about, if any.
    pub node: Option<String>,
    /// What happened.
    pub text: String,
}

impl Report {
    pub(crate) fn build(
        plan: &Plan,
        live: &[Live],
        outcome: Outcome,
        events: Vec<(Duration, Option<String>, String)>,
        network: Vec<String>,
        elapsed: Duration,
        skipped: Option<String>,
    ) -> Report {
        let checks = checks(plan, live);
        let held = outcome == Outcome::Completed && checks.iter().all(|c| c.passed);
        let (passed, skipped) = judge(held, skipped);
        let outcome_text = match &outcome {
            Outcome::Completed => "completed".to_string(),
            Outcome::TimeLimit => format!(
                "time limit ({}) reached",
                crate::duration::display(plan.lab.time_limit)
            ),
            Outcome::Interrupted => "interrupted".to_string(),
            Outcome::Failed(why) => why.clone(),
        };
        Report {
            lab: plan.lab.name.clone(),
            description: plan.lab.description.clone(),
            passed,
            skipped,
            interrupted: outcome == Outcome::Interrupted,
            outcome: outcome_text,
            elapsed_ms: millis(elapsed),
            network,
            nodes: (0..live.len())
                .map(|i| node_report(plan, i, &live[i]))
                .collect(),
            checks,
            events: events
                .into_iter()
                .map(|(at, node, text)| Event {
                    at_ms: millis(at),
                    node,
                    text,
                })
                .collect(),
            topology: Topology::of(plan),
        }
    }

    /// The expectations that did not hold.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The report as a table for a terminal, ending with the verdict line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "lab {}: {}", self.lab, self.description);
        for note in &self.network {
            let _ = writeln!(out, "network: {note}");
        }
        out.push_str(&self.table());
        for node in &self.nodes {
            if let Some(stats) = &node.latency {
                let _ = writeln!(
                    out,
                    "{}: {} ({} items)",
                    node.name,
                    crate::cli::latency::summary(stats),
                    stats.count
                );
            }
        }
        for node in self.nodes.iter().filter(|n| !n.shown.is_empty()) {
            let _ = writeln!(out, "{} printed ({} lines):", node.name, node.stdout_lines);
            for line in &node.shown {
                let _ = writeln!(out, "    {}", line.replace('\t', " | "));
            }
        }
        for node in self.nodes.iter().filter(|n| !n.shown_stderr.is_empty()) {
            let _ = writeln!(out, "{} said:", node.name);
            for line in &node.shown_stderr {
                let _ = writeln!(out, "    {line}");
            }
        }
        for check in self.failures() {
            let _ = writeln!(
                out,
                "FAILED {}: expected {}, found {}",
                check.node, check.expected, check.found
            );
            if let Some(node) = self.nodes.iter().find(|n| n.name == check.node) {
                for line in &node.stderr_tail {
                    let _ = writeln!(out, "    {} stderr: {line}", node.name);
                }
            }
        }
        out.push_str(&self.verdict());
        out.push('\n');
        out
    }

    /// `verdict: PASS - ...`, `verdict: SKIPPED - why; ...` or `verdict: FAIL - ...`.
    pub fn verdict(&self) -> String {
        let held = self.checks.iter().filter(|c| c.passed).count();
        let seconds = self.elapsed_ms as f64 / 1000.0;
        let summary = format!(
            "{held} of {} expectations held ({seconds:.1}s)",
            self.checks.len()
        );
        if self.passed {
            format!("verdict: PASS - {summary}")
        } else if let Some(why) = &self.skipped {
            format!("verdict: SKIPPED - {why}; {summary}")
        } else if self.outcome == "completed" {
            format!("verdict: FAIL - {summary}")
        } else {
            format!("verdict: FAIL - {}; {summary}", self.outcome)
        }
    }

    fn table(&self) -> String {
        let width = self
            .nodes
            .iter()
            .map(|n| n.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "{:<width$}  {:<16} {:>9} {:>9} {:>10}  expectations\n",
            "node", "state", "sent", "received", "msg/s"
        );
        let number = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
        for node in &self.nodes {
            let mine: Vec<&Check> = self.checks.iter().filter(|c| c.node == node.name).collect();
            let failed = mine.iter().filter(|c| !c.passed).count();
            let verdict = match failed {
                0 => format!("{} ok", mine.len()),
                n => format!("{n} of {} FAILED", mine.len()),
            };
            let _ = writeln!(
                out,
                "{:<width$}  {:<16} {:>9} {:>9} {:>10}  {verdict}",
                node.name,
                node.state,
                number(node.sent),
                number(node.received),
                node.rate.map_or("-".to_string(), |r| format!("{r:.0}")),
            );
        }
        out
    }
}

/// Passed, skipped (and why) or failed, for a run whose expectations all `held` (or
/// not) and whose impairment was `skipped` (or not): a run that failed is a
/// failure, impairment or not.
fn judge(held: bool, skipped: Option<String>) -> (bool, Option<String>) {
    let skipped = skipped.filter(|_| held);
    (held && skipped.is_none(), skipped)
}

fn node_report(plan: &Plan, i: usize, live: &Live) -> NodeReport {
    let node = &plan.lab.nodes[plan.instances[i].node];
    let (sent, received) = live.counts();
    let noise = |l: &&String| lines::parse_bound(l).is_some();
    let errors: Vec<&String> = live.stderr.iter().filter(|l| !noise(l)).collect();
    let tail = errors[errors.len().saturating_sub(5)..]
        .iter()
        .map(|l| l.to_string())
        .collect();
    NodeReport {
        name: plan.instances[i].name.clone(),
        node: node.name.clone(),
        state: state_text(live),
        exit_code: match live.exit {
            Some(Exit::Code(code)) => Some(code),
            _ => None,
        },
        sent: live.has_stats.then_some(sent),
        received: live.has_stats.then_some(received),
        rate: live.rate(),
        latency: live.latency,
        negative_latency: live.negative_latency,
        stdout_lines: live.stdout_lines,
        shown: if node.show {
            live.stdout.iter().take(SHOWN_LINES).cloned().collect()
        } else {
            Vec::new()
        },
        stderr_tail: tail,
        shown_stderr: if node.show_stderr {
            errors
                .iter()
                .take(SHOWN_LINES)
                .map(|l| l.to_string())
                .collect()
        } else {
            Vec::new()
        },
        samples: live.samples.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(skipped: Option<&str>, held: bool) -> Report {
        let check = Check {
            node: "n".into(),
            expected: "exit 0".into(),
            passed: held,
            found: "exit 0".into(),
        };
        let (passed, skipped) = judge(held, skipped.map(String::from));
        Report {
            lab: "t".into(),
            description: String::new(),
            passed,
            skipped,
            interrupted: false,
            outcome: "completed".into(),
            elapsed_ms: 1500,
            network: Vec::new(),
            nodes: Vec::new(),
            checks: vec![check],
            events: Vec::new(),
            topology: Topology::default(),
        }
    }

    #[test]
    fn a_lab_without_its_impairment_is_skipped_not_passed() {
        let why = "delay 20ms NOT applied: this kernel has no netem qdisc (sch_netem)";
        assert_eq!(
            report(Some(why), true).verdict(),
            format!("verdict: SKIPPED - {why}; 1 of 1 expectations held (1.5s)")
        );
        assert_eq!(
            report(None, true).verdict(),
            "verdict: PASS - 1 of 1 expectations held (1.5s)"
        );
        // A failure is a failure, impairment or not.
        assert_eq!(
            report(Some(why), false).verdict(),
            "verdict: FAIL - 0 of 1 expectations held (1.5s)"
        );
    }
}
