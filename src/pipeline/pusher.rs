//! [`Pusher`]: hands out work.

use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::frame::Message;
use crate::options::Options;
use crate::role::{AtClose, Role, Transmit};
use crate::socket::Socket;
use std::time::Duration;

/// Sends each message to one connected puller, round-robin. Socket PUSH; peer PULL;
/// send only.
///
/// Only pullers whose connection is up are dealt messages (`ZMQ_IMMEDIATE`), whether
/// the pusher binds or connects: a worker that is down or has died gets no share, and
/// with no puller up a send blocks (up to the send timeout) instead of queueing for
/// nobody.
///
/// A message once dealt is the puller's: if the puller dies, what was dealt to it and
/// not yet read by its application (the pusher's queue for it, the kernel buffers
/// between them, its own queue) is lost. PUSH/PULL has no acknowledgements, so the
/// pusher cannot tell which messages: it can tell that a puller left while messages
/// to it were in flight, and [`Pusher::close`] then fails (see there). Stamp batch
/// headers and count at a [`Sink`](super::Sink) to know exactly which items are
/// missing (see [the pipeline docs](crate::pipeline#a-worker-that-dies)).
pub struct Pusher {
    socket: Socket,
}

/// The pusher, for the shared layer.
static PUSHER: Role = Role {
    kind: zmq::PUSH,
    name: "pusher",
    peers: "a puller (PULL)",
    deals_to_one: true,
    at_close: AtClose::Deliver,
    setup: Role::no_setup,
};

impl Pusher {
    /// Open a pusher with `options`.
    pub fn open(options: Options) -> Result<Pusher> {
        Ok(Pusher {
            socket: Socket::open(&PUSHER, &options)?,
        })
    }

    /// Open a pusher bound to `endpoint` with default options.
    pub fn bind(endpoint: &str) -> Result<Pusher> {
        Pusher::open(Options::new().bind(endpoint))
    }

    /// Open a pusher connected to `endpoint` with default options.
    pub fn connect(endpoint: &str) -> Result<Pusher> {
        Pusher::open(Options::new().connect(endpoint))
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub fn endpoints(&self) -> &[Endpoint] {
        self.socket.endpoints()
    }

    /// How many pullers are connected now (handshake done, connection open).
    pub fn pullers(&mut self) -> Result<usize> {
        self.socket.ready_peers()
    }

    /// Wait until at least `count` pullers are connected, up to `timeout` (`None`: no
    /// limit); returns how many are. A timeout error names the count reached.
    ///
    /// This is the fair start of a pusher that binds: PUSH deals each message to the
    /// pullers connected at that moment, so without the wait the first worker to
    /// connect takes the whole start of the batch (the zguide's first-connect grab).
    /// After the wait, consecutive messages go to distinct pullers in turn. A pusher
    /// that connects to its pullers needs the wait too, with `count` its endpoints:
    /// connections come up one by one, and the first would otherwise take the start.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zpattern::{Puller, Pusher};
    ///
    /// let mut pusher = Pusher::bind("tcp://127.0.0.1:*")?;
    /// let endpoint = pusher.endpoints()[0].to_string();
    /// let _first = Puller::connect(&endpoint)?;
    /// let _second = Puller::connect(&endpoint)?;
    /// assert_eq!(pusher.wait_for_pullers(2, Some(Duration::from_secs(10)))?, 2);
    /// # Ok::<(), zpattern::Error>(())
    /// ```
    pub fn wait_for_pullers(&mut self, count: usize, timeout: Option<Duration>) -> Result<usize> {
        self.socket.wait_for_peers(count, timeout, "puller(s)")
    }

    /// Send a copy of `msg` to each puller: as many copies as pullers are connected
    /// or endpoints connected to, at least one. Returns the number of copies.
    ///
    /// Round-robin gives consecutive messages to distinct pullers while none is at
    /// its high-water mark, so each puller gets one copy; a puller at its HWM is
    /// skipped and another gets two. This is how an end-of-stream message reaches
    /// every worker of a stage (see [the pipeline docs](crate::pipeline)).
    pub fn send_to_each(&mut self, msg: Message) -> Result<usize> {
        let copies = self
            .socket
            .ready_peers()?
            .max(self.socket.connect_count())
            .max(1);
        for _ in 1..copies {
            self.socket.send(msg.clone())?;
        }
        self.socket.send(msg)?;
        Ok(copies)
    }

    /// Look at the connected pullers now: what each has not read yet. Call it
    /// before the pusher goes idle (waiting for more input), so that a puller that
    /// leaves meanwhile is judged on what it had read by then, not on what was sent
    /// before the last look (see [`Pusher::close`]).
    pub fn settle(&mut self) -> Result<()> {
        self.socket.settle()
    }

    /// Confirm that every connected puller has read what was sent to it, then
    /// close. The wait lasts as long as the pullers keep reading, and gives up
    /// after the linger period in which none did: a [`crate::ErrorKind::Timeout`]
    /// error then says how many bytes were left unread.
    ///
    /// A puller whose connection closed while messages dealt to it may not have
    /// been read (it had unread bytes, or messages were sent after the pusher last
    /// looked) makes the close fail with [`crate::ErrorKind::Incomplete`], naming
    /// its endpoint: what was dealt to it is lost unless it passed it on before it
    /// left. Each such connection is also told to the peer hook
    /// ([`crate::PeerEvent::Undelivered`]) when the pusher notices it.
    pub fn close(self) -> Result<()> {
        self.socket.close()
    }
}

impl Transmit for Pusher {
    fn send(&mut self, msg: Message) -> Result<()> {
        self.socket.send(msg)
    }
}
