//! What the ZAP handler tells its owner: each refusal (peer address, mechanism,
//! reason; never a password or a secret), rate-limited so that a scanner cannot
//! flood the owner's log, with a count of what was held back.

use super::address::AddressRefusal;
use super::keys::PublicKey;
use std::fmt;
use std::time::{Duration, Instant};

/// One refused ZAP request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The peer's address as libzmq gave it (`127.0.0.1`, `::1`; empty for ipc and
    /// inproc), made printable.
    pub address: String,
    /// `NULL`, `PLAIN`, `CURVE`, or what a malformed request said, made printable.
    pub mechanism: String,
    /// The ZAP domain of the server socket (`ZMQ_ZAP_DOMAIN`), made printable.
    pub domain: String,
    /// The status code answered: 400 (refused) or 500 (a request the handler
    /// could not read).
    pub status: u16,
    /// Why.
    pub reason: Reason,
}

/// Why a request was refused. Text from the network (user names) is made
/// printable and cut short; passwords and secret keys never appear.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The address filter refused the peer.
    Address(AddressRefusal),
    /// A PLAIN client, and no passwords are configured.
    NoPasswords,
    /// A PLAIN client with a user name that is not in the password file.
    UnknownUser(String),
    /// A PLAIN client with a known user name and a wrong password.
    WrongPassword(String),
    /// A CURVE client whose public key is not among the allowed ones.
    UnknownKey(PublicKey),
    /// A mechanism this handler does not authenticate (GSSAPI, or unknown).
    UnsupportedMechanism,
    /// A request that breaks RFC 27 (answered with 500).
    Malformed(&'static str),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Address(refusal) => write!(f, "{refusal}"),
            Reason::NoPasswords => f.write_str("no PLAIN passwords are configured"),
            Reason::UnknownUser(user) => write!(f, "unknown user \"{user}\""),
            Reason::WrongPassword(user) => write!(f, "wrong password for user \"{user}\""),
            Reason::UnknownKey(key) => write!(f, "client key {key} is not allowed"),
            Reason::UnsupportedMechanism => f.write_str("mechanism not supported"),
            Reason::Malformed(what) => write!(f, "malformed ZAP request: {what}"),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = if self.address.is_empty() {
            "a peer without an IP address"
        } else {
            &self.address
        };
        write!(f, "refused {} from {address}", self.mechanism)?;
        if !self.domain.is_empty() {
            write!(f, " (domain {})", self.domain)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What the owner's callback receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// A request was refused.
    Refused(Refusal),
    /// This many refusals were not reported, the rate limit having been reached
    /// within `within`.
    Suppressed {
        /// How many.
        count: u64,
        /// The rate limit's period.
        within: Duration,
    },
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Refused(refusal) => write!(f, "{refusal}"),
            Report::Suppressed { count, within } => write!(
                f,
                "{count} more refusal(s) within {} not reported (rate limit)",
                crate::duration::display(*within)
            ),
        }
    }
}

/// At most `reports` refusals reported per `per`; the rest are counted and their
/// number reported when the period ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Refusals reported per period. Default 10.
    pub reports: u32,
    /// The period. Default 1 s.
    pub per: Duration,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            reports: 10,
            per: Duration::from_secs(1),
        }
    }
}

/// The longest text from the network shown in a report, in characters.
const SHOWN_CHARS: usize = 64;

/// `bytes` from the network as one printable line: invalid UTF-8 replaced, control
/// characters escaped, cut at [`SHOWN_CHARS`] characters.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut shown = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == SHOWN_CHARS {
            shown.push_str("...");
            break;
        }
        if c.is_control() || c == '"' || c == '\\' {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// The fixed-window rate limiter behind the reports.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    /// The start of the current window, if one is open.
    window: Option<Instant>,
    shown: u32,
    suppressed: u64,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            window: None,
            shown: 0,
            suppressed: 0,
        }
    }

    /// Report `refusal` at `now` through `out`, or count it if the window is full.
    pub(crate) fn offer(&mut self, now: Instant, refusal: Refusal, out: &mut dyn FnMut(&Report)) {
        self.tick(now, out);
        if self.window.is_none() {
            self.window = Some(now);
            self.shown = 0;
        }
        if self.shown < self.limit.reports {
            self.shown += 1;
            out(&Report::Refused(refusal));
        } else {
            self.suppressed += 1;
        }
    }

    /// Close the window if its period is over, reporting what it held back.
    pub(crate) fn tick(&mut self, now: Instant, out: &mut dyn FnMut(&Report)) {
        if let Some(start) = self.window {
            if now.saturating_duration_since(start) >= self.limit.per {
                self.flush(out);
            }
        }
    }

    /// Report what was held back, now (at the end).
    pub(crate) fn flush(&mut self, out: &mut dyn FnMut(&Report)) {
        if self.suppressed > 0 {
            out(&Report::Suppressed {
                count: self.suppressed,
                within: self.limit.per,
            });
        }
        self.window = None;
        self.suppressed = 0;
    }

    /// When [`Limiter::tick`] has a count to report, if it has one.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.window {
            Some(start) if self.suppressed > 0 => Some(start + self.limit.per),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(n: u32) -> Refusal {
        Refusal {
            address: format!("10.0.0.{n}"),
            mechanism: "NULL".into(),
            domain: String::new(),
            status: 400,
            reason: Reason::Address(AddressRefusal::Denied),
        }
    }

    #[test]
    fn at_most_n_per_period_then_a_count() {
        let mut limiter = Limiter::new(RateLimit {
            reports: 3,
            per: Duration::from_secs(1),
        });
        let mut seen = Vec::new();
        let t0 = Instant::now();
        for n in 0..10 {
            limiter.offer(t0 + Duration::from_millis(n.into()), refusal(n), &mut |r| {
                seen.push(r.clone())
            });
        }
        assert_eq!(seen.len(), 3);
        assert_eq!(limiter.deadline(), Some(t0 + Duration::from_secs(1)));
        limiter.tick(t0 + Duration::from_millis(999), &mut |r| {
            seen.push(r.clone())
        });
        assert_eq!(seen.len(), 3);
        limiter.tick(t0 + Duration::from_secs(1), &mut |r| seen.push(r.clone()));
        assert_eq!(
            seen[3],
            Report::Suppressed {
                count: 7,
                within: Duration::from_secs(1)
            }
        );
        assert_eq!(limiter.deadline(), None);
        // A new period reports again.
        limiter.offer(t0 + Duration::from_secs(5), refusal(99), &mut |r| {
            seen.push(r.clone())
        });
        assert_eq!(seen[4], Report::Refused(refusal(99)));
        limiter.flush(&mut |r| seen.push(r.clone()));
        assert_eq!(seen.len(), 5, "nothing was held back");
    }

    #[test]
    fn reports_read_as_one_line() {
        let mut r = refusal(1);
        assert_eq!(
            Report::Refused(r.clone()).to_string(),
            "refused NULL from 10.0.0.1: address denied"
        );
        r.address.clear();
        r.domain = "global".into();
        r.mechanism = "PLAIN".into();
        r.reason = Reason::WrongPassword(printable(b"ad\"min\n"));
        assert_eq!(
            r.to_string(),
            "refused PLAIN from a peer without an IP address (domain global): wrong password for user \"ad\\\"min\\n\""
        );
        let s = Report::Suppressed {
            count: 7,
            within: Duration::from_secs(1),
        };
        assert_eq!(
            s.to_string(),
            "7 more refusal(s) within 1s not reported (rate limit)"
        );
    }

    #[test]
    fn network_text_is_made_printable_and_short() {
        assert_eq!(printable(b"alice"), "alice");
        assert_eq!(printable(b"a\x1b[31mb\xff"), "a\\u{1b}[31mb\u{fffd}");
        let long = printable(&[b'x'; 100]);
        assert_eq!(long.len(), 64 + 3);
    }
}
