//! zlab's live progress on stderr: on a terminal, a table redrawn in place with
//! events printed above it; otherwise plain, compact lines: one per event (a node
//! started, bound, exited, a fault), and the totals over all processes at most
//! once a second (when they changed, else every ten seconds). No line is longer
//! than [`MAX_LINE`] characters, whatever the lab's size.

use crate::lab::{Observer, Row};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// How often plain (non-terminal) output may print the totals.
const PLAIN_EVERY: Duration = Duration::from_secs(1);
/// How often it prints them even when they did not change.
const PLAIN_ANYWAY: Duration = Duration::from_secs(10);
/// The longest line printed (in characters); longer ones end in `...`.
pub(super) const MAX_LINE: usize = 160;
/// The most distinct states named in a totals line; the others are counted.
const STATES_NAMED: usize = 4;

/// The live view.
pub(super) struct Live {
    quiet: bool,
    terminal: bool,
    /// Lines of the table on screen now (terminal mode).
    drawn: usize,
    next_plain: Duration,
    /// The last totals printed, and when (plain mode).
    last_totals: Option<(String, Duration)>,
}

impl Live {
    pub(super) fn new(quiet: bool) -> Live {
        Live {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            drawn: 0,
            next_plain: PLAIN_EVERY,
            last_totals: None,
        }
    }

    /// Leave the last table on screen, and the cursor below it.
    pub(super) fn finish(&mut self) {
        self.drawn = 0;
    }

    fn erase(&mut self, out: &mut impl Write) {
        if self.drawn > 0 {
            // Up to the table's first line, then clear to the end of the screen.
            let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    fn draw(&mut self, out: &mut impl Write, at: Duration, rows: &[Row]) {
        let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4);
        let header = format!(
            "  {:>6.1}s {:<width$}  {:<16} {:>9} {:>9}",
            at.as_secs_f64(),
            "node",
            "state",
            "sent",
            "received"
        );
        let _ = writeln!(out, "{}", bounded(&header));
        for row in rows {
            let line = format!(
                "          {:<width$}  {:<16} {:>9} {:>9}",
                row.name,
                row.state,
                number(row.sent),
                number(row.received)
            );
            let _ = writeln!(out, "{}", bounded(&line));
        }
        self.drawn = rows.len() + 1;
    }

    /// The plain totals line, if it is time for one.
    fn plain(&mut self, at: Duration, rows: &[Row]) -> Option<String> {
        if at < self.next_plain {
            return None;
        }
        self.next_plain = at + PLAIN_EVERY;
        let line = totals(rows);
        let due = match &self.last_totals {
            Some((last, when)) => *last != line || at >= *when + PLAIN_ANYWAY,
            None => true,
        };
        due.then(|| {
            self.last_totals = Some((line.clone(), at));
            bounded(&format!("[{:>6.2}s] {line}", at.as_secs_f64()))
        })
    }
}

fn number(n: Option<u64>) -> String {
    n.map_or("-".to_string(), |n| n.to_string())
}

/// `13 processes: 11 running, 2 exited 0; sent 1200, received 1100`: how many
/// processes are in each state, the most common first, and the counts together.
pub(super) fn totals(rows: &[Row]) -> String {
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows {
        *states.entry(row.state.as_str()).or_default() += 1;
    }
    let mut states: Vec<(&str, usize)> = states.into_iter().collect();
    states.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut named: Vec<String> = states
        .iter()
        .take(STATES_NAMED)
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    let others: usize = states.iter().skip(STATES_NAMED).map(|(_, n)| n).sum();
    if others > 0 {
        named.push(format!("{others} otherwise"));
    }
    let counted: Vec<&Row> = rows.iter().filter(|r| r.sent.is_some()).collect();
    let mut line = format!("{} processes: {}", rows.len(), named.join(", "));
    if !counted.is_empty() {
        let sent: u64 = counted.iter().filter_map(|r| r.sent).sum();
        let received: u64 = counted.iter().filter_map(|r| r.received).sum();
        line.push_str(&format!("; sent {sent}, received {received}"));
    }
    line
}

/// `line`, cut to [`MAX_LINE`] characters (ending in `...` when cut).
pub(super) fn bounded(line: &str) -> String {
    if line.chars().count() <= MAX_LINE {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(MAX_LINE - 3).collect();
    cut.push_str("...");
    cut
}

impl Observer for Live {
    fn note(&mut self, at: Duration, node: Option<&str>, text: &str) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        self.erase(&mut err);
        let who = node.map(|n| format!("{n}: ")).unwrap_or_default();
        let line = format!("[{:>6.2}s] {who}{text}", at.as_secs_f64());
        let _ = writeln!(err, "{}", bounded(&line));
        // The table comes back with the tick that follows every event, with the
        // states the event changed: redrawing the rows of the last tick here would
        // show a node that just exited as still running.
    }

    fn tick(&mut self, at: Duration, rows: &[Row]) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.terminal {
            self.erase(&mut err);
            self.draw(&mut err, at, rows);
        } else if let Some(line) = self.plain(at, rows) {
            let _ = writeln!(err, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, state: &str, counts: Option<u64>) -> Row {
        Row {
            name: name.to_string(),
            state: state.to_string(),
            sent: counts,
            received: counts,
        }
    }

    #[test]
    fn totals_count_states_and_messages() {
        let rows = [
            row("a.1", "running", Some(5)),
            row("a.2", "running", Some(7)),
            row("b", "exited 0", Some(1)),
            row("c", "waiting", None),
        ];
        assert_eq!(
            totals(&rows),
            "4 processes: 2 running, 1 exited 0, 1 waiting; sent 13, received 13"
        );
    }

    #[test]
    fn a_thousand_processes_make_one_short_line() {
        let rows: Vec<Row> = (0..1000)
            .map(|k| {
                row(
                    &format!("worker-{k}"),
                    &format!("exited {}", k % 9),
                    Some(k),
                )
            })
            .collect();
        let line = totals(&rows);
        assert!(line.starts_with("1000 processes: "), "{line}");
        assert!(line.contains("otherwise"), "{line}");
        assert!(line.chars().count() <= MAX_LINE, "{line}");
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "x".repeat(1000);
        let cut = bounded(&long);
        assert_eq!(cut.chars().count(), MAX_LINE);
        assert!(cut.ends_with("..."));
        assert_eq!(bounded("short"), "short");
        assert_eq!(bounded(&"é".repeat(200)).chars().count(), MAX_LINE);
    }
}
