//! [`Requester`]: asks and waits for the answer, with a deadline, resending as its
//! [`Retry`] policy says (Lazy Pirate).

use crate::duration;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Frame, Message};
use crate::options::Options;
use crate::reqrep::Retry;
use crate::role::{AtClose, Role};
use crate::socket::Socket;
use std::time::Duration;

/// Sends a request and waits for its reply. Socket REQ; peers REP or ROUTER.
///
/// A plain REQ socket whose reply is lost is stuck for good. A requester instead
/// gives up on an attempt at its timeout, closes that socket at once (linger 0) and
/// opens a fresh one; with a [`Retry`] policy it then pauses and resends, the
/// zguide's Lazy Pirate. A reply is always the reply to the attempt last sent: the
/// socket of an abandoned attempt is gone, so a late answer to it is never read.
/// The server may still have handled an abandoned attempt, so a request that is
/// retried should be safe to handle twice.
///
/// ```
/// use std::time::Duration;
/// use zpattern::reqrep::Retry;
/// use zpattern::{ErrorKind, Message, Options, Requester};
///
/// // Nobody answers: three attempts of 50 ms, then a timeout error.
/// let mut client = Requester::open(
///     Options::new().bind("tcp://127.0.0.1:*").recv_timeout(Duration::from_millis(50)),
/// )?
/// .retry(Retry::new(2).backoff(Duration::from_millis(10)));
/// let err = client.request(Message::new("anyone?")).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Timeout);
/// assert_eq!(err.to_string(), "no reply after 3 attempts of 50ms each");
/// assert_eq!(client.resends(), 2);
/// # Ok::<(), zpattern::Error>(())
/// ```
pub struct Requester {
    /// `None` only after rebuilding failed; every call then reports that.
    socket: Option<Socket>,
    options: Options,
    endpoints: Vec<Endpoint>,
    retry: Retry,
    sent: u64,
    resends: u64,
    bad_replies: u64,
    on_resend: Option<ResendHook>,
    on_bad_reply: Option<BadReplyHook>,
}

/// The requester, for the shared layer. Not `deals_to_one`: libzmq tears down an
/// immediate socket's queue when its connection drops, the inbound side too, so a
/// reply that arrived just before its server closed would be lost unread; a request
/// sent to a dead server is the Lazy Pirate's business instead.
static REQUESTER: Role = Role {
    kind: zmq::REQ,
    name: "requester",
    peers: "a replier (REP or ROUTER)",
    deals_to_one: false,
    at_close: AtClose::Deliver,
    setup: Role::no_setup,
};

/// What a [`Requester`] tells its resend hook before each resend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resend {
    /// The attempt about to be made, from 2.
    pub attempt: u32,
    /// All attempts the policy allows.
    pub attempts: u32,
    /// The per-attempt timeout that ran out.
    pub timeout: Option<Duration>,
    /// The pause before this resend.
    pub pause: Duration,
}

type ResendHook = Box<dyn FnMut(&Resend) + Send>;
type BadReplyHook = Box<dyn FnMut(&Error) + Send>;

/// How one attempt ended.
enum Attempt {
    Reply(Message),
    /// A reply came and was dropped (it broke a limit).
    Bad(Error),
    NoReply,
}

impl Requester {
    /// Open a requester with `options`. The receive timeout in `options` is the
    /// default deadline of each attempt. No retry policy: see [`Requester::retry`].
    pub fn open(options: Options) -> Result<Requester> {
        let socket = Socket::open(&REQUESTER, &options)?;
        let endpoints = socket.endpoints().to_vec();
        // A rebuilt socket binds where this one did, not to a new wildcard port.
        let mut options = options;
        options.binds = endpoints.iter().map(Endpoint::to_string).collect();
        Ok(Requester {
            socket: Some(socket),
            options,
            endpoints,
            retry: Retry::none(),
            sent: 0,
            resends: 0,
            bad_replies: 0,
            on_resend: None,
            on_bad_reply: None,
        })
    }

    /// Open a requester connected to `endpoint` with default options.
    pub fn connect(endpoint: &str) -> Result<Requester> {
        Requester::open(Options::new().connect(endpoint))
    }

    /// Resend unanswered requests as `policy` says.
    pub fn retry(mut self, policy: Retry) -> Requester {
        self.retry = policy;
        self
    }

    /// Call `hook` before each resend, for example to log it.
    pub fn on_resend(mut self, hook: impl FnMut(&Resend) + Send + 'static) -> Requester {
        self.on_resend = Some(Box::new(hook));
        self
    }

    /// Call `hook` with each reply that was dropped because it broke a limit (more
    /// frames than [`crate::Limits::max_frames`]): the attempt counts as failed.
    pub fn on_bad_reply(mut self, hook: impl FnMut(&Error) + Send + 'static) -> Requester {
        self.on_bad_reply = Some(Box::new(hook));
        self
    }

    /// How many replies were dropped for breaking a limit, over all requests.
    pub fn bad_replies(&self) -> u64 {
        self.bad_replies
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// How many requests went out (the first attempt of each was queued), over all
    /// requests; resends are not counted again.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// How many resends this requester has made, over all requests.
    pub fn resends(&self) -> u64 {
        self.resends
    }

    /// Send `request` and wait for the reply, each attempt up to the receive timeout
    /// of the options.
    pub fn request(&mut self, request: Message) -> Result<Message> {
        let timeout = self.options.recv_timeout;
        self.request_timeout(request, timeout)
    }

    /// Send `request` and wait up to `timeout` (`None`: no limit) for the reply,
    /// resending as the retry policy says. After the last attempt the error is a
    /// [`ErrorKind::Timeout`]; the requester stays usable for the next request.
    pub fn request_timeout(
        &mut self,
        request: Message,
        timeout: Option<Duration>,
    ) -> Result<Message> {
        let attempts = self.retry.retries.saturating_add(1);
        let mut bad_reply = None;
        // Every attempt but the last sends a copy; the last sends the request.
        for attempt in 1..attempts {
            if attempt > 1 {
                self.pause_before_resend(attempt, attempts, timeout)?;
            }
            match self.attempt(request.clone(), timeout, attempt == 1)? {
                Attempt::Reply(reply) => return Ok(reply),
                Attempt::Bad(e) => bad_reply = Some(e),
                Attempt::NoReply => {}
            }
            self.rebuild()?;
        }
        if attempts > 1 {
            self.pause_before_resend(attempts, attempts, timeout)?;
        }
        match self.attempt(request, timeout, attempts == 1)? {
            Attempt::Reply(reply) => return Ok(reply),
            Attempt::Bad(e) => bad_reply = Some(e),
            Attempt::NoReply => {}
        }
        self.rebuild()?;
        let each = duration::display(timeout.unwrap_or_default());
        let what = match attempts {
            1 => format!("no reply within {each}"),
            n => format!("no reply after {n} attempts of {each} each"),
        };
        Err(match bad_reply {
            Some(e) => Error::new(e.kind(), format!("{what} (the last bad one: {e})")),
            None => Error::timeout(what),
        })
    }

    /// One attempt: send, then wait for the reply, both within `timeout` (with no
    /// server connected, a REQ send would block). A reply that breaks a limit (too
    /// many frames) is dropped: the attempt failed, as if no reply had come.
    fn attempt(
        &mut self,
        request: Message,
        timeout: Option<Duration>,
        first: bool,
    ) -> Result<Attempt> {
        let socket = self.socket()?;
        let waited = match socket.send_within(request, timeout) {
            Err(e) if e.kind() == ErrorKind::Timeout => return Ok(Attempt::NoReply),
            outcome => outcome?,
        };
        self.sent += u64::from(first);
        let socket = self.socket()?;
        let mut reply = Message::new(Frame::empty());
        let left = timeout.map(|t| t.saturating_sub(waited));
        match socket.recv_into(&mut reply, left) {
            Ok(true) => Ok(Attempt::Reply(reply)),
            Ok(false) => Ok(Attempt::NoReply),
            Err(e) if e.kind() == ErrorKind::Protocol => {
                self.bad_replies += 1;
                if let Some(hook) = self.on_bad_reply.as_mut() {
                    hook(&e);
                }
                Ok(Attempt::Bad(e))
            }
            Err(e) => Err(e),
        }
    }

    fn pause_before_resend(
        &mut self,
        attempt: u32,
        attempts: u32,
        timeout: Option<Duration>,
    ) -> Result<()> {
        let pause = self.retry.pause(attempt - 1);
        if let Some(hook) = self.on_resend.as_mut() {
            hook(&Resend {
                attempt,
                attempts,
                timeout,
                pause,
            });
        }
        self.resends += 1;
        let slept = match &self.options.stop {
            Some(stop) => stop.sleep(pause),
            None => {
                std::thread::sleep(pause);
                true
            }
        };
        if slept {
            Ok(())
        } else {
            Err(Error::interrupted())
        }
    }

    fn socket(&mut self) -> Result<&mut Socket> {
        self.socket.as_mut().ok_or_else(|| {
            Error::new(
                ErrorKind::Network,
                "the requester lost its socket: reopening it failed earlier",
            )
        })
    }

    /// Drop the stuck socket at once (linger 0), then open a fresh one: in that
    /// order, so that a bound endpoint is free again for the new socket.
    fn rebuild(&mut self) -> Result<()> {
        if let Some(stuck) = self.socket.take() {
            stuck.abandon();
        }
        self.socket = Some(Socket::open(&REQUESTER, &self.options)?);
        Ok(())
    }
}
