//! What a role is: direction in the types (a role that sends implements
//! [`Transmit`], a role that receives implements [`Receive`]: a `Pusher` has no
//! `recv`, a `Puller` no `send`), and the [`Role`] descriptor each role's file
//! declares for the shared layer, as nng's protocol descriptors do.

use crate::error::{Error, Result};
use crate::frame::Message;
use crate::options::Options;
use std::time::Duration;

/// A role, described once in its own file, for the shared layer: the socket layer
/// opens, configures and closes a socket from it without knowing socket types.
/// Adding a role (or a socket type) touches only its pattern's room.
pub(crate) struct Role {
    /// The libzmq socket type.
    pub(crate) kind: zmq::SocketType,
    /// What the role is called in messages: `pusher`.
    pub(crate) name: &'static str,
    /// The peers it talks to, for messages: `a puller (PULL)`.
    pub(crate) peers: &'static str,
    /// Whether it deals each message to one peer and hears nothing back (PUSH).
    /// Such a socket queues only to peers whose connection is up
    /// (`ZMQ_IMMEDIATE`): otherwise a connected endpoint whose peer is down keeps its
    /// share of the round-robin, which waits or is lost while live peers sit idle.
    /// And it reports a peer that leaves with messages in flight.
    pub(crate) deals_to_one: bool,
    /// What closing does with what is still queued.
    pub(crate) at_close: AtClose,
    /// Socket options of its own, set after the shared ones and before the socket
    /// binds or connects.
    pub(crate) setup: fn(&mut zmq::Socket, &Options) -> zmq::Result<()>,
}

/// What closing a socket does with the messages still queued in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtClose {
    /// Deliver them: confirm delivery, then close with the linger of the options.
    Deliver,
    /// Drop them: a receive-only role has nothing worth delivering (a subscriber
    /// would otherwise linger over subscriptions for a publisher that is gone).
    Drop,
}

impl Role {
    /// The setup of a role that needs none.
    pub(crate) fn no_setup(_: &mut zmq::Socket, _: &Options) -> zmq::Result<()> {
        Ok(())
    }
}

/// A role that sends messages: [`crate::Publisher`], [`crate::Pusher`].
pub trait Transmit {
    /// Send one message. Whether this blocks, and for how long, is the pattern's rule:
    /// a pusher waits for a peer with room (up to the send timeout), a publisher drops
    /// for a subscriber at its high-water mark unless no-drop is on.
    fn send(&mut self, msg: Message) -> Result<()>;
}

/// A role that receives messages: [`crate::Subscriber`], [`crate::Puller`].
pub trait Receive {
    /// Receive into `msg`, reusing its buffers, waiting up to `timeout` (`None`: until
    /// a message arrives or the stop is requested). `Ok(false)` when nothing arrived in
    /// time; the contents of `msg` are then unspecified.
    fn recv_into(&mut self, msg: &mut Message, timeout: Option<Duration>) -> Result<bool>;

    /// The receive timeout set in the role's [`crate::Options`].
    fn default_timeout(&self) -> Option<Duration>;

    /// Receive one message, waiting up to the role's receive timeout; a
    /// [`crate::ErrorKind::Timeout`] error if none arrives.
    fn recv(&mut self) -> Result<Message> {
        let timeout = self.default_timeout();
        self.recv_timeout(timeout)?.ok_or_else(|| {
            Error::timeout(format!(
                "no message within {}",
                crate::duration::display(timeout.unwrap_or_default())
            ))
        })
    }

    /// Receive one message, waiting up to `timeout` (`None`: no limit). `Ok(None)` if
    /// none arrived in time.
    fn recv_timeout(&mut self, timeout: Option<Duration>) -> Result<Option<Message>> {
        let mut msg = Message::new(crate::frame::Frame::empty());
        Ok(self.recv_into(&mut msg, timeout)?.then_some(msg))
    }

    /// Receive one message if one is waiting, without blocking.
    fn try_recv(&mut self) -> Result<Option<Message>> {
        self.recv_timeout(Some(Duration::ZERO))
    }
}
