//! [`PeerEvent`]: what a role learns about the connections it made with
//! [`crate::Options::connect`], told to the hook set with
//! [`crate::Options::on_peer_event`].
//!
//! libzmq reconnects in silence: a subscriber whose publisher vanished, or whose
//! endpoint turned out to be a socket of the wrong type, looks exactly like one
//! whose publisher has nothing to say. The events say which it is.

use std::fmt;
use std::sync::Arc;

/// A change in a connection to an endpoint the role connected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// The connection to `endpoint` is up: its ZeroMQ handshake is done.
    Ready {
        /// The endpoint connected to.
        endpoint: String,
        /// Whether this connection replaces one that was lost.
        again: bool,
    },
    /// The connection to `endpoint` went down (the peer exited or crashed, or sent
    /// no heartbeat in time); libzmq reconnects.
    Lost {
        /// The endpoint connected to.
        endpoint: String,
    },
    /// The handshake with `endpoint` failed or timed out three times in a row (the
    /// first failures are not told); libzmq tries again.
    Failed {
        /// The endpoint connected to.
        endpoint: String,
        /// What went wrong, as far as libzmq says.
        reason: String,
    },
    /// A connection of a role that deals each message to one peer (a pusher) closed
    /// while messages dealt to it may not have been read yet: they are lost with it,
    /// unless the peer passed them on before it left. Told for accepted connections
    /// too (`endpoint` is then the bound endpoint that accepted it).
    Undelivered {
        /// The endpoint connected to, or the bound endpoint that accepted the
        /// connection.
        endpoint: String,
        /// Whether the role made this connection itself.
        outgoing: bool,
    },
    /// A peer connected through `endpoint` broke a limit (too many subscriptions,
    /// say): what it sent past the limit was dropped, and a peer that kept on was
    /// cut off. Told at most [`PeerEvent::TOLD_PER_SECOND`] times a second; the
    /// next event says how many were left untold.
    Misbehaved {
        /// The endpoint connected to, or the bound endpoint that accepted the
        /// connection (`inproc` for subscriptions over inproc).
        endpoint: String,
        /// What it did, and what was done about it.
        what: String,
        /// Events of this kind left untold since the last one told (rate limit).
        untold: u64,
    },
    /// The peer at `endpoint` speaks ZeroMQ but refused the handshake, typically
    /// because its socket type cannot talk to ours (a subscriber connected to a
    /// pusher). libzmq gives the endpoint up; the role reports it as an error.
    Rejected {
        /// The endpoint connected to.
        endpoint: String,
        /// What went wrong, as far as libzmq says.
        reason: String,
    },
}

impl PeerEvent {
    /// How many [`PeerEvent::Misbehaved`] events a role tells per second at most:
    /// a flood of misbehaving peers must not become a flood of lines.
    pub const TOLD_PER_SECOND: u32 = 10;

    /// The endpoint the event is about.
    pub fn endpoint(&self) -> &str {
        match self {
            PeerEvent::Ready { endpoint, .. }
            | PeerEvent::Lost { endpoint }
            | PeerEvent::Undelivered { endpoint, .. }
            | PeerEvent::Misbehaved { endpoint, .. }
            | PeerEvent::Failed { endpoint, .. }
            | PeerEvent::Rejected { endpoint, .. } => endpoint,
        }
    }
}

impl fmt::Display for PeerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerEvent::Ready {
                endpoint,
                again: true,
            } => write!(f, "reconnected to {endpoint}"),
            PeerEvent::Ready { endpoint, .. } => write!(f, "connected to {endpoint}"),
            PeerEvent::Lost { endpoint } => {
                write!(f, "the connection to {endpoint} closed; reconnecting")
            }
            PeerEvent::Undelivered {
                endpoint,
                outgoing: true,
            } => write!(
                f,
                "the connection to {endpoint} closed with messages in flight: what was dealt to it may be lost"
            ),
            PeerEvent::Undelivered { endpoint, .. } => write!(
                f,
                "a peer's connection to {endpoint} closed with messages in flight: what was dealt to it may be lost"
            ),
            PeerEvent::Misbehaved {
                endpoint,
                what,
                untold,
            } => {
                write!(f, "a peer on {endpoint} {what}")?;
                if *untold > 0 {
                    write!(f, " ({untold} more such events not told)")?;
                }
                Ok(())
            }
            PeerEvent::Failed { endpoint, reason } => {
                write!(f, "handshake with {endpoint} failed ({reason}); retrying")
            }
            PeerEvent::Rejected { endpoint, reason } => {
                write!(f, "{endpoint} refused the handshake: {reason}")
            }
        }
    }
}

/// The hook that hears a role's [`PeerEvent`]s. It runs on the thread using the
/// role, inside its calls, so it should be quick (print, count, send on a channel).
#[derive(Clone)]
pub struct PeerHook(Arc<dyn Fn(&PeerEvent) + Send + Sync>);

impl PeerHook {
    /// A hook calling `f`.
    pub fn new(f: impl Fn(&PeerEvent) + Send + Sync + 'static) -> PeerHook {
        PeerHook(Arc::new(f))
    }

    pub(crate) fn call(&self, event: &PeerEvent) {
        (self.0)(event)
    }
}

impl fmt::Debug for PeerHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PeerHook")
    }
}
