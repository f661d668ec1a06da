//! [`Pusher`]: hands out work.

use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::frame::Message;
use crate::options::Options;
use crate::role::Transmit;
use crate::socket::Socket;

/// Sends each message to one connected puller, round-robin. Socket PUSH; peer PULL;
/// send only.
pub struct Pusher {
    socket: Socket,
}

impl Pusher {
    /// Open a pusher with `options`.
    pub fn open(options: Options) -> Result<Pusher> {
        Ok(Pusher {
            socket: Socket::open(zmq::PUSH, "pusher", &options)?,
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

    /// Confirm that every puller has read what was sent (bounded by the linger
    /// period), then close.
    pub fn close(self) -> Result<()> {
        self.socket.close()
    }
}

impl Transmit for Pusher {
    fn send(&mut self, msg: Message) -> Result<()> {
        self.socket.send(msg)
    }
}
