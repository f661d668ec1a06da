//! Direction in the types: a role that sends implements [`Transmit`], a role that
//! receives implements [`Receive`]. A `Pusher` has no `recv`; a `Puller` has no `send`.

use crate::error::{Error, Result};
use crate::frame::Message;
use std::time::Duration;

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
