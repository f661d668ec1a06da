//! [`Publisher`]: the sending side of pub/sub.

use crate::duration;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::frame::{Frame, Message};
use crate::options::Options;
use crate::role::Transmit;
use crate::socket::Socket;
use crate::sys;
use std::collections::{BTreeSet, VecDeque};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Broadcasts messages to subscribers. Socket XPUB; peers SUB or XSUB; send only.
///
/// A subscriber more than its high-water mark behind loses messages (ZeroMQ's PUB
/// rule: a slow subscriber must not stall the others), unless
/// [`Publisher::set_no_drop`] makes sends wait for it. libzmq does not tell the
/// publisher about those drops (once a subscriber's queue is full, it is left out
/// of the sends until it has room again); numbering the messages with the batch
/// header lets a [`crate::Subscriber`] see them.
pub struct Publisher {
    socket: Socket,
    subscriptions: u64,
    /// Connections that have not subscribed yet, oldest first.
    unsubscribed: VecDeque<RawFd>,
    /// Connections that have subscribed.
    subscribed: BTreeSet<RawFd>,
}

impl Publisher {
    /// How long [`Publisher::wait_for_subscribers`] waits for further subscriptions
    /// once the counts are reached.
    pub const SETTLE: Duration = Duration::from_millis(25);

    /// Open a publisher with `options` (endpoints, HWM, linger...).
    pub fn open(options: Options) -> Result<Publisher> {
        let socket = Socket::open(zmq::XPUB, "publisher", &options)?;
        // Pass every subscription up, duplicates included, so each subscriber counts.
        socket
            .raw()
            .set_xpub_verbose(true)
            .map_err(|e| Error::zmq("cannot configure the publisher", e))?;
        Ok(Publisher {
            socket,
            subscriptions: 0,
            unsubscribed: VecDeque::new(),
            subscribed: BTreeSet::new(),
        })
    }

    /// Open a publisher bound to `endpoint` with default options.
    pub fn bind(endpoint: &str) -> Result<Publisher> {
        Publisher::open(Options::new().bind(endpoint))
    }

    /// Open a publisher connected to `endpoint` (for example a proxy's XSUB side).
    pub fn connect(endpoint: &str) -> Result<Publisher> {
        Publisher::open(Options::new().connect(endpoint))
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub fn endpoints(&self) -> &[Endpoint] {
        self.socket.endpoints()
    }

    /// With `true`, a send to a subscriber at its high-water mark waits (up to the
    /// send timeout) instead of dropping the message (`ZMQ_XPUB_NODROP`).
    pub fn set_no_drop(&mut self, no_drop: bool) -> Result<()> {
        sys::set_int_option(
            self.socket.raw_mut(),
            zmq_sys::ZMQ_XPUB_NODROP,
            i32::from(no_drop),
        )
        .map_err(|e| Error::zmq("cannot set no-drop on the publisher", e))
    }

    /// Wait until at least `count` subscribers are connected and have subscribed, up
    /// to `timeout` (`None`: no limit). Returns the number of subscribed connections.
    ///
    /// XPUB does not say which connection a subscription came from, but a
    /// subscriber subscribes one round trip after it connects, so each subscription
    /// is credited to the oldest connection that has not subscribed yet; a later
    /// one from a subscriber already counted cannot stand in for a newcomer that
    /// has not subscribed. Once `count` are in, the wait goes on until no further
    /// subscription has arrived for [`Publisher::SETTLE`], so that a subscriber with
    /// several topics is subscribed to all of them before the first message.
    pub fn wait_for_subscribers(
        &mut self,
        count: usize,
        timeout: Option<Duration>,
    ) -> Result<usize> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut settling: Option<(Instant, u64)> = None;
        loop {
            let subscribed = self.take_subscriptions()?;
            if subscribed >= count {
                match settling {
                    Some((since, seen)) if seen == self.subscriptions => {
                        if since.elapsed() >= Publisher::SETTLE {
                            return Ok(subscribed);
                        }
                    }
                    _ => settling = Some((Instant::now(), self.subscriptions)),
                }
            }
            self.socket.check_stop()?;
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(Error::timeout(format!(
                    "waited {} for {count} subscriber(s): {subscribed} subscribed, {} connected",
                    duration::display(timeout.unwrap_or_default()),
                    subscribed + self.unsubscribed.len(),
                )));
            }
            self.socket.poll(zmq::POLLIN, Duration::from_millis(5))?;
        }
    }

    /// Subscription messages seen so far (each subscribe of each subscriber).
    pub fn subscriptions_seen(&mut self) -> Result<u64> {
        self.take_subscriptions()?;
        Ok(self.subscriptions)
    }

    /// Take in new connections and the subscription messages XPUB has queued for
    /// us; returns how many open connections have subscribed.
    fn take_subscriptions(&mut self) -> Result<usize> {
        let monitor = self.socket.monitor()?;
        self.unsubscribed.extend(monitor.take_newcomers());
        self.unsubscribed.retain(|fd| monitor.is_open(*fd));
        self.subscribed.retain(|fd| monitor.is_open(*fd));
        let mut msg = Message::new(Frame::empty());
        while self.socket.try_recv_into(&mut msg)? {
            if msg.topic().first() == Some(&1) {
                self.subscriptions += 1;
                if let Some(fd) = self.unsubscribed.pop_front() {
                    self.subscribed.insert(fd);
                }
            }
        }
        Ok(self.subscribed.len())
    }

    /// Confirm that every subscriber has read what was sent (bounded by the linger
    /// period), then close.
    pub fn close(self) -> Result<()> {
        self.socket.close()
    }
}

impl Transmit for Publisher {
    fn send(&mut self, msg: Message) -> Result<()> {
        self.socket.send(msg)
    }
}
