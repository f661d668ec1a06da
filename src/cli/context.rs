//! [`Run`]: what every runner of a binary is handed, built once from its arguments
//! by [`super::main`]: the binary's name, its stop, its counters and how it reports,
//! so that nothing is looked up in process-wide state and nothing is passed by hand.

use super::exec::Filter;
use super::lines;
use super::stats::{Counters, Reporter};
use crate::endpoint::Endpoint;
use crate::frame::Format;
use crate::options::Options;
use crate::peer::PeerEvent;
use crate::stop::Stop;
use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

/// How a binary reports: taken from its arguments.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reporting {
    /// Message format on stdin and stdout (and of `--exec` records).
    pub format: Format,
    /// Only errors and loss reports on stderr.
    pub quiet: bool,
    /// A summary line at exit.
    pub verbose: bool,
    /// A stats line every so often, and at exit.
    pub stats: Option<Duration>,
}

/// Arguments that say how their binary reports.
pub trait Reports {
    /// How the binary reports.
    fn reporting(&self) -> Reporting;
}

/// One run of a binary.
pub struct Run {
    name: &'static str,
    stop: Stop,
    counters: Arc<Counters>,
    reporting: Reporting,
    reporter: Option<Reporter>,
}

impl Run {
    /// The run of binary `name`: counting starts now, reported as `reporting`
    /// says, until [`Run::finish`].
    pub fn start(name: &'static str, stop: Stop, reporting: Reporting) -> Run {
        let counters = Arc::new(Counters::default());
        let reporter = Reporter::start(
            name,
            Arc::clone(&counters),
            reporting.stats,
            reporting.verbose,
            stop.clone(),
        );
        Run {
            name,
            stop,
            counters,
            reporting,
            reporter: Some(reporter),
        }
    }

    /// The binary's name, which starts its lines on stderr.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The stop every wait of the run honours.
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// What the run has sent and received so far.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The message format.
    pub fn format(&self) -> Format {
        self.reporting.format
    }

    /// Whether only errors and loss reports go to stderr.
    pub fn quiet(&self) -> bool {
        self.reporting.quiet
    }

    /// Whether a summary line is printed at exit.
    pub fn verbose(&self) -> bool {
        self.reporting.verbose
    }

    /// Print `NAME: what` on stderr.
    pub fn note(&self, what: impl Display) {
        note!("{}: {what}", self.name);
    }

    /// Print `NAME: warning: what` on stderr.
    pub fn warn(&self, what: impl Display) {
        note!("{}: warning: {what}", self.name);
    }

    /// Print each bound endpoint on stderr (`NAME: bound EP`), unless quiet.
    pub fn report_bound(&self, endpoints: &[Endpoint]) {
        if !self.reporting.quiet {
            for endpoint in endpoints {
                note!("{}", lines::bound_line(self.name, endpoint));
            }
        }
    }

    /// A shell-command filter in the run's format that a stop kills.
    pub fn filter(&self, command: &str) -> Filter {
        Filter::new(command, self.reporting.format, self.stop.clone())
    }

    /// `options` honouring the run's stop, and telling on stderr what happens to
    /// the connections, unless quiet.
    pub fn attach(&self, options: Options) -> Options {
        let options = options.stop(self.stop.clone());
        if self.reporting.quiet {
            return options;
        }
        let name = self.name;
        options.on_peer_event(move |event| tell_peer_event(name, event))
    }

    /// End the run's reporting: the final stats line and the summary, if asked for.
    pub fn finish(&mut self) {
        self.reporter.take();
    }

    /// The line printed when the run was interrupted:
    /// `interrupted: sent 3, received 0, dropped 0`.
    pub fn interrupted_summary(&self) -> String {
        super::stats::interrupted_summary(&self.counters)
    }
}

/// Say on stderr what happened to a connection, when it is news: a first
/// connection is not, a lost one, a reconnection, a failed handshake and a peer
/// that broke a limit are. (A refused handshake ends the run with an error instead.)
fn tell_peer_event(name: &str, event: &PeerEvent) {
    match event {
        PeerEvent::Ready { again: false, .. } | PeerEvent::Rejected { .. } => {}
        event => note!("{name}: {event}"),
    }
}
