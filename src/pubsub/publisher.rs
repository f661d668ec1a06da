//! [`Publisher`]: the sending side of pub/sub.

use crate::duration;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::frame::{Frame, Message};
use crate::options::Options;
use crate::role::{AtClose, Role, Transmit};
use crate::socket::Socket;
use crate::sys;
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// How often (in messages sent) a publisher takes in the subscriptions that arrived.
const SUBSCRIPTIONS_EVERY: u32 = 64;

/// Subscription messages queued per subscriber before libzmq stops reading it.
const SUBSCRIPTION_QUEUE: i32 = 64;

/// Broadcasts messages to subscribers. Socket XPUB; peers SUB or XSUB; send only.
///
/// A subscriber more than its high-water mark behind loses messages (ZeroMQ's PUB
/// rule: a slow subscriber must not stall the others), unless
/// [`Publisher::set_no_drop`] makes sends wait for it. libzmq does not tell the
/// publisher about those drops (once a subscriber's queue is full, it is left out
/// of the sends until it has room again); numbering the messages with the batch
/// header lets a [`crate::Subscriber`] see them.
///
/// # Subscriptions are bounded
///
/// Every subscription costs the publisher memory, so one peer could otherwise
/// exhaust it by subscribing to a hundred thousand topics. The publisher applies
/// subscriptions itself (`ZMQ_XPUB_MANUAL`), per connection, up to
/// [`SubscriptionLimits`]: a subscription past the limits is dropped (the peer gets
/// no messages for it) and told once per connection
/// ([`crate::PeerEvent::Misbehaved`]); a peer that sends as many again past the limits is
/// cut off (its connection is shut down; a well-behaved subscriber may reconnect).
/// Subscriptions over inproc, which carry no connection, share one allowance.
pub struct Publisher {
    socket: Socket,
    limits: SubscriptionLimits,
    subscriptions: u64,
    /// What each connection has subscribed to so far (`None`: over inproc).
    connections: BTreeMap<Option<Connection>, Subscribed>,
    /// Connections that have subscribed (and are still open).
    subscribed: BTreeSet<Connection>,
    /// Messages sent since the subscriptions were last taken in.
    since_subscriptions: u32,
}

/// The publisher, for the shared layer.
static PUBLISHER: Role = Role {
    kind: zmq::XPUB,
    name: "publisher",
    peers: "a subscriber (SUB or XSUB)",
    deals_to_one: false,
    at_close: AtClose::Deliver,
    setup: publisher_setup,
};

/// Every subscription comes up to the publisher, which applies it (or not); what
/// flows in are subscriptions, and a short queue per subscriber bounds how many
/// libzmq takes in between two looks at them.
fn publisher_setup(socket: &mut zmq::Socket, _: &Options) -> zmq::Result<()> {
    sys::set_int_option(socket, zmq_sys::ZMQ_XPUB_MANUAL, 1)?;
    socket.set_rcvhwm(SUBSCRIPTION_QUEUE)
}

/// How many subscriptions one connection may hold, and how many bytes of topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriptionLimits {
    /// Subscriptions held at once by one connection (default 1,000).
    pub per_connection: usize,
    /// Bytes of topics held at once by one connection (default 64 KiB).
    pub bytes_per_connection: usize,
}

impl Default for SubscriptionLimits {
    fn default() -> SubscriptionLimits {
        SubscriptionLimits {
            per_connection: 1_000,
            bytes_per_connection: 64 * 1024,
        }
    }
}

/// A connection: its descriptor, and which connection of that descriptor it is
/// (descriptors are reused).
type Connection = (RawFd, u64);

/// One connection's subscriptions.
#[derive(Default)]
struct Subscribed {
    count: usize,
    bytes: usize,
    /// Subscriptions dropped for breaking the limits.
    refused: usize,
    /// Whether the connection was cut off.
    cut: bool,
}

impl Publisher {
    /// How long [`Publisher::wait_for_subscribers`] waits for further subscriptions
    /// once the counts are reached.
    pub const SETTLE: Duration = Duration::from_millis(25);

    /// Open a publisher with `options` (endpoints, HWM, linger...).
    pub fn open(options: Options) -> Result<Publisher> {
        let socket = Socket::open(&PUBLISHER, &options)?;
        Ok(Publisher {
            socket,
            limits: SubscriptionLimits::default(),
            subscriptions: 0,
            connections: BTreeMap::new(),
            subscribed: BTreeSet::new(),
            since_subscriptions: 0,
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

    /// Hold each connection's subscriptions to `limits` from now on.
    pub fn subscription_limits(mut self, limits: SubscriptionLimits) -> Publisher {
        self.limits = limits;
        self
    }

    /// With `true`, a send to a subscriber at its high-water mark waits (up to the
    /// send timeout) instead of dropping the message (`ZMQ_XPUB_NODROP`).
    pub fn set_no_drop(&mut self, no_drop: bool) -> Result<()> {
        self.socket
            .set_int_option(zmq_sys::ZMQ_XPUB_NODROP, i32::from(no_drop), "set no-drop")
    }

    /// Wait until at least `count` subscribers are connected and have subscribed, up
    /// to `timeout` (`None`: no limit). Returns the number of subscribed connections.
    ///
    /// Each subscription names the connection it came by, so the count is of
    /// connections that subscribed, however many topics each has. Once `count` are
    /// in, the wait goes on until no further subscription has arrived for
    /// [`Publisher::SETTLE`], so that a subscriber with several topics is subscribed
    /// to all of them before the first message. Over inproc, where subscriptions
    /// carry no connection, each subscription counts as a subscriber.
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
                let connected = self.socket.ready_peers()?;
                return Err(Error::timeout(format!(
                    "waited {} for {count} subscriber(s): {subscribed} subscribed, {connected} connected",
                    duration::display(timeout.unwrap_or_default()),
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

    /// Take in the subscription messages XPUB has queued for us, applying those
    /// within the limits; returns how many subscribers have subscribed (open
    /// connections, plus inproc subscriptions).
    fn take_subscriptions(&mut self) -> Result<usize> {
        self.since_subscriptions = 0;
        let monitor = self.socket.monitor()?;
        let open = |c: &Connection| monitor.connection_of(c.0) == Some(c.1);
        self.connections.retain(|c, _| c.as_ref().is_none_or(open));
        self.subscribed.retain(open);
        let mut msg = Message::new(Frame::empty());
        while self.socket.try_recv_into(&mut msg)? {
            let Some((&kind, topic)) = msg.topic().split_first() else {
                continue;
            };
            let connection = msg.frames()[0]
                .source_fd()
                .and_then(|fd| Some((fd, self.socket.connection_of(fd)?)));
            match kind {
                1 => self.subscribe(connection, topic)?,
                0 => self.unsubscribe(connection, topic)?,
                _ => {}
            }
        }
        let inproc = self
            .connections
            .get(&None)
            .map_or(0, |subscribed| subscribed.count);
        Ok(self.subscribed.len() + inproc)
    }

    /// Apply a subscription from `connection` if it is within the limits.
    fn subscribe(&mut self, connection: Option<Connection>, topic: &[u8]) -> Result<()> {
        self.subscriptions += 1;
        let limits = self.limits;
        let fd = connection.map(|c| c.0);
        let held = self.connections.entry(connection).or_default();
        if held.count < limits.per_connection
            && held.bytes + topic.len() <= limits.bytes_per_connection
        {
            held.count += 1;
            held.bytes += topic.len();
            if let Some(connection) = connection {
                self.subscribed.insert(connection);
            }
            // Applies to the connection of the message just received.
            return self.socket.set_bytes_option(
                zmq_sys::ZMQ_SUBSCRIBE,
                topic,
                "subscribe a subscriber",
            );
        }
        held.refused += 1;
        let refused = held.refused;
        let what = format!(
            "more than {} subscriptions or {} bytes of topics",
            limits.per_connection, limits.bytes_per_connection
        );
        if refused == 1 {
            self.socket
                .tell(fd, format!("sent {what}; dropping the excess"));
        }
        // As many again past the limits: cut it off (what it sent before the cut
        // is still queued, and dropped the same way).
        if refused > limits.per_connection && !held.cut {
            if let Some(fd) = fd {
                if self.socket.cut_off(fd) {
                    if let Some(held) = self.connections.get_mut(&connection) {
                        held.cut = true;
                    }
                    self.socket
                        .tell(Some(fd), format!("went on sending {what}; cut it off"));
                }
            }
        }
        Ok(())
    }

    /// Undo a subscription from `connection`.
    fn unsubscribe(&mut self, connection: Option<Connection>, topic: &[u8]) -> Result<()> {
        // The unsubscriptions libzmq makes up for a closed connection carry no
        // descriptor, like inproc ones: only a known connection's allowance is
        // given back. (For the made-up ones, libzmq names no connection and the
        // unsubscribe below does nothing: the subscriptions went with it.)
        if connection.is_some() {
            if let Some(held) = self.connections.get_mut(&connection) {
                held.count = held.count.saturating_sub(1);
                held.bytes = held.bytes.saturating_sub(topic.len());
            }
        }
        self.socket
            .set_bytes_option(zmq_sys::ZMQ_UNSUBSCRIBE, topic, "unsubscribe a subscriber")
    }

    /// Confirm that every subscriber has read what was sent (bounded by the linger
    /// period), then close.
    pub fn close(mut self) -> Result<()> {
        self.take_subscriptions()?;
        self.socket.close()
    }
}

impl Transmit for Publisher {
    fn send(&mut self, msg: Message) -> Result<()> {
        self.since_subscriptions += 1;
        if self.since_subscriptions >= SUBSCRIPTIONS_EVERY {
            self.take_subscriptions()?;
        }
        self.socket.send(msg)
    }
}
