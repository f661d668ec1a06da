//! [`Options`]: the one set of socket settings every role takes.
//!
//! Endpoints to bind and connect, high-water marks, linger, timeouts, heartbeats and
//! reconnection, size limits, the ZeroMQ context, the [`Stop`] to honour and a hook
//! for [`crate::peer::PeerEvent`]s. Defaults are safe for untrusted peers
//! and make exit bounded: linger is five seconds without progress, not libzmq's "forever"; heartbeats
//! are on, so a peer that vanished without closing its connection is noticed.

use crate::frame::Limits;
use crate::peer::{ConnectionEvent, ConnectionHook, PeerEvent, PeerHook};
use crate::security::Security;
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
    /// How long closing a sending role waits for peers that take nothing of what
    /// is queued for them (peers that keep taking it are waited for as long as
    /// they do).
    pub linger: Duration,
    /// Longest a send may block; `None` = until it can be queued (or stopped).
    pub send_timeout: Option<Duration>,
    /// Default deadline of a receive and of a request's reply; `None` = no deadline.
    pub recv_timeout: Option<Duration>,
    /// Send a ZMTP heartbeat (PING) on every connection when it has been quiet this
    /// long (`ZMQ_HEARTBEAT_IVL`); `None`: no heartbeats.
    pub heartbeat: Option<Duration>,
    /// Close a connection, and reconnect if we made it, when nothing has come back
    /// for this long after a heartbeat (`ZMQ_HEARTBEAT_TIMEOUT`); the peer is told to
    /// do the same (`ZMQ_HEARTBEAT_TTL`).
    pub heartbeat_timeout: Duration,
    /// How long to wait before reconnecting a lost connection (`ZMQ_RECONNECT_IVL`).
    pub reconnect: Duration,
    /// How long a new connection may take to complete its ZeroMQ handshake before
    /// it is dropped (`ZMQ_HANDSHAKE_IVL`): connections that never finish it (a
    /// scanner, a flood of half-open connections) hold a descriptor each until
    /// then.
    pub handshake_timeout: Duration,
    /// With a value, the reconnect interval doubles after each failed attempt up to
    /// this (`ZMQ_RECONNECT_IVL_MAX`); `None`: it stays [`Options::reconnect`].
    pub reconnect_max: Option<Duration>,
    /// Size limits on what is received.
    pub limits: Limits,
    /// The ZeroMQ context to use (needed for `inproc://` between roles); `None` = a
    /// private context per role, terminated when the role is dropped.
    pub context: Option<zmq::Context>,
    /// The stop to honour in blocking waits.
    pub stop: Option<Stop>,
    /// Told about the connections made to [`Options::connects`].
    pub peer_hook: Option<PeerHook>,
    /// Told about every connection event, accepted connections included.
    pub connection_hook: Option<ConnectionHook>,
    /// How the socket takes part in ZeroMQ security (CURVE, PLAIN, ZAP); see
    /// [`crate::security`].
    pub security: Security,
}

impl Options {
    /// libzmq's default high-water mark: 1000 messages queued per peer and direction.
    pub const DEFAULT_HWM: u32 = 1000;
    /// Default linger: how long closing a sending role waits for peers that take
    /// nothing. Over TCP a reader that is behind frees room in bursts (the kernel
    /// reopens a closed window only once a sixteenth of the largest receive buffer,
    /// 384 KiB by default, is free), so a reader taking 100 kB/s looks idle for
    /// seconds at a time.
    pub const DEFAULT_LINGER: Duration = Duration::from_secs(5);
    /// Default heartbeat interval.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
    /// Default heartbeat timeout: a dead peer is noticed within about 40 s.
    ///
    /// Generous on purpose: a receiver whose queue is full stops reading its socket
    /// (backpressure), answers no heartbeat, and would be cut off by a short timeout.
    pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default reconnect interval (libzmq's).
    pub const DEFAULT_RECONNECT: Duration = Duration::from_millis(100);
    /// Default handshake timeout: 5 s (libzmq's is 30 s, long enough for a thousand
    /// half-open connections to lock everyone else out for that long).
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

    /// Defaults: no endpoints, HWM 1000 both ways, linger 5 s, no timeouts (wait until
    /// stopped), heartbeats every 10 s with a 30 s timeout, reconnection every 100 ms,
    /// [`Limits::default`], a private context, no stop, no hooks, no security
    /// (NULL).
    pub fn new() -> Options {
        Options {
            binds: Vec::new(),
            connects: Vec::new(),
            send_hwm: Options::DEFAULT_HWM,
            recv_hwm: Options::DEFAULT_HWM,
            linger: Options::DEFAULT_LINGER,
            send_timeout: None,
            recv_timeout: None,
            heartbeat: Some(Options::DEFAULT_HEARTBEAT),
            heartbeat_timeout: Options::DEFAULT_HEARTBEAT_TIMEOUT,
            reconnect: Options::DEFAULT_RECONNECT,
            handshake_timeout: Options::DEFAULT_HANDSHAKE_TIMEOUT,
            reconnect_max: None,
            limits: Limits::default(),
            context: None,
            stop: None,
            peer_hook: None,
            connection_hook: None,
            security: Security::Null,
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

    /// Heartbeats every `interval` (`None`: off), a connection closing when nothing
    /// comes back for `timeout` after one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zpattern::Options;
    ///
    /// let options = Options::new().heartbeat(Some(Duration::from_secs(1)), Duration::from_secs(3));
    /// assert_eq!(options.heartbeat_timeout, Duration::from_secs(3));
    /// ```
    pub fn heartbeat(mut self, interval: Option<Duration>, timeout: Duration) -> Options {
        self.heartbeat = interval;
        self.heartbeat_timeout = timeout;
        self
    }

    /// Reconnect a lost connection after `interval`, doubling up to `max` if given.
    pub fn reconnect(mut self, interval: Duration, max: Option<Duration>) -> Options {
        self.reconnect = interval;
        self.reconnect_max = max;
        self
    }

    /// Drop a connection whose handshake takes longer than `timeout`.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Options {
        self.handshake_timeout = timeout;
        self
    }

    /// Call `hook` with every [`PeerEvent`] about the connected endpoints (up, lost,
    /// refused), from the thread using the role.
    pub fn on_peer_event(mut self, hook: impl Fn(&PeerEvent) + Send + Sync + 'static) -> Options {
        self.peer_hook = Some(PeerHook::new(hook));
        self
    }

    /// Call `hook` with every [`ConnectionEvent`] of the socket: listening,
    /// connections accepted and made, handshakes that succeed or fail (and why),
    /// disconnections; from the thread using the role, whenever the role looks at
    /// its connections (every send or receive that waits, and at least every 1024
    /// messages).
    pub fn on_connection_event(
        mut self,
        hook: impl Fn(&ConnectionEvent) + Send + Sync + 'static,
    ) -> Options {
        self.connection_hook = Some(ConnectionHook::new(hook));
        self
    }

    /// Take part in ZeroMQ security as `security` says: a CURVE or PLAIN server or
    /// client, or a NULL server whose peers are checked by address.
    ///
    /// A server part that authenticates ([`Security::needs_authenticator`]) needs
    /// an [`crate::security::Authenticator`] running in the role's context: pass
    /// that context with [`Options::context`]; opening the role fails otherwise.
    ///
    /// ```
    /// use zpattern::security::{CurveServer, Keypair, Security};
    /// use zpattern::Options;
    ///
    /// let keys = Keypair::generate()?;
    /// let options = Options::new()
    ///     .bind("tcp://127.0.0.1:*")
    ///     .security(Security::CurveServer(CurveServer::without_zap(keys)));
    /// assert_eq!(options.security.mechanism(), "CURVE");
    /// # Ok::<(), zpattern::Error>(())
    /// ```
    pub fn security(mut self, security: Security) -> Options {
        self.security = security;
        self
    }

    /// Size limits on what is received.
    pub fn limits(mut self, limits: Limits) -> Options {
        self.limits = limits;
        self
    }

    /// Largest message accepted from a peer, in bytes, all frames together (see
    /// [`Limits::max_message_size`]).
    pub fn max_message_size(mut self, bytes: usize) -> Options {
        self.limits.max_message_size = bytes;
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
            .field("heartbeat", &self.heartbeat)
            .field("heartbeat_timeout", &self.heartbeat_timeout)
            .field("reconnect", &self.reconnect)
            .field("reconnect_max", &self.reconnect_max)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("limits", &self.limits)
            .field("shared_context", &self.context.is_some())
            .field("stop", &self.stop)
            .field("peer_hook", &self.peer_hook.is_some())
            .field("connection_hook", &self.connection_hook.is_some())
            .field("security", &self.security)
            .finish()
    }
}
