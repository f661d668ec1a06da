//! [`Replier`]: answers requests one at a time.

use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::frame::{Frame, Message};
use crate::options::Options;
use crate::socket::Socket;
use std::time::Duration;

/// Receives a request, then sends its reply. Socket REP; peers REQ or DEALER.
pub struct Replier {
    socket: Socket,
}

impl Replier {
    /// Open a replier with `options`.
    pub fn open(options: Options) -> Result<Replier> {
        Ok(Replier {
            socket: Socket::open(zmq::REP, "replier", &options)?,
        })
    }

    /// Open a replier bound to `endpoint` with default options.
    pub fn bind(endpoint: &str) -> Result<Replier> {
        Replier::open(Options::new().bind(endpoint))
    }

    /// Open a replier connected to `endpoint` (for example a broker's DEALER side).
    pub fn connect(endpoint: &str) -> Result<Replier> {
        Replier::open(Options::new().connect(endpoint))
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub fn endpoints(&self) -> &[Endpoint] {
        self.socket.endpoints()
    }

    /// Wait up to `timeout` (`None`: no limit) for the next request.
    pub fn recv_request(&mut self, timeout: Option<Duration>) -> Result<Option<Message>> {
        let mut request = Message::new(Frame::empty());
        // A blocking wait from the start: in a request/reply exchange the next
        // request is rarely queued already.
        Ok(self
            .socket
            .recv_into(&mut request, timeout)?
            .then_some(request))
    }

    /// Send the reply to the request received last.
    pub fn reply(&mut self, reply: Message) -> Result<()> {
        self.socket.send(reply)
    }

    /// Answer requests with `handler` until `limit` requests were answered (`None`:
    /// until the stop is requested or an error). Waits for each request up to the
    /// receive timeout of the options; returns how many were answered.
    pub fn serve<F>(&mut self, limit: Option<u64>, mut handler: F) -> Result<u64>
    where
        F: FnMut(Message) -> Result<Message>,
    {
        let mut answered = 0;
        while limit.is_none_or(|limit| answered < limit) {
            let timeout = self.socket.recv_timeout();
            let Some(request) = self.recv_request(timeout)? else {
                return Err(Error::timeout(format!(
                    "no request within {} after {answered} answered",
                    crate::duration::display(timeout.unwrap_or_default())
                )));
            };
            let reply = handler(request)?;
            self.reply(reply)?;
            answered += 1;
        }
        Ok(answered)
    }

    /// Confirm that the requesters have read the last replies (bounded by the linger
    /// period), then close.
    pub fn close(self) -> Result<()> {
        self.socket.close()
    }
}
