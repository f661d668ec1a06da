//! [`Run`]: what every runner of a binary is handed, built once from its arguments
//! by [`super::main`]: the binary's name, its stop, its counters and how it reports,
//! so that nothing is looked up in process-wide state and nothing is passed by hand.

use super::exec::Filter;
use super::lines;
use super::stats::{Counters, Reporter};
use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::frame::Format;
use crate::options::Options;
use crate::peer::{ConnectionEvent, PeerEvent};
use crate::security::{Authenticator, Policy};
use crate::stop::Stop;
use std::collections::HashSet;
use std::fmt::Display;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

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
    /// Every connection event as a JSON line.
    pub events: bool,
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
    /// The authenticator the first socket that needed one started, and the
    /// context it serves, which every socket of the run then shares.
    authenticated: Mutex<Option<(crate::zmq::Context, Authenticator)>>,
    /// Notes printed once (a stage opens its options twice).
    noted: Mutex<HashSet<String>>,
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
            authenticated: Mutex::new(None),
            noted: Mutex::new(HashSet::new()),
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

    /// Print `NAME: what` on stderr the first time, unless quiet.
    pub fn note_once(&self, what: impl Display) {
        if self.reporting.quiet {
            return;
        }
        let what = what.to_string();
        let first = self
            .noted
            .lock()
            .map(|mut noted| noted.insert(what.clone()));
        if first.unwrap_or(true) {
            self.note(what);
        }
    }

    /// The context of the run's authenticator, started with `policy` the first
    /// time (later calls share it, with the first policy): a server that
    /// authenticates its peers opens its socket in it. Refusals are printed on
    /// stderr (`NAME: refused CURVE from 10.0.0.7: client key ... is not
    /// allowed`), rate-limited, unless quiet.
    pub fn authenticated_context(&self, policy: Policy) -> Result<crate::zmq::Context> {
        let mut authenticated = self
            .authenticated
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((context, _)) = authenticated.as_ref() {
            return Ok(context.clone());
        }
        let context = crate::zmq::Context::new();
        let (name, quiet) = (self.name, self.reporting.quiet);
        let authenticator = Authenticator::start(&context, policy, move |report| {
            if !quiet {
                note!("{name}: {report}");
            }
        })?;
        *authenticated = Some((context.clone(), authenticator));
        Ok(context)
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
        let mut options = options.stop(self.stop.clone());
        let name = self.name;
        if self.reporting.events {
            options = options.on_connection_event(move |event| {
                note!("{}", event_line(name, event));
            });
        }
        if self.reporting.quiet {
            return options;
        }
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

/// The `--events` line of `event`: one JSON object, `{"time":"2026-12-03T10:00:00.123456Z",
/// "tool":"zsub","event":"accepted","endpoint":"tcp://127.0.0.1:5555","peer":"127.0.0.1:40112"}`,
/// with `"reason"` when one is known.
pub fn event_line(name: &str, event: &ConnectionEvent) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let mut line = format!(
        "{{\"time\":\"{}\",\"tool\":{},\"event\":{},\"endpoint\":{}",
        rfc3339(event.at),
        text(name),
        text(event.kind.name()),
        text(&event.endpoint)
    );
    if let Some(peer) = &event.peer {
        line += &format!(",\"peer\":{}", text(peer));
    }
    if let Some(reason) = &event.reason {
        line += &format!(",\"reason\":{}", text(reason));
    }
    line.push('}');
    line
}

/// `at` in RFC 3339, UTC, to the microsecond.
fn rfc3339(at: SystemTime) -> String {
    let micros = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let secs = u64::try_from(micros / 1_000_000).unwrap_or(u64::MAX);
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = super::template::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        day_secs / 3600,
        day_secs / 60 % 60,
        day_secs % 60,
        micros % 1_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::ConnectionEventKind;

    #[test]
    fn an_event_is_one_json_line() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_292_000_123_456);
        let event = ConnectionEvent {
            at,
            kind: ConnectionEventKind::HandshakeFailed,
            endpoint: "tcp://127.0.0.1:5555".into(),
            peer: Some("127.0.0.1:40112".into()),
            reason: Some("said \"no\"".into()),
        };
        assert_eq!(
            event_line("zsub", &event),
            r#"{"time":"2026-12-03T10:00:00.123456Z","tool":"zsub","event":"handshake failed","endpoint":"tcp://127.0.0.1:5555","peer":"127.0.0.1:40112","reason":"said \"no\""}"#
        );
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000000Z");
    }
}
