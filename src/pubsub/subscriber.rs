//! [`Subscriber`]: the receiving side of pub/sub.

use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::frame::Message;
use crate::options::Options;
use crate::role::Receive;
use crate::socket::Socket;
use std::time::Duration;

/// Receives the messages whose topic starts with a subscribed prefix. Socket SUB;
/// peers PUB or XPUB; receive only.
pub struct Subscriber {
    socket: Socket,
}

impl Subscriber {
    /// Open a subscriber with `options`. It receives nothing until it subscribes.
    pub fn open(options: Options) -> Result<Subscriber> {
        Ok(Subscriber {
            socket: Socket::open(zmq::SUB, "subscriber", &options)?,
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
            .raw()
            .set_subscribe(prefix.as_ref())
            .map_err(|e| Error::zmq("cannot subscribe", e))
    }

    /// Undo one earlier [`Subscriber::subscribe`] of the same prefix.
    pub fn unsubscribe(&mut self, prefix: impl AsRef<[u8]>) -> Result<()> {
        self.socket
            .raw()
            .set_unsubscribe(prefix.as_ref())
            .map_err(|e| Error::zmq("cannot unsubscribe", e))
    }
}

impl Receive for Subscriber {
    fn recv_into(&mut self, msg: &mut Message, timeout: Option<Duration>) -> Result<bool> {
        self.socket.recv_into(msg, timeout)
    }

    fn default_timeout(&self) -> Option<Duration> {
        self.socket.recv_timeout()
    }
}
