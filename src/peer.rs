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
    /// The peer at `endpoint` speaks ZeroMQ but refused the handshake: its socket
    /// type cannot talk to ours (a subscriber connected to a pusher), its security
    /// is not ours, or it refused our credentials (a CURVE client whose server key
    /// is wrong sees every handshake end, and after three says so). libzmq gives the
    /// endpoint up, or retries in vain; the role reports it as an error.
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
            PeerEvent::Rejected { endpoint, reason } => write!(f, "{endpoint}: {reason}"),
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

/// What happened to a connection, one libzmq monitor event: the stream
/// [`crate::Options::on_connection_event`] hears (and `--events` prints as JSON
/// lines), for connections accepted as well as made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionEvent {
    /// When the role took the event in.
    pub at: std::time::SystemTime,
    /// What happened.
    pub kind: ConnectionEventKind,
    /// The endpoint: bound (listening, accepted connections) or connected to.
    pub endpoint: String,
    /// The peer's address (`ip:port`, or the peer's credentials over ipc), once a
    /// connection exists.
    pub peer: Option<String>,
    /// Why a handshake failed or a connection ended, when it is known.
    pub reason: Option<String>,
}

/// The kinds of [`ConnectionEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionEventKind {
    /// The socket listens on a bound endpoint.
    Listening,
    /// A listener stopped listening.
    Closed,
    /// A peer's connection was accepted.
    Accepted,
    /// A connection the socket made is up (before its handshake).
    Connected,
    /// The ZeroMQ handshake of a connection completed.
    HandshakeSucceeded,
    /// The ZeroMQ handshake of a connection failed (`reason` says why).
    HandshakeFailed,
    /// A connection ended.
    Disconnected,
}

impl ConnectionEventKind {
    /// The kind's name in `--events` lines: `listening`, `accepted`...
    pub fn name(self) -> &'static str {
        match self {
            ConnectionEventKind::Listening => "listening",
            ConnectionEventKind::Closed => "closed",
            ConnectionEventKind::Accepted => "accepted",
            ConnectionEventKind::Connected => "connected",
            ConnectionEventKind::HandshakeSucceeded => "handshake succeeded",
            ConnectionEventKind::HandshakeFailed => "handshake failed",
            ConnectionEventKind::Disconnected => "disconnected",
        }
    }
}

/// The hook that hears a role's [`ConnectionEvent`]s, on the thread using the role.
#[derive(Clone)]
pub struct ConnectionHook(Arc<dyn Fn(&ConnectionEvent) + Send + Sync>);

impl ConnectionHook {
    /// A hook calling `f`.
    pub fn new(f: impl Fn(&ConnectionEvent) + Send + Sync + 'static) -> ConnectionHook {
        ConnectionHook(Arc::new(f))
    }

    pub(crate) fn call(&self, event: &ConnectionEvent) {
        (self.0)(event)
    }
}

impl fmt::Debug for ConnectionHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectionHook")
    }
}
