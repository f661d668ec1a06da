//! A progress line on stderr, for people watching a long run: a sender whose input
//! has a known size (a file, or `--data` sent `--count` times) and a sink. It shows
//! the count, the rate and, where the total is known, a bar and the time left; it
//! is redrawn in place (by indicatif) and cleared at the end. Only on a terminal,
//! and not with `--quiet`: piped or redirected stderr gets no such line, so that
//! programs reading it see only the lines of [`super::lines`] and the reports.

use super::context::Run;
use super::input::Total;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often the count and rate are worked out again (the line is drawn at most
/// that often too).
const TICK: Duration = Duration::from_millis(100);

/// A progress line, or nothing when stderr is not a terminal.
pub struct Progress {
    line: Option<Line>,
}

struct Line {
    bar: ProgressBar,
    /// What is counted, in the singular: `message`, `item`.
    unit: &'static str,
    /// When the first update came: the rate counts from there, not from a wait
    /// for peers before it.
    started: Option<Instant>,
    next_tick: Instant,
    /// Whether the bar has a length yet.
    sized: bool,
}

impl Progress {
    /// The progress line of a sender that has `total` to send, if stderr is a
    /// terminal and the run is not quiet.
    pub fn sending(run: &Run, total: Option<Total>) -> Progress {
        let Some(total) = total else {
            return Progress { line: None };
        };
        let length = match total {
            Total::Bytes(n) | Total::Messages(n) => n,
        };
        Progress::start(run, "message", Some(length))
    }

    /// The progress line of a sink, whose total is known once its batches' sizes
    /// are, if stderr is a terminal and the run is not quiet.
    pub fn collecting(run: &Run) -> Progress {
        Progress::start(run, "item", None)
    }

    fn start(run: &Run, unit: &'static str, length: Option<u64>) -> Progress {
        if run.quiet() || !std::io::stderr().is_terminal() {
            return Progress { line: None };
        }
        // Hidden until the first update: nothing is drawn while a sender waits
        // for its peers.
        let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::hidden());
        bar.set_prefix(run.name());
        let mut line = Line {
            bar,
            unit,
            started: None,
            next_tick: Instant::now(),
            sized: false,
        };
        line.style(length.is_some());
        Progress { line: Some(line) }
    }

    /// `count` done so far, at `position` of `total` (the bar's unit: bytes of a
    /// file, messages, items); a `total` of `None` keeps what the bar knows. Cheap
    /// between ticks (`total` is asked only at a tick), so it can be called for
    /// every message.
    pub fn update(&mut self, count: u64, position: u64, total: impl FnOnce() -> Option<u64>) {
        let Some(line) = &mut self.line else {
            return;
        };
        let now = Instant::now();
        if now < line.next_tick {
            return;
        }
        line.next_tick = now + TICK;
        let started = *line.started.get_or_insert_with(|| {
            line.bar.set_draw_target(ProgressDrawTarget::stderr());
            now
        });
        if let Some(total) = total() {
            line.bar.set_length(total);
            if !line.sized {
                line.style(true);
            }
        }
        let seconds = now.duration_since(started).as_secs_f64();
        let rate = if seconds > 0.0 {
            count as f64 / seconds
        } else {
            0.0
        };
        let plural = if count == 1 { "" } else { "s" };
        line.bar
            .set_message(format!("{count} {}{plural}, {rate:.0}/s", line.unit));
        line.bar.set_position(position);
    }
}

impl Line {
    /// A bar with the time left once the total is known, a spinner before.
    fn style(&mut self, sized: bool) {
        let template = if sized {
            "{prefix}: {msg} [{bar:30}] {percent}% ETA {eta}"
        } else {
            "{prefix}: {spinner} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.sized = sized;
    }
}

impl Drop for Progress {
    /// The line goes when the run ends, whatever way: what follows on stderr (a
    /// summary, a report, an error) starts on a clean line.
    fn drop(&mut self) {
        if let Some(line) = &self.line {
            line.bar.finish_and_clear();
        }
    }
}
