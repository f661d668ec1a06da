//! zlab's live progress on stderr: on a terminal, a table redrawn in place with
//! events printed above it; otherwise plain lines, the counts at most once a second.

use crate::lab::{Observer, Row};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// How often plain (non-terminal) output prints the counts.
const PLAIN_EVERY: Duration = Duration::from_secs(1);

/// The live view.
pub(super) struct Live {
    quiet: bool,
    terminal: bool,
    /// Lines of the table on screen now (terminal mode).
    drawn: usize,
    next_plain: Duration,
}

impl Live {
    pub(super) fn new(quiet: bool) -> Live {
        Live {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            drawn: 0,
            next_plain: PLAIN_EVERY,
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
        let _ = writeln!(
            out,
            "  {:>6.1}s {:<width$}  {:<16} {:>9} {:>9}",
            at.as_secs_f64(),
            "node",
            "state",
            "sent",
            "received"
        );
        for row in rows {
            let _ = writeln!(
                out,
                "          {:<width$}  {:<16} {:>9} {:>9}",
                row.name,
                row.state,
                number(row.sent),
                number(row.received)
            );
        }
        self.drawn = rows.len() + 1;
    }
}

fn number(n: Option<u64>) -> String {
    n.map_or("-".to_string(), |n| n.to_string())
}

impl Observer for Live {
    fn note(&mut self, at: Duration, node: Option<&str>, text: &str) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        self.erase(&mut err);
        let who = node.map(|n| format!("{n}: ")).unwrap_or_default();
        let _ = writeln!(err, "[{:>6.2}s] {who}{text}", at.as_secs_f64());
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
        } else if at >= self.next_plain {
            self.next_plain = at + PLAIN_EVERY;
            let counts: Vec<String> = rows
                .iter()
                .filter(|r| r.sent.is_some())
                .map(|r| {
                    format!(
                        "{} {} sent {} received {}",
                        r.name,
                        r.state,
                        number(r.sent),
                        number(r.received)
                    )
                })
                .collect();
            if !counts.is_empty() {
                let _ = writeln!(err, "[{:>6.2}s] {}", at.as_secs_f64(), counts.join(" | "));
            }
        }
    }
}
