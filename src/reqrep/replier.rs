//! [`Replier`]: answers requests one at a time.

use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Frame, Message};
use crate::options::Options;
use crate::role::{AtClose, Role};
use crate::socket::Socket;
use std::time::{Duration, Instant};

/// Receives a request, then sends its reply. Peers REQ or DEALER.
///
/// It behaves as a REP socket does: requests are taken fairly from all clients, one
/// at a time, and each reply goes back along the route its request came by (the
/// envelope: every frame up to the first empty one). It is built on a ROUTER socket,
/// which lets it drop a request that breaks a limit (too many frames, no envelope)
/// and go on serving: a REP socket must answer every request it took, so one bad
/// request would leave it stuck. The dropped request gets no reply (its client's
/// timeout tells it); [`Replier::recv_request`] returns a
/// [`crate::ErrorKind::Protocol`] error for it, and the next call goes on.
pub struct Replier {
    socket: Socket,
    /// The route back to the client whose request is being answered.
    envelope: Option<Vec<Frame>>,
    dropped: u64,
}

/// The replier, for the shared layer: a ROUTER with REP's behaviour on top (see
/// the type docs).
static REPLIER: Role = Role {
    kind: zmq::ROUTER,
    name: "replier",
    peers: "a requester (REQ or DEALER)",
    deals_to_one: false,
    at_close: AtClose::Deliver,
    setup: Role::no_setup,
};

impl Replier {
    /// Open a replier with `options`.
    pub fn open(options: Options) -> Result<Replier> {
        Ok(Replier {
            socket: Socket::open(&REPLIER, &options)?,
            envelope: None,
            dropped: 0,
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

    /// How many requests were dropped for breaking a limit or having no envelope.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Wait up to `timeout` (`None`: no limit) for the next request. A request
    /// still unanswered is abandoned. A request that breaks a limit is dropped
    /// unanswered and returned as a [`crate::ErrorKind::Protocol`] error.
    pub fn recv_request(&mut self, timeout: Option<Duration>) -> Result<Option<Message>> {
        self.envelope = None;
        let mut request = Message::new(Frame::empty());
        // A blocking wait from the start: in a request/reply exchange the next
        // request is rarely queued already.
        let received = self.socket.recv_into(&mut request, timeout);
        match received {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => {
                if e.kind() == ErrorKind::Protocol {
                    self.dropped += 1;
                }
                return Err(e);
            }
        }
        let mut frames = request.into_frames();
        // Frame 0 names the client's connection; the envelope ends with the first
        // empty frame after it.
        let Some(bottom) = frames.iter().skip(1).position(|f| f.is_empty()) else {
            self.dropped += 1;
            return Err(Error::protocol(
                "replier dropped a request without an envelope (no empty delimiter frame)",
            ));
        };
        let body = frames.split_off(bottom + 2);
        if body.is_empty() {
            self.dropped += 1;
            return Err(Error::protocol("replier dropped a request with no frames"));
        }
        self.envelope = Some(frames);
        Message::from_frames(body).map(Some)
    }

    /// Send the reply to the request received last.
    pub fn reply(&mut self, reply: Message) -> Result<()> {
        let Some(envelope) = self.envelope.take() else {
            return Err(Error::usage(
                "replier cannot send now: there is no request to answer",
            ));
        };
        let mut routed = Message::from_frames(envelope)?;
        for frame in reply.into_frames() {
            routed.push(frame);
        }
        self.socket.send(routed)
    }

    /// Answer requests with `handler` until `limit` requests were answered (`None`:
    /// until the stop is requested or an error). Waits for each request up to the
    /// receive timeout of the options; returns how many were answered. Requests
    /// that break a limit are dropped and counted ([`Replier::dropped`]).
    pub fn serve<F>(&mut self, limit: Option<u64>, mut handler: F) -> Result<u64>
    where
        F: FnMut(Message) -> Result<Message>,
    {
        let mut answered = 0;
        while limit.is_none_or(|limit| answered < limit) {
            let timeout = self.socket.recv_timeout();
            let deadline = timeout.map(|t| Instant::now() + t);
            let request = loop {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                match self.recv_request(left) {
                    Err(e) if e.kind() == ErrorKind::Protocol => continue,
                    outcome => break outcome?,
                }
            };
            let Some(request) = request else {
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
