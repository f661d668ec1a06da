//! Watching a socket's connections through libzmq's monitor: which peer connections
//! are open (their file descriptors), which have completed their handshake, and what
//! happened to the connections the socket made itself ([`PeerEvent`]s).

use crate::error::{Error, Result};
use crate::peer::PeerEvent;
use std::collections::{BTreeMap, VecDeque};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};

const EVENTS: u16 = (zmq_sys::ZMQ_EVENT_CONNECTED
    | zmq_sys::ZMQ_EVENT_ACCEPTED
    | zmq_sys::ZMQ_EVENT_DISCONNECTED
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) as u16;

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
    /// Whether the socket made this connection (`connect`) rather than accepted it.
    outgoing: bool,
    /// Order of arrival: a handshake event names an address, not a connection, so
    /// it is matched to the oldest connection of that address still handshaking.
    arrival: u64,
    handshaken: bool,
    failed: bool,
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
}

impl Monitor {
    /// Start monitoring `socket` (created in `context`).
    pub(crate) fn attach(context: &zmq::Context, socket: &zmq::Socket) -> Result<Monitor> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let endpoint = format!(
            "inproc://zpattern.monitor.{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let fail = |e| Error::zmq("cannot monitor the socket", e);
        socket.monitor(&endpoint, i32::from(EVENTS)).map_err(fail)?;
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
            let (Some(head), address) = (frames.first(), frames.get(1)) else {
                continue;
            };
            if head.len() < 6 {
                continue;
            }
            let event = u16::from_ne_bytes([head[0], head[1]]);
            let value = u32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
            let address = address.map(|a| String::from_utf8_lossy(a).into_owned());
            self.apply(u32::from(event), value, address.unwrap_or_default());
        }
    }

    fn apply(&mut self, event: u32, value: u32, address: String) {
        let fd = RawFd::try_from(value).unwrap_or(-1);
        match event {
            zmq_sys::ZMQ_EVENT_CONNECTED | zmq_sys::ZMQ_EVENT_ACCEPTED => {
                self.arrivals += 1;
                let outgoing = event == zmq_sys::ZMQ_EVENT_CONNECTED;
                let connection = Connection {
                    address,
                    outgoing,
                    arrival: self.arrivals,
                    handshaken: false,
                    failed: false,
                };
                self.connections.insert(fd, connection);
            }
            zmq_sys::ZMQ_EVENT_DISCONNECTED => {
                let reset = value & PEER_RESET != 0;
                let fd = RawFd::try_from(value & !(PEER_RESET | OVER_LIMITS)).unwrap_or(-1);
                if value & OVER_LIMITS != 0 {
                    if let Some(connection) = self.connections.get(&fd) {
                        if self.oversized.len() == MAX_DEPARTURES {
                            self.oversized.pop_front();
                        }
                        self.oversized.push_back(connection.address.clone());
                    }
                }
                self.closed(fd, reset);
            }
            zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED => self.handshaken(&address),
            zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL => {
                // The value is an errno (ECONNRESET, EPIPE...), of which the zmq crate
                // knows only a few.
                let errno = i32::try_from(value).unwrap_or(0);
                let reason = std::io::Error::from_raw_os_error(errno).to_string();
                self.handshake_failed(&address, reason, false);
            }
            _ => {
                let reason = format!("ZeroMQ protocol error 0x{value:x}");
                self.handshake_failed(&address, reason, true);
            }
        }
    }

    /// The oldest connection to or from `address` still in its handshake.
    fn handshaking(&mut self, address: &str) -> Option<&mut Connection> {
        self.connections
            .values_mut()
            .filter(|c| c.address == address && !c.handshaken && !c.failed)
            .min_by_key(|c| c.arrival)
    }

    fn handshaken(&mut self, address: &str) {
        let Some(connection) = self.handshaking(address) else {
            return;
        };
        connection.handshaken = true;
        if connection.outgoing {
            self.failures.remove(address);
            let again = match self.lost.iter().position(|a| a == address) {
                Some(i) => {
                    self.lost.swap_remove(i);
                    true
                }
                None => false,
            };
            let endpoint = address.to_string();
            self.tell(PeerEvent::Ready { endpoint, again });
        }
    }

    fn handshake_failed(&mut self, address: &str, reason: String, final_: bool) {
        let Some(connection) = self.handshaking(address) else {
            return;
        };
        connection.failed = true;
        if !connection.outgoing {
            return;
        }
        let endpoint = address.to_string();
        if final_ {
            return self.tell(PeerEvent::Rejected { endpoint, reason });
        }
        // A failure or two is often the peer refusing us a moment before it could
        // say why (a later attempt tells); a third in a row is news.
        let failures = self.failures.entry(endpoint.clone()).or_insert(0);
        *failures += 1;
        if *failures == 3 {
            self.tell(PeerEvent::Failed { endpoint, reason });
        }
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
            let reason =
                "its socket type cannot talk to ours (or it broke the ZeroMQ protocol)".into();
            self.tell(PeerEvent::Rejected { endpoint, reason });
        }
    }

    fn tell(&mut self, event: PeerEvent) {
        if self.news.len() == MAX_PENDING_EVENTS {
            self.news.pop_front();
        }
        self.news.push_back(event);
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
