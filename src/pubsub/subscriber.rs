//! [`Subscriber`]: the receiving side of pub/sub.

use crate::accounting::{Ledger, Report};
use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::frame::{Arrival, Header, Message};
use crate::options::Options;
use crate::role::{AtClose, Receive, Role};
use crate::socket::Socket;
use std::time::{Duration, Instant};

/// Receives the messages whose topic starts with a subscribed prefix. Socket SUB;
/// peers PUB or XPUB; receive only.
///
/// With [`Subscriber::account_headers`], it also makes loss visible: publishers
/// that stamp batch headers (`zpub --header`) number their messages, and the
/// subscriber's [`Ledger`] counts, per publisher stream (batch id), what arrived
/// and which sequence numbers never did: a late join (the stream's first items),
/// or drops at a high-water mark (a PUB socket drops for a slow subscriber without
/// telling anyone).
///
/// ```
/// use std::time::Duration;
/// use zpattern::frame::Header;
/// use zpattern::{Message, Options, Publisher, Receive, Subscriber, Transmit};
///
/// let mut publisher = Publisher::bind("tcp://127.0.0.1:*")?;
/// let endpoint = publisher.endpoints()[0].to_string();
/// let mut subscriber = Subscriber::open(Options::new().connect(&endpoint))?;
/// subscriber.subscribe("")?;
/// subscriber.account_headers();
/// publisher.wait_for_subscribers(1, Some(Duration::from_secs(5)))?;
///
/// for seq in [0, 1, 3] {
///     let mut msg = Message::new("tick");
///     msg.push_header(&Header::item(7, seq, None));
///     publisher.send(msg)?;
/// }
/// for _ in 0..3 {
///     subscriber.recv_timeout(Some(Duration::from_secs(5)))?;
/// }
/// let gaps = subscriber.gaps().expect("accounting is on");
/// assert_eq!(gaps.batches[0].missing_ranges, [(2, 2)]);
/// # Ok::<(), zpattern::Error>(())
/// ```
pub struct Subscriber {
    socket: Socket,
    ledger: Option<Ledger>,
    /// The header of the item last received with accounting on.
    last_header: Option<Header>,
}

/// The subscriber, for the shared layer.
static SUBSCRIBER: Role = Role {
    kind: zmq::SUB,
    name: "subscriber",
    peers: "a publisher (PUB or XPUB)",
    deals_to_one: false,
    at_close: AtClose::Drop,
    setup: Role::no_setup,
};

impl Subscriber {
    /// Open a subscriber with `options`. It receives nothing until it subscribes.
    pub fn open(options: Options) -> Result<Subscriber> {
        Ok(Subscriber {
            socket: Socket::open(&SUBSCRIBER, &options)?,
            ledger: None,
            last_header: None,
        })
    }

    /// Open a subscriber connected to `endpoint` with default options.
    pub fn connect(endpoint: &str) -> Result<Subscriber> {
        Subscriber::open(Options::new().connect(endpoint))
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub fn endpoints(&self) -> &[Endpoint] {
        self.socket.endpoints()
    }

    /// Receive messages whose topic starts with `prefix` (`""`: every message).
    pub fn subscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        self.socket
            .set_bytes_option(zmq_sys::ZMQ_SUBSCRIBE, prefix.as_ref(), "subscribe")
    }

    /// Account for the batch header of every message from now on: receiving strips
    /// each message's header and records it in the [`Ledger`]; end-of-stream
    /// messages are recorded and not returned; a message without a valid header is
    /// recorded as malformed and returned as a [`crate::ErrorKind::Protocol`] error
    /// (the next receive goes on).
    pub fn account_headers(&mut self) {
        self.ledger.get_or_insert_with(Ledger::new);
    }

    /// The accounting so far, if [`Subscriber::account_headers`] is on.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
    }

    /// The batch header of the item the last receive returned, if
    /// [`Subscriber::account_headers`] is on (the header is taken off the message):
    /// its batch, sequence number and send time, for a one-way latency, say.
    pub fn last_header(&self) -> Option<&Header> {
        self.last_header.as_ref()
    }

    /// What is missing, per publisher stream (batch id), if
    /// [`Subscriber::account_headers`] is on: items received, missing sequence
    /// numbers as ranges (a range starting at 0 is a late join), duplicates,
    /// malformed messages.
    pub fn gaps(&self) -> Option<Report> {
        self.ledger.as_ref().map(|ledger| ledger.report(0))
    }

    /// Receive into `msg` with header accounting: wait up to `timeout` in all for
    /// an item, recording and passing over end-of-stream messages.
    fn recv_accounted(&mut self, msg: &mut Message, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let received = self.socket.recv_into(msg, left);
            let ledger = self.ledger.get_or_insert_with(Ledger::new);
            match received {
                Ok(true) => {}
                Err(e) if e.is_recoverable() => {
                    ledger.record_malformed(&e);
                    return Err(e);
                }
                other => return other,
            }
            match msg.arrival() {
                Arrival::Item(header) => {
                    ledger.record(&header);
                    self.last_header = Some(header);
                    return Ok(true);
                }
                Arrival::End(header) => {
                    ledger.record(&header);
                }
                Arrival::Malformed(why) => {
                    ledger.record_malformed(why);
                    return Err(Arrival::dropped(&why));
                }
            }
        }
    }

    /// Undo one earlier [`Subscriber::subscribe`] of the same prefix.
    pub fn unsubscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        self.socket
            .set_bytes_option(zmq_sys::ZMQ_UNSUBSCRIBE, prefix.as_ref(), "unsubscribe")
    }
}

impl Receive for Subscriber {
    fn recv_into(&mut self, msg: &mut Message, timeout: Option<Duration>) -> Result<bool> {
        if self.ledger.is_none() {
            return self.socket.recv_into(msg, timeout);
        }
        self.recv_accounted(msg, timeout)
    }

    fn default_timeout(&self) -> Option<Duration> {
        self.socket.recv_timeout()
    }
}
