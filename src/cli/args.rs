//! The one command-line vocabulary shared by the six role binaries.
//!
//! Every binary flattens [`SocketArgs`] (endpoints, HWM, linger, size limit, format,
//! verbosity); senders add [`SourceArgs`], receivers [`ReceiveArgs`]. The pub/sub and
//! pipeline binaries add the batch header: [`HeaderArgs`] on receivers,
//! [`StampArgs`] (which includes it) on senders.

use super::context::{Reporting, Run};
use super::security::SecurityArgs;
use crate::frame::{Batch, Format, Limits};
use crate::options::Options;
use crate::{duration, Error};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Where the socket binds and connects. At least one is required.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = true)]
pub struct Endpoints {
    /// Bind to EP and accept peers (repeatable). Port * (or 0) picks a free port; each
    /// bound endpoint is printed on stderr as "NAME: bound EP".
    #[arg(short, long, value_name = "EP")]
    pub bind: Vec<String>,
    /// Connect to EP (repeatable).
    #[arg(short, long, value_name = "EP")]
    pub connect: Vec<String>,
}

/// Socket settings, format and verbosity: shared by all six binaries.
#[derive(Args, Debug, Clone)]
pub struct SocketArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub endpoints: Endpoints,
    /// High-water mark: messages queued per peer and direction (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = Options::DEFAULT_HWM)]
    pub hwm: u32,
    /// At exit, how long to wait for peers that read nothing of what is still
    /// queued for them (peers that keep reading are waited for as long as they do;
    /// after Ctrl-C, DUR in all).
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = duration_arg)]
    pub linger: Duration,
    /// Largest message, all frames together, in bytes (suffixes k, M, G; at least
    /// 256): a peer sending more is disconnected (and said so); a sender refuses an
    /// input message over it.
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = max_size_arg)]
    pub max_size: usize,
    /// Send a heartbeat on each quiet connection every DUR (0: none), so that a peer
    /// that vanished without closing its connection is noticed.
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = duration_arg)]
    pub heartbeat: Duration,
    /// Drop a connection (and reconnect, if we made it) when nothing has come back
    /// for DUR after a heartbeat.
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = heartbeat_timeout_arg)]
    pub heartbeat_timeout: Duration,
    /// Wait DUR before reconnecting a lost connection.
    #[arg(long, value_name = "DUR", default_value = "100ms", value_parser = positive_duration_arg)]
    pub reconnect: Duration,
    /// Double the reconnect interval after each failed attempt, up to DUR.
    #[arg(long, value_name = "DUR", value_parser = positive_duration_arg)]
    pub reconnect_max: Option<Duration>,
    /// Drop a connection that has not completed its ZeroMQ handshake within DUR.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = positive_duration_arg)]
    pub handshake_timeout: Duration,
    /// Message format on stdin and stdout: text (frames joined by TAB, one message per
    /// line), escaped, hex, json or raw.
    #[arg(long, value_name = "FMT", default_value = "text", value_parser = format_arg)]
    pub format: Format,
    /// Print only errors and reports of loss on stderr: not the bound endpoints,
    /// waits for peers or connection changes.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print a summary line on stderr at exit.
    #[arg(short, long)]
    pub verbose: bool,
    /// Every DUR, print a line "NAME: stats {JSON}" with the counts so far on stderr
    /// (and a final one at exit).
    #[arg(long, value_name = "DUR", value_parser = positive_duration_arg)]
    pub stats: Option<Duration>,
    /// Print every connection event on stderr as a JSON line: listening,
    /// accepted, connected, handshake succeeded, handshake failed (with the
    /// reason), disconnected, closed; with the peer's address and the time.
    #[arg(long)]
    pub events: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub security: SecurityArgs,
}

impl SocketArgs {
    /// How a binary with these arguments reports.
    pub fn reporting(&self) -> Reporting {
        Reporting {
            format: self.format,
            quiet: self.quiet,
            verbose: self.verbose,
            stats: self.stats,
            events: self.events,
        }
    }

    /// The library options these arguments describe, for `run` (its stop, the
    /// telling of connection events, and its authenticator when the security
    /// options make this end a server that checks its peers): the key and password
    /// files are read here.
    pub fn options(&self, run: &Run) -> crate::Result<Options> {
        let setup = self.security.setup()?;
        for notice in &setup.notices {
            run.note_once(notice);
        }
        let heartbeat = (!self.heartbeat.is_zero()).then_some(self.heartbeat);
        let mut options = Options::new()
            .hwm(self.hwm)
            .linger(self.linger)
            .heartbeat(heartbeat, self.heartbeat_timeout)
            .reconnect(self.reconnect, self.reconnect_max)
            .handshake_timeout(self.handshake_timeout)
            .limits(Limits {
                max_message_size: self.max_size,
                ..Limits::default()
            });
        options.binds = self.endpoints.bind.clone();
        options.connects = self.endpoints.connect.clone();
        if let Some(policy) = setup.policy {
            options = options.context(run.authenticated_context(policy)?);
        }
        Ok(run.attach(options.security(setup.security)))
    }
}

/// Where a sender's messages come from, and their pace.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// Send TEXT (one message, in --format) instead of reading stdin.
    #[arg(short, long, value_name = "TEXT", conflicts_with = "file")]
    pub data: Option<String>,
    /// Read messages from PATH, one per line (- = stdin).
    #[arg(short, long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// With --data: send it N times. Otherwise: stop after N messages.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Pause DUR between messages.
    #[arg(short, long, value_name = "DUR", value_parser = duration_arg)]
    pub interval: Option<Duration>,
    /// Wait DUR before the first message.
    #[arg(long, value_name = "DUR", value_parser = duration_arg)]
    pub delay: Option<Duration>,
}

/// When a receiver stops.
#[derive(Args, Debug, Clone)]
pub struct ReceiveArgs {
    /// Stop after N messages (exit 0); if --timeout passes first, exit 2.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop when nothing arrives for DUR (exit 0 without --count); more than zero.
    #[arg(short = 'W', long, value_name = "DUR", value_parser = timeout_arg)]
    pub timeout: Option<Duration>,
    /// Read at most N messages per second: a deliberately slow consumer, to see
    /// what the sender does when a receiver falls behind (zsub, zpull).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
}

/// Batch header mode, explicit at both ends (never guessed from the payload).
#[derive(Args, Debug, Clone)]
pub struct HeaderArgs {
    /// Batch header mode, needed at both ends. Senders add a header frame to every
    /// message (batch id, sequence number, batch size if known, send time) and end
    /// with an end-of-stream message; receivers strip it, and drop and report
    /// messages without a valid one.
    #[arg(long)]
    pub header: bool,
}

/// How a sender numbers its messages in batch header mode.
#[derive(Args, Debug, Clone)]
pub struct StampArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub header: HeaderArgs,
    /// With --header: the batch id to stamp (default: a random one per run).
    #[arg(long, value_name = "N", requires = "header")]
    pub batch_id: Option<u64>,
}

impl StampArgs {
    /// The batch to stamp messages with, if --header is on. Its size is known in
    /// advance only for --data (sent --count times); input read from a file or
    /// stdin ends with the end-of-stream message instead.
    pub fn batch(&self, source: &SourceArgs) -> Option<Batch> {
        if !self.header.header {
            return None;
        }
        let size = source.data.as_ref().map(|_| source.count.unwrap_or(1));
        Some(match self.batch_id {
            Some(id) => Batch::new(id, size),
            None => Batch::random(size),
        })
    }
}

/// Parse a duration argument (`250ms`, `2s`).
pub fn duration_arg(text: &str) -> Result<Duration, String> {
    duration::parse(text).map_err(|e| e.to_string())
}

/// Parse a duration that must not be zero.
pub fn positive_duration_arg(text: &str) -> Result<Duration, String> {
    match duration_arg(text)? {
        d if d.is_zero() => Err(format!("'{text}' must be longer than zero")),
        d => Ok(d),
    }
}

/// Parse a timeout, a wait limit or a deadline: zero would end the wait before
/// anything could arrive, so it is refused with a hint, never taken silently.
pub fn timeout_arg(text: &str) -> Result<Duration, String> {
    match duration_arg(text)? {
        d if d.is_zero() => Err(format!(
            "'{text}' would give up at once: give a longer time, or leave the option out to wait as long as it takes"
        )),
        d => Ok(d),
    }
}

/// Parse a heartbeat timeout: more than zero, at most what ZMTP can tell a peer
/// (6553.5 s).
fn heartbeat_timeout_arg(text: &str) -> Result<Duration, String> {
    match positive_duration_arg(text)? {
        d if d > Duration::from_millis(6_553_500) => Err(format!(
            "'{text}' is longer than the most a heartbeat can say, 6553.5s"
        )),
        d => Ok(d),
    }
}

/// The smallest --max-size: below it, even the ZeroMQ handshake cannot get through.
const MIN_MAX_SIZE: usize = 256;

/// Parse --max-size: a byte size of at least [`MIN_MAX_SIZE`].
fn max_size_arg(text: &str) -> Result<usize, String> {
    match size_arg(text)? {
        n if n < MIN_MAX_SIZE => Err(format!(
            "{n} bytes is too small: the ZeroMQ handshake alone needs more (at least {MIN_MAX_SIZE})"
        )),
        n => Ok(n),
    }
}

/// Parse a format name.
pub fn format_arg(text: &str) -> Result<Format, String> {
    text.parse::<Format>().map_err(|e| e.to_string())
}

/// Parse a byte size: `1024`, `64k`, `16M`, `1G` (binary multiples).
pub fn size_arg(text: &str) -> Result<usize, String> {
    let (digits, shift) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 10),
        Some((i, 'm' | 'M')) => (&text[..i], 20),
        Some((i, 'g' | 'G')) => (&text[..i], 30),
        _ => (text, 0),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("invalid size '{text}' (examples: 4096, 64k, 16M)"))
}

/// Check that an option value makes sense, as a usage error naming the option.
pub fn require(ok: bool, message: &str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::usage(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size_arg("4096"), Ok(4096));
        assert_eq!(size_arg("64k"), Ok(65536));
        assert_eq!(size_arg("16M"), Ok(16 << 20));
        assert!(size_arg("lots").is_err());
        assert!(size_arg("").is_err());
        assert!(size_arg("99999999999999G").is_err());
    }

    #[test]
    fn a_timeout_of_zero_is_refused_with_a_hint() {
        assert_eq!(timeout_arg("2s"), Ok(Duration::from_secs(2)));
        for zero in ["0", "0s", "0ms"] {
            let e = timeout_arg(zero).unwrap_err();
            assert!(e.contains("would give up at once"), "{e}");
        }
        assert_eq!(
            timeout_arg("5").unwrap_err(),
            "'5': a duration needs a unit (5s, 5ms)"
        );
    }
}
