//! Watching a socket's connections through libzmq's monitor: which peer connections
//! are open (their file descriptors), how many handshakes succeeded, and the last
//! handshake failure.

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};

const EVENTS: u16 = (zmq_sys::ZMQ_EVENT_CONNECTED
    | zmq_sys::ZMQ_EVENT_ACCEPTED
    | zmq_sys::ZMQ_EVENT_DISCONNECTED
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq_sys::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) as u16;

/// The receiving end of a socket monitor and what it has learnt so far.
pub(crate) struct Monitor {
    events: zmq::Socket,
    peers: BTreeSet<RawFd>,
    handshakes: u64,
    disconnects: u64,
    last_failure: Option<String>,
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
            peers: BTreeSet::new(),
            handshakes: 0,
            disconnects: 0,
            last_failure: None,
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
            self.apply(event, value, address.unwrap_or_default());
        }
    }

    fn apply(&mut self, event: u16, value: u32, address: String) {
        let fd = RawFd::try_from(value).unwrap_or(-1);
        match u32::from(event) {
            zmq_sys::ZMQ_EVENT_CONNECTED | zmq_sys::ZMQ_EVENT_ACCEPTED => {
                self.peers.insert(fd);
            }
            zmq_sys::ZMQ_EVENT_DISCONNECTED => {
                self.peers.remove(&fd);
                self.disconnects += 1;
            }
            zmq_sys::ZMQ_EVENT_HANDSHAKE_SUCCEEDED => self.handshakes += 1,
            _ => {
                self.last_failure = Some(format!(
                    "handshake with {address} failed (is the peer a compatible socket type?)"
                ))
            }
        }
    }

    /// File descriptors of the open peer connections.
    pub(crate) fn peer_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.peers.iter().copied()
    }

    /// How many peer connections are open.
    pub(crate) fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// How many ZMTP handshakes have succeeded, over the socket's lifetime.
    pub(crate) fn handshakes(&self) -> u64 {
        self.handshakes
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
