//! [`Requester`]: asks and waits for the answer, with a deadline.

use crate::duration;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::frame::{Frame, Message};
use crate::options::Options;
use crate::socket::Socket;
use std::time::Duration;

/// Sends a request and waits for its reply. Socket REQ; peers REP or ROUTER.
pub struct Requester {
    socket: Socket,
    options: Options,
}

impl Requester {
    /// Open a requester with `options`. The receive timeout in `options` is the
    /// default deadline for each reply.
    pub fn open(options: Options) -> Result<Requester> {
        let socket = Socket::open(zmq::REQ, "requester", &options)?;
        // A rebuilt socket binds where this one did, not to a new wildcard port.
        let mut options = options;
        options.binds = socket.endpoints().iter().map(Endpoint::to_string).collect();
        Ok(Requester { socket, options })
    }

    /// Open a requester connected to `endpoint` with default options.
    pub fn connect(endpoint: &str) -> Result<Requester> {
        Requester::open(Options::new().connect(endpoint))
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub fn endpoints(&self) -> &[Endpoint] {
        self.socket.endpoints()
    }

    /// Send `request` and wait for the reply, up to the receive timeout of the options.
    pub fn request(&mut self, request: Message) -> Result<Message> {
        let timeout = self.socket.recv_timeout();
        self.request_timeout(request, timeout)
    }

    /// Send `request` and wait up to `timeout` (`None`: no limit) for the reply.
    ///
    /// On timeout the socket is replaced (a REQ socket cannot send again before it
    /// receives), and a [`crate::ErrorKind::Timeout`] error is returned.
    pub fn request_timeout(
        &mut self,
        request: Message,
        timeout: Option<Duration>,
    ) -> Result<Message> {
        self.socket.send(request)?;
        let mut reply = Message::new(Frame::empty());
        if self.socket.wait_recv_into(&mut reply, timeout)? {
            return Ok(reply);
        }
        self.rebuild()?;
        Err(Error::timeout(format!(
            "no reply within {}",
            duration::display(timeout.unwrap_or_default())
        )))
    }

    /// Drop the stuck socket at once (linger 0) and open a fresh one.
    fn rebuild(&mut self) -> Result<()> {
        let _ = self.socket.raw().set_linger(0);
        let fresh = Socket::open(zmq::REQ, "requester", &self.options)?;
        drop(std::mem::replace(&mut self.socket, fresh));
        Ok(())
    }
}
