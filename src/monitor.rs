//! Watching a socket's connections through libzmq's monitor: which peer connections
//! are open (their file descriptors, their peers' addresses), which have completed
//! their handshake, what happened to the connections the socket made itself
//! ([`PeerEvent`]s), which peers failed their handshake with us, and, for whoever
//! asks, every event as it came ([`ConnectionEvent`]s).

use crate::error::{Error, Result};
use crate::peer::{ConnectionEvent, ConnectionEventKind, PeerEvent};
use crate::role::Role;
use crate::sys;
use std::collections::{BTreeMap, VecDeque};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

const EVENTS: u16 = (zmq_sys::ZMQ_EVENT_LISTENING
    | zmq_sys::ZMQ_EVENT_CLOSED
    | zmq_sys::ZMQ_EVENT_CONNECTED
    | zmq_sys::ZMQ_EVENT_ACCEPTED
    | zmq_sys::ZMQ_EVENT_DISCONNECTED
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) as u16;

/// libzmq's protocol error codes that have a plainer name (zmq.h).
const PROTOCOL_CRYPTOGRAPHIC: u32 = 0x1100_0001;
const PROTOCOL_MECHANISM_MISMATCH: u32 = 0x1100_0002;
const PROTOCOL_ZAP: u32 = 0x2000_0000;

/// Handshakes with one endpoint that may fail in a row before a CURVE client calls
/// it a refusal (a wrong server key fails every handshake, without a word).
const CURVE_FAILURES: u32 = 3;

/// A peer that failed its handshake with us (an accepted connection).
pub(crate) struct Refusal {
    /// The bound endpoint that accepted it.
    pub(crate) endpoint: String,
    /// The peer's address, if known.
    pub(crate) peer: Option<String>,
    /// Why.
    pub(crate) reason: String,
}

/// Events kept for the role to take, at most; older ones are dropped.
const MAX_PENDING_EVENTS: usize = 256;

/// The bit of a disconnect event's value by which zpattern's libzmq says that the
/// peer reset the connection (see src/libzmq).
const PEER_RESET: u32 = 1 << 30;
/// The bit by which it says that the peer was dropped for a message (or frame)
/// over the limits.
const OVER_LIMITS: u32 = 1 << 29;

/// Closed connections kept for the role to judge, at most; older ones are dropped.
const MAX_DEPARTURES: usize = 1024;

/// One event as libzmq's version 2 monitor sends it: frames of the event number
/// (u64), the count of values (u64), the values (u64 each; ours have one), the
/// local and the remote address.
struct RawEvent {
    event: u32,
    value: u32,
    local: String,
    remote: String,
}

impl RawEvent {
    fn parse(frames: &[Vec<u8>]) -> Option<RawEvent> {
        let number = |frame: &Vec<u8>| -> Option<u64> {
            Some(u64::from_ne_bytes(frame.as_slice().try_into().ok()?))
        };
        let text = |frame: &Vec<u8>| String::from_utf8_lossy(frame).into_owned();
        let event = number(frames.first()?)?;
        let count = usize::try_from(number(frames.get(1)?)?).ok()?;
        let value = match count {
            0 => 0,
            _ => number(frames.get(2)?)?,
        };
        let [local, remote] = frames.get(2 + count..)? else {
            return None;
        };
        Some(RawEvent {
            event: u32::try_from(event).ok()?,
            // Values are u32 in the version 1 format, which libzmq fills the same.
            value: value as u32,
            local: text(local),
            remote: text(remote),
        })
    }
}

/// A peer's address as shown: `tcp://10.0.0.7:40112` becomes `10.0.0.7:40112`;
/// an address with nothing after its transport (an unnamed ipc peer) is none.
fn shown_peer(remote: &str) -> Option<String> {
    let shown = remote.strip_prefix("tcp://").unwrap_or(remote);
    let bare = shown.split_once("://").map_or(shown, |(_, rest)| rest);
    (!bare.is_empty()).then(|| shown.to_string())
}

/// A peer connection that was up (handshake done) and has closed.
pub(crate) struct Departure {
    /// The endpoint connected to, or the bound endpoint that accepted it.
    pub(crate) address: String,
    /// Whether the socket made this connection itself.
    pub(crate) outgoing: bool,
    /// Whether the peer reset the connection: it closed with data it had not
    /// read (zpattern's libzmq says so in the disconnect event).
    pub(crate) reset: bool,
}

/// One open peer connection.
struct Connection {
    /// The endpoint connected to, or the bound endpoint that accepted it.
    address: String,
    /// Its two addresses as libzmq names them, local and remote: the events of
    /// its handshake name the connection by them.
    pair: (String, String),
    /// The peer's address (`ip:port`) of a connection we accepted, if it has one.
    peer: Option<String>,
    /// Whether the socket made this connection (`connect`) rather than accepted it.
    outgoing: bool,
    /// Order of arrival: a handshake event names an address, not a connection, so
    /// it is matched to the oldest connection of that address still handshaking.
    arrival: u64,
    handshaken: bool,
    failed: bool,
}

/// How a handshake failed.
enum Failure {
    /// The connection broke during it: an errno, and no reason given.
    Silent(String),
    /// The peer broke the protocol, or our security did not match: a code.
    Protocol(u32),
    /// Authentication refused it: a ZAP status code.
    Refused(u32),
}

impl Failure {
    /// Why, in words, for a connection made (`outgoing`) or accepted by `role`,
    /// which speaks `mechanism` as a client.
    fn reason(&self, outgoing: bool, mechanism: &str, role: &Role) -> String {
        match self {
            Failure::Silent(errno) => errno.clone(),
            Failure::Refused(_) if outgoing => match mechanism {
                "NULL" => "the server refused us (NULL: it wants credentials, or our address is not allowed)".to_string(),
                _ => format!("the server refused our credentials ({mechanism})"),
            },
            Failure::Refused(status) => format!("refused by the authenticator (status {status})"),
            Failure::Protocol(PROTOCOL_MECHANISM_MISMATCH) if outgoing => {
                format!("the server speaks another security mechanism than ours ({mechanism})")
            }
            Failure::Protocol(PROTOCOL_MECHANISM_MISMATCH) => {
                "speaks another security mechanism than ours (NULL, PLAIN, CURVE)".to_string()
            }
            Failure::Protocol(PROTOCOL_CRYPTOGRAPHIC) if outgoing => {
                "the CURVE handshake failed a cryptographic check (CURVE)".to_string()
            }
            Failure::Protocol(PROTOCOL_CRYPTOGRAPHIC) => {
                "failed the CURVE handshake (it has the wrong server key)".to_string()
            }
            Failure::Protocol(code) if code & 0xf000_0000 == PROTOCOL_ZAP => {
                format!("the authenticator answered wrongly (ZeroMQ protocol error 0x{code:x})")
            }
            Failure::Protocol(_) if outgoing => format!(
                "refused the handshake: the {} needs {} there",
                role.name, role.peers
            ),
            Failure::Protocol(code) => format!(
                "broke the ZeroMQ handshake (protocol error 0x{code:x}; a {} takes {})",
                role.name, role.peers
            ),
        }
    }
}

/// The receiving end of a socket monitor and what it has learnt so far.
pub(crate) struct Monitor {
    events: zmq::Socket,
    connections: BTreeMap<RawFd, Connection>,
    arrivals: u64,
    /// Addresses whose connection was lost, so that the next one is a reconnection.
    lost: Vec<String>,
    /// Handshake failures in a row, per address of an outgoing connection.
    failures: BTreeMap<String, u32>,
    news: VecDeque<PeerEvent>,
    /// Connections that were up and have closed since the role last looked.
    departures: VecDeque<Departure>,
    /// Endpoints of connections dropped for a message over the limits, since the
    /// role last looked.
    oversized: VecDeque<String>,
    /// Peers that failed their handshake with us (not for authentication: the
    /// authenticator reports those), since the role last looked.
    refusals: VecDeque<Refusal>,
    /// Every event, for a connection hook; `None` when nobody listens.
    stream: Option<VecDeque<ConnectionEvent>>,
    /// The security mechanism the socket speaks as a client (`NULL`, `PLAIN`,
    /// `CURVE`), for saying why a handshake failed.
    mechanism: &'static str,
    /// The role of the socket, for the same.
    role: &'static Role,
}

impl Monitor {
    /// Start monitoring `socket` (created in `context` for `role`), which speaks
    /// `mechanism` as a client; with `stream`, keep every event for
    /// [`Monitor::take_stream`].
    pub(crate) fn attach(
        context: &zmq::Context,
        socket: &mut zmq::Socket,
        role: &'static Role,
        mechanism: &'static str,
        stream: bool,
    ) -> Result<Monitor> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let endpoint = format!(
            "inproc://zpattern.monitor.{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let fail = |e| Error::zmq("cannot monitor the socket", e);
        sys::monitor_v2(socket, &endpoint, u64::from(EVENTS)).map_err(fail)?;
        let events = context.socket(zmq::PAIR).map_err(fail)?;
        // libzmq sends monitor events with a blocking send: an unlimited queue on our
        // side keeps an unread monitor from ever blocking the socket it watches.
        events.set_rcvhwm(0).map_err(fail)?;
        events.set_linger(0).map_err(fail)?;
        events.connect(&endpoint).map_err(fail)?;
        Ok(Monitor {
            events,
            connections: BTreeMap::new(),
            arrivals: 0,
            lost: Vec::new(),
            failures: BTreeMap::new(),
            news: VecDeque::new(),
            departures: VecDeque::new(),
            oversized: VecDeque::new(),
            refusals: VecDeque::new(),
            stream: stream.then(VecDeque::new),
            mechanism,
            role,
        })
    }

    /// Take in every event that has arrived, without waiting.
    pub(crate) fn update(&mut self) -> Result<()> {
        loop {
            let frames = match self.events.recv_multipart(zmq::DONTWAIT) {
                Ok(frames) => frames,
                Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => return Ok(()),
                Err(e) => return Err(Error::zmq("cannot read socket events", e)),
            };
            if let Some(event) = RawEvent::parse(&frames) {
                self.apply(event);
            }
        }
    }

    fn apply(&mut self, raw: RawEvent) {
        let RawEvent {
            event,
            value,
            local,
            remote,
        } = raw;
        let fd = RawFd::try_from(value & !(PEER_RESET | OVER_LIMITS)).unwrap_or(-1);
        let pair = (local, remote);
        match event {
            zmq_sys::ZMQ_EVENT_LISTENING | zmq_sys::ZMQ_EVENT_CLOSED => {
                let kind = if event == zmq_sys::ZMQ_EVENT_LISTENING {
                    ConnectionEventKind::Listening
                } else {
                    ConnectionEventKind::Closed
                };
                let (local, remote) = pair;
                let endpoint = if local.is_empty() { remote } else { local };
                self.record(kind, endpoint, None, None);
            }
            zmq_sys::ZMQ_EVENT_CONNECTED | zmq_sys::ZMQ_EVENT_ACCEPTED => {
                self.arrivals += 1;
                let outgoing = event == zmq_sys::ZMQ_EVENT_CONNECTED;
                // The endpoint is the one connected to, or the bound one that
                // accepted; the peer's address is the other end of an accepted one.
                let (address, peer, kind) = if outgoing {
                    (pair.1.clone(), None, ConnectionEventKind::Connected)
                } else {
                    let peer = shown_peer(&pair.1);
                    (pair.0.clone(), peer, ConnectionEventKind::Accepted)
                };
                self.record(kind, address.clone(), peer.clone(), None);
                let connection = Connection {
                    address,
                    pair,
                    peer,
                    outgoing,
                    arrival: self.arrivals,
                    handshaken: false,
                    failed: false,
                };
                self.connections.insert(fd, connection);
            }
            zmq_sys::ZMQ_EVENT_DISCONNECTED => {
                let reset = value & PEER_RESET != 0;
                let oversized = value & OVER_LIMITS != 0;
                let reason = match (reset, oversized) {
                    (_, true) => Some("it sent a message over the limits".to_string()),
                    (true, _) => Some("the peer reset it (it left data unread)".to_string()),
                    _ => None,
                };
                let (address, peer) = match self.connections.get(&fd) {
                    Some(c) => (c.address.clone(), c.peer.clone()),
                    None => (pair.1.clone(), None),
                };
                self.record(
                    ConnectionEventKind::Disconnected,
                    address.clone(),
                    peer,
                    reason,
                );
                if oversized && self.connections.contains_key(&fd) {
                    if self.oversized.len() == MAX_DEPARTURES {
                        self.oversized.pop_front();
                    }
                    self.oversized.push_back(address);
                }
                self.closed(fd, reset);
            }
            zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED => self.handshaken(&pair),
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL => {
                // The value is an errno (ECONNRESET, EPIPE...), of which the zmq crate
                // knows only a few.
                let errno = i32::try_from(value).unwrap_or(0);
                let reason = std::io::Error::from_raw_os_error(errno).to_string();
                self.handshake_failed(&pair, Failure::Silent(reason));
            }
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH => {
                self.handshake_failed(&pair, Failure::Refused(value));
            }
            _ => self.handshake_failed(&pair, Failure::Protocol(value)),
        }
    }

    /// Keep an event for the connection hook, if there is one.
    fn record(
        &mut self,
        kind: ConnectionEventKind,
        endpoint: String,
        peer: Option<String>,
        reason: Option<String>,
    ) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        if stream.len() == MAX_PENDING_EVENTS {
            stream.pop_front();
        }
        stream.push_back(ConnectionEvent {
            at: SystemTime::now(),
            kind,
            endpoint,
            peer,
            reason,
        });
    }

    /// The oldest connection of addresses `pair` still in its handshake (unnamed
    /// ipc peers share a pair).
    fn handshaking(&mut self, pair: &(String, String)) -> Option<&mut Connection> {
        self.connections
            .values_mut()
            .filter(|c| c.pair == *pair && !c.handshaken && !c.failed)
            .min_by_key(|c| c.arrival)
    }

    fn handshaken(&mut self, pair: &(String, String)) {
        let Some(connection) = self.handshaking(pair) else {
            return;
        };
        connection.handshaken = true;
        let (outgoing, address, peer) = (
            connection.outgoing,
            connection.address.clone(),
            connection.peer.clone(),
        );
        self.record(
            ConnectionEventKind::HandshakeSucceeded,
            address.clone(),
            peer,
            None,
        );
        if outgoing {
            self.failures.remove(&address);
            let again = match self.lost.iter().position(|a| *a == address) {
                Some(i) => {
                    self.lost.swap_remove(i);
                    true
                }
                None => false,
            };
            self.tell(PeerEvent::Ready {
                endpoint: address,
                again,
            });
        }
    }

    fn handshake_failed(&mut self, pair: &(String, String), failure: Failure) {
        let (mechanism, role) = (self.mechanism, self.role);
        let Some(connection) = self.handshaking(pair) else {
            return;
        };
        connection.failed = true;
        let (outgoing, peer) = (connection.outgoing, connection.peer.clone());
        let endpoint = connection.address.clone();
        let reason = failure.reason(outgoing, mechanism, role);
        self.record(
            ConnectionEventKind::HandshakeFailed,
            endpoint.clone(),
            peer.clone(),
            Some(reason.clone()),
        );
        if !outgoing {
            // The authenticator reports its own refusals, with their reasons; a
            // connection that broke during its handshake (a scanner, a timeout)
            // is no news.
            if let Failure::Protocol(_) = failure {
                if self.refusals.len() == MAX_DEPARTURES {
                    self.refusals.pop_front();
                }
                self.refusals.push_back(Refusal {
                    endpoint,
                    peer,
                    reason,
                });
            }
            return;
        }
        if let Failure::Silent(_) = failure {
            // A failure or two is often the peer refusing us a moment before it
            // could say why (a later attempt tells); a third in a row is news, and
            // for a CURVE client, whose wrong server key fails every handshake
            // without a word, a refusal.
            let failures = self.failures.entry(endpoint.clone()).or_insert(0);
            *failures += 1;
            if *failures == CURVE_FAILURES {
                if mechanism == "CURVE" {
                    let reason =
                        "the server ends every CURVE handshake: is its public key right? (CURVE)";
                    let reason = reason.to_string();
                    return self.tell(PeerEvent::Rejected { endpoint, reason });
                }
                self.tell(PeerEvent::Failed { endpoint, reason });
            }
            return;
        }
        self.tell(PeerEvent::Rejected { endpoint, reason });
    }

    fn closed(&mut self, fd: RawFd, reset: bool) {
        let Some(connection) = self.connections.remove(&fd) else {
            return;
        };
        if connection.handshaken {
            if self.departures.len() == MAX_DEPARTURES {
                self.departures.pop_front();
            }
            self.departures.push_back(Departure {
                address: connection.address.clone(),
                outgoing: connection.outgoing,
                reset,
            });
        }
        if !connection.outgoing {
            return;
        }
        let endpoint = connection.address;
        if connection.handshaken {
            if !self.lost.contains(&endpoint) {
                self.lost.push(endpoint.clone());
            }
            self.tell(PeerEvent::Lost { endpoint });
        } else if !connection.failed {
            // libzmq closes a connection whose handshake broke a rule (a socket type
            // that cannot talk to ours) without a failure event, and never retries.
            let reason = format!(
                "refused the handshake: the {} needs {} there",
                self.role.name, self.role.peers
            );
            self.tell(PeerEvent::Rejected { endpoint, reason });
        }
    }

    fn tell(&mut self, event: PeerEvent) {
        if self.news.len() == MAX_PENDING_EVENTS {
            self.news.pop_front();
        }
        self.news.push_back(event);
    }

    /// Every event since the last call (when a stream was asked for).
    pub(crate) fn take_stream(&mut self) -> impl Iterator<Item = ConnectionEvent> + '_ {
        self.stream.iter_mut().flat_map(|stream| stream.drain(..))
    }

    /// Peers that failed their handshake with us since the last call.
    pub(crate) fn take_refusals(&mut self) -> impl Iterator<Item = Refusal> + '_ {
        self.refusals.drain(..)
    }

    /// The events about outgoing connections since the last call.
    pub(crate) fn take_events(&mut self) -> impl Iterator<Item = PeerEvent> + '_ {
        self.news.drain(..)
    }

    /// The endpoints of connections dropped for a message over the limits since
    /// the last call.
    pub(crate) fn take_oversized(&mut self) -> impl Iterator<Item = String> + '_ {
        self.oversized.drain(..)
    }

    /// Connections that were up and have closed since the last call.
    pub(crate) fn take_departures(&mut self) -> impl Iterator<Item = Departure> + '_ {
        self.departures.drain(..)
    }

    /// Which connection `fd` is now: a number unique to it in this socket's life
    /// (descriptors are reused), if the connection is open.
    pub(crate) fn connection_of(&self, fd: RawFd) -> Option<u64> {
        self.connections.get(&fd).map(|c| c.arrival)
    }

    /// The endpoint of open connection `fd`: connected to, or the bound endpoint
    /// that accepted it.
    pub(crate) fn address_of(&self, fd: RawFd) -> Option<&str> {
        self.connections.get(&fd).map(|c| c.address.as_str())
    }

    /// Whether connection `fd` is open.
    pub(crate) fn is_open(&self, fd: RawFd) -> bool {
        self.connections.contains_key(&fd)
    }

    /// File descriptors of the open peer connections.
    pub(crate) fn peer_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.connections.keys().copied()
    }

    /// How many open connections have completed their handshake: the peers a
    /// message can reach.
    pub(crate) fn ready_count(&self) -> usize {
        self.connections.values().filter(|c| c.handshaken).count()
    }

    /// Wait up to `timeout` for the next event to arrive (without taking it in).
    pub(crate) fn wait(&self, timeout: std::time::Duration) -> Result<()> {
        let ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        match self.events.poll(zmq::POLLIN, ms) {
            Ok(_) | Err(zmq::Error::EINTR) => Ok(()),
            Err(e) => Err(Error::zmq("cannot wait for socket events", e)),
        }
    }
}
