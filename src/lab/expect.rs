//! Judging a run: each node's expectations against what its replicas did.

use super::plan::Plan;
use super::spec::{Count, ExitCodes};
use super::state::{Exit, Live};
use serde::Serialize;
use std::collections::BTreeSet;

/// One expectation and whether it held.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The instance (`NAME.N`) or node (`NAME`, for totals) it is about.
    pub node: String,
    /// What was expected, e.g. `received 3`.
    pub expected: String,
    /// Whether it held.
    pub passed: bool,
    /// What was found, e.g. `received 2`.
    pub found: String,
}

/// Every expectation of every node.
pub(crate) fn checks(plan: &Plan, live: &[Live]) -> Vec<Check> {
    let mut checks = Vec::new();
    for (n, node) in plan.lab.nodes.iter().enumerate() {
        let replicas: Vec<usize> = plan.replicas_of(n).collect();
        for &i in &replicas {
            instance_checks(plan, i, &live[i], &mut checks);
        }
        let expect = &node.expect;
        if let Some(count) = expect.received_total {
            let total: u64 = replicas.iter().map(|&i| live[i].counts().1).sum();
            checks.push(count_check(&node.name, "received in total", count, total));
        }
        if expect.distinct {
            checks.push(distinct(&node.name, replicas.iter().map(|&i| &live[i])));
        }
    }
    checks
}

fn instance_checks(plan: &Plan, i: usize, live: &Live, checks: &mut Vec<Check>) {
    let instance = &plan.instances[i];
    let node = &plan.lab.nodes[instance.node];
    let node_plan = &plan.nodes[instance.node];
    let name = &instance.name;
    checks.push(exit_check(
        name,
        node.expect.exit.as_ref(),
        node.background,
        live,
    ));
    let (sent, received) = live.counts();
    for (what, count, n) in [
        ("sent", node.expect.sent, sent),
        ("received", node.expect.received, received),
    ] {
        if let Some(count) = count {
            let mut check = count_check(name, what, count, n);
            if !live.has_stats {
                check.passed = false;
                check.found = "no counts reported".into();
            }
            checks.push(check);
        }
    }
    for (pattern, regex) in &node_plan.stdout {
        let hit = live.stdout.iter().any(|l| regex.is_match(l));
        checks.push(line_check(
            name,
            "stdout has a line matching",
            pattern,
            hit,
            &live.stdout,
        ));
    }
    if let Some((pattern, regex)) = &node_plan.stdout_all {
        let odd = live.stdout.iter().find(|l| !regex.is_match(l));
        checks.push(Check {
            node: name.clone(),
            expected: format!("every stdout line matches /{pattern}/"),
            passed: odd.is_none(),
            found: odd.map_or_else(
                || format!("{} lines, all matching", live.stdout.len()),
                |l| format!("line {l:?}"),
            ),
        });
    }
    if let Some(text) = &node.expect.stdout_exactly {
        checks.push(exact_check(name, text, live));
    }
    for (pattern, regex) in &node_plan.stderr {
        let hit = live.stderr.iter().any(|l| regex.is_match(l));
        checks.push(line_check(
            name,
            "stderr has a line matching",
            pattern,
            hit,
            &live.stderr,
        ));
    }
}

/// The whole stdout against `text`: the first line that differs is named.
fn exact_check(name: &str, text: &str, live: &Live) -> Check {
    let want: Vec<&str> = match text.strip_suffix('\n').unwrap_or(text) {
        "" => Vec::new(),
        lines => lines.split('\n').collect(),
    };
    let got = &live.stdout;
    let differs = want
        .iter()
        .zip(got.iter())
        .position(|(w, g)| *w != g.as_str());
    let found = match differs {
        Some(k) => format!("line {} is {:?}, not {:?}", k + 1, got[k], want[k]),
        None if live.stdout_lines != want.len() as u64 => {
            format!("{} lines, not {}", live.stdout_lines, want.len())
        }
        None => format!("those {} lines", want.len()),
    };
    Check {
        node: name.to_string(),
        expected: format!("stdout exactly as given ({} lines)", want.len()),
        passed: differs.is_none() && live.stdout_lines == want.len() as u64,
        found,
    }
}

fn exit_check(name: &str, expected: Option<&ExitCodes>, background: bool, live: &Live) -> Check {
    let want = expected.cloned().unwrap_or(ExitCodes::One(0));
    let (passed, found) = match live.exit {
        _ if !live.started => (false, "never started".to_string()),
        _ if live.faulted => (true, "killed by a fault".to_string()),
        _ if background && live.stopped => (true, "stopped at the end (background)".to_string()),
        _ if live.stopped => (false, "still running at the end; stopped".to_string()),
        Some(Exit::Code(code)) => (want.allows(code), format!("exit {code}")),
        Some(Exit::Signal(signal)) => (false, format!("ended by signal {signal}")),
        None => (false, "did not end".to_string()),
    };
    Check {
        node: name.to_string(),
        expected: if background && expected.is_none() {
            "exit 0 or stopped".to_string()
        } else {
            want.to_string()
        },
        passed,
        found,
    }
}

fn count_check(name: &str, what: &str, count: Count, n: u64) -> Check {
    Check {
        node: name.to_string(),
        expected: format!("{what} {count}"),
        passed: count.holds(n),
        found: format!("{what} {n}"),
    }
}

fn line_check(name: &str, what: &str, pattern: &str, hit: bool, lines: &[String]) -> Check {
    Check {
        node: name.to_string(),
        expected: format!("{what} /{pattern}/"),
        passed: hit,
        found: if hit {
            "found".to_string()
        } else {
            format!("no such line among {}", lines.len())
        },
    }
}

fn distinct<'a>(name: &str, replicas: impl Iterator<Item = &'a Live>) -> Check {
    let mut seen = BTreeSet::new();
    let mut repeated = None;
    let mut total = 0;
    for line in replicas.flat_map(|l| l.stdout.iter()) {
        total += 1;
        if !seen.insert(line) && repeated.is_none() {
            repeated = Some(line.clone());
        }
    }
    Check {
        node: name.to_string(),
        expected: "no stdout line twice (across replicas)".to_string(),
        passed: repeated.is_none(),
        found: match repeated {
            Some(line) => format!("{line:?} appears more than once"),
            None => format!("{total} distinct lines"),
        },
    }
}
