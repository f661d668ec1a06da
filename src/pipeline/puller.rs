//! [`Puller`]: takes work.

use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::frame::Message;
use crate::options::Options;
use crate::role::{AtClose, Receive, Role};
use crate::socket::Socket;
use std::time::Duration;

/// Receives messages from its pushers, fairly queued. Socket PULL; peer PUSH; receive
/// only.
pub struct Puller {
    socket: Socket,
}

/// The puller, for the shared layer.
static PULLER: Role = Role {
    kind: zmq::PULL,
    name: "puller",
    peers: "a pusher (PUSH)",
    deals_to_one: false,
    at_close: AtClose::Drop,
    setup: Role::no_setup,
};

impl Puller {
    /// Open a puller with `options`.
    pub fn open(options: Options) -> Result<Puller> {
        Ok(Puller {
            socket: Socket::open(&PULLER, &options)?,
        })
    }

    /// Open a puller bound to `endpoint` with default options.
    pub fn bind(endpoint: &str) -> Result<Puller> {
        Puller::open(Options::new().bind(endpoint))
    }

    /// Open a puller connected to `endpoint` with default options.
    pub fn connect(endpoint: &str) -> Result<Puller> {
        Puller::open(Options::new().connect(endpoint))
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub fn endpoints(&self) -> &[Endpoint] {
        self.socket.endpoints()
    }
}

impl Receive for Puller {
    fn recv_into(&mut self, msg: &mut Message, timeout: Option<Duration>) -> Result<bool> {
        self.socket.recv_into(msg, timeout)
    }

    fn default_timeout(&self) -> Option<Duration> {
        self.socket.recv_timeout()
    }
}
