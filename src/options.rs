//! [`Options`]: the one set of socket settings every role takes.
//!
//! Endpoints to bind and connect, high-water marks, linger, timeouts, size limits, the
//! ZeroMQ context and the [`Stop`] to honour. Defaults are safe for untrusted peers
//! and make exit bounded: linger is one second, not libzmq's "forever".

use crate::frame::Limits;
use crate::stop::Stop;
use std::fmt;
use std::time::Duration;

/// Socket settings shared by every role, built with chained calls.
///
/// ```
/// use std::time::Duration;
/// use zpattern::Options;
///
/// let options = Options::new()
///     .bind("tcp://127.0.0.1:*")
///     .connect("ipc:///tmp/zpattern-doc.sock")
///     .hwm(10_000)
///     .linger(Duration::from_millis(500))
///     .recv_timeout(Duration::from_secs(2));
/// assert_eq!(options.binds, ["tcp://127.0.0.1:*"]);
/// assert_eq!(options.send_hwm, 10_000);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Endpoints to bind, e.g. `tcp://127.0.0.1:*`.
    pub binds: Vec<String>,
    /// Endpoints to connect to.
    pub connects: Vec<String>,
    /// Messages queued per peer for sending before the pattern's HWM action (block or
    /// drop); 0 = unlimited.
    pub send_hwm: u32,
    /// Messages queued per peer on receipt before libzmq stops reading; 0 = unlimited.
    pub recv_hwm: u32,
    /// How long closing a sending role keeps trying to deliver what is queued.
    pub linger: Duration,
    /// Longest a send may block; `None` = until it can be queued (or stopped).
    pub send_timeout: Option<Duration>,
    /// Default deadline of a receive and of a request's reply; `None` = no deadline.
    pub recv_timeout: Option<Duration>,
    /// Size limits on what is received.
    pub limits: Limits,
    /// The ZeroMQ context to use (needed for `inproc://` between roles); `None` = a
    /// private context per role, terminated when the role is dropped.
    pub context: Option<zmq::Context>,
    /// The stop to honour in blocking waits.
    pub stop: Option<Stop>,
}

impl Options {
    /// libzmq's default high-water mark: 1000 messages queued per peer and direction.
    pub const DEFAULT_HWM: u32 = 1000;
    /// Default linger: how long closing a sending role keeps trying to deliver.
    pub const DEFAULT_LINGER: Duration = Duration::from_secs(1);

    /// Defaults: no endpoints, HWM 1000 both ways, linger 1 s, no timeouts (wait until
    /// stopped), [`Limits::default`], a private context, no stop.
    pub fn new() -> Options {
        Options {
            binds: Vec::new(),
            connects: Vec::new(),
            send_hwm: Options::DEFAULT_HWM,
            recv_hwm: Options::DEFAULT_HWM,
            linger: Options::DEFAULT_LINGER,
            send_timeout: None,
            recv_timeout: None,
            limits: Limits::default(),
            context: None,
            stop: None,
        }
    }

    /// Add an endpoint to bind, e.g. `tcp://127.0.0.1:*`.
    pub fn bind(mut self, endpoint: impl Into<String>) -> Options {
        self.binds.push(endpoint.into());
        self
    }

    /// Add an endpoint to connect to.
    pub fn connect(mut self, endpoint: impl Into<String>) -> Options {
        self.connects.push(endpoint.into());
        self
    }

    /// Set both high-water marks (messages queued per peer; 0 = unlimited).
    pub fn hwm(self, messages: u32) -> Options {
        self.send_hwm(messages).recv_hwm(messages)
    }

    /// Set the send high-water mark (0 = unlimited).
    pub fn send_hwm(mut self, messages: u32) -> Options {
        self.send_hwm = messages;
        self
    }

    /// Set the receive high-water mark (0 = unlimited).
    pub fn recv_hwm(mut self, messages: u32) -> Options {
        self.recv_hwm = messages;
        self
    }

    /// How long closing keeps trying to deliver queued messages.
    pub fn linger(mut self, linger: Duration) -> Options {
        self.linger = linger;
        self
    }

    /// Longest a send may block (no peer, or every peer at its HWM) before it fails
    /// with a timeout. Default: no limit.
    pub fn send_timeout(mut self, timeout: Duration) -> Options {
        self.send_timeout = Some(timeout);
        self
    }

    /// Default deadline of a receive (and of a request's reply). Default: no limit.
    pub fn recv_timeout(mut self, timeout: Duration) -> Options {
        self.recv_timeout = Some(timeout);
        self
    }

    /// Size limits on what is received.
    pub fn limits(mut self, limits: Limits) -> Options {
        self.limits = limits;
        self
    }

    /// Largest frame accepted from a peer, in bytes (see [`Limits::max_frame_size`]).
    pub fn max_frame_size(mut self, bytes: usize) -> Options {
        self.limits.max_frame_size = bytes;
        self
    }

    /// Use this ZeroMQ context (needed for `inproc://` between roles). By default each
    /// role owns a private context, terminated when the role is dropped.
    pub fn context(mut self, context: zmq::Context) -> Options {
        self.context = Some(context);
        self
    }

    /// Honour this stop: blocking waits return [`crate::ErrorKind::Interrupted`] soon
    /// after it is requested.
    pub fn stop(mut self, stop: Stop) -> Options {
        self.stop = Some(stop);
        self
    }
}

impl Default for Options {
    fn default() -> Options {
        Options::new()
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("binds", &self.binds)
            .field("connects", &self.connects)
            .field("send_hwm", &self.send_hwm)
            .field("recv_hwm", &self.recv_hwm)
            .field("linger", &self.linger)
            .field("send_timeout", &self.send_timeout)
            .field("recv_timeout", &self.recv_timeout)
            .field("limits", &self.limits)
            .field("shared_context", &self.context.is_some())
            .field("stop", &self.stop)
            .finish()
    }
}
