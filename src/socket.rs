//! The one place that drives libzmq sockets: setup from [`Options`], multipart send
//! and receive, waits that honour deadlines and the [`Stop`], and a close that
//! confirms delivery.
//!
//! Pattern modules wrap a [`Socket`] in a role type; they never send or receive frames
//! themselves.
//!
//! # Delivery at close
//!
//! libzmq's linger alone does not say whether the last messages arrived: it bounds
//! the time, not the progress, and a slow receiver that is still reading is cut off
//! the same as a dead one. So [`Socket::close`] first waits until every peer
//! connection's kernel send queue has stayed empty for a few milliseconds, which
//! means the peer has read everything (over ipc) or acknowledged it (over TCP). The
//! wait goes on as long as the peers make progress (the unread count changes), and
//! gives up after the linger period without any: a peer that is alive and reading
//! keeps a sender waiting however long its backlog takes, a stalled one does not.
//! Only then does it close the socket.
//!
//! # Messages dealt to a peer that left
//!
//! A role that deals each message to one peer (PUSH) loses what it dealt to a peer
//! that leaves before reading it, and plain libzmq does not say so. Two things tell:
//! a peer that closes with data it has not read resets the connection (over TCP and
//! ipc alike; zpattern's libzmq puts that in the disconnect event), and a peer that
//! leaves while we are still sending loses what was dealt to it since the last look
//! at the connections (our queue for it, and what its libzmq had taken in). Either
//! is reported ([`PeerEvent::Undelivered`]) and makes [`Socket::close`] fail with
//! [`ErrorKind::Incomplete`]. What a peer's own libzmq had taken in when it left
//! after we stopped sending is out of sight (batch accounting sees it).

use crate::endpoint::{Endpoint, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Frame, Limits, Message};
use crate::monitor::Monitor;
use crate::options::Options;
use crate::peer::{ConnectionHook, PeerEvent, PeerHook};
use crate::role::{AtClose, Role};
use crate::security::{Security, ZAP_ENDPOINT};
use crate::stop::Stop;
use crate::sys;
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Whether a ZAP handler (an [`crate::security::Authenticator`]) is bound in
/// `context`: its endpoint cannot be bound again.
fn has_zap_handler(context: &zmq::Context) -> Result<bool> {
    let probe = context
        .socket(zmq::PAIR)
        .map_err(|e| Error::zmq("cannot look for a ZAP handler", e))?;
    let _ = probe.set_linger(0);
    match probe.bind(ZAP_ENDPOINT) {
        Ok(()) => {
            let _ = probe.unbind(ZAP_ENDPOINT);
            Ok(false)
        }
        Err(zmq::Error::EADDRINUSE) => Ok(true),
        Err(e) => Err(Error::zmq("cannot look for a ZAP handler", e)),
    }
}

/// `ZMQ_TCP_MAXRT` (TCP_USER_TIMEOUT on Linux), which the zmq crate does not wrap.
const ZMQ_TCP_MAXRT: u32 = 80;

/// Longest single wait inside a blocking call, so a [`Stop`] is seen promptly.
const WAIT_SLICE: Duration = Duration::from_millis(50);
/// How often the delivery drain looks at the kernel queues.
const DRAIN_STEP: Duration = Duration::from_millis(1);
/// Connections whose loss is named in the error at close, at most.
const NAMED_UNDELIVERED: usize = 8;
/// Consecutive empty looks that count as delivered.
const DRAIN_QUIET_LOOKS: u32 = 5;
/// Messages sent or received between two looks at the connection events when the
/// socket is never idle (a look costs a system call).
const WATCH_EVERY: u32 = 1024;
/// Longest time between two looks at the connection events while messages trickle
/// in, each after a wait.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// A configured, bound and connected libzmq socket.
pub(crate) struct Socket {
    // Field order is drop order: the sockets close before the context terminates, so
    // termination honours the linger period.
    socket: zmq::Socket,
    monitor: Monitor,
    role: &'static Role,
    endpoints: Vec<Endpoint>,
    /// ipc files we bound, with their (device, inode), removed when we close.
    ipc_files: Vec<(PathBuf, (u64, u64))>,
    connect_count: usize,
    limits: Limits,
    linger: Duration,
    send_timeout: Option<Duration>,
    recv_timeout: Option<Duration>,
    stop: Option<Stop>,
    peer_hook: Option<PeerHook>,
    connection_hook: Option<ConnectionHook>,
    /// Set for good once a connected endpoint refused the handshake.
    refused: Option<String>,
    /// Sends and receives since the connection events were last read.
    since_watch: u32,
    /// When the connection events were last read.
    watched: Instant,
    /// For a socket that deals each message to one peer: what each connection had
    /// not read at the last look, and which closed with messages in flight.
    in_flight: Option<InFlight>,
    /// The rate limit of [`PeerEvent::Misbehaved`] events: the current second's
    /// start, events told in it, events left untold.
    told: (Instant, u32, u64),
    _context: zmq::Context,
}

/// What a dealing socket knows about the messages its peers have not read.
#[derive(Default)]
struct InFlight {
    /// Messages sent since the last look at the connections.
    sent_since_look: u64,
    /// Whether the socket is closing (sending is over).
    closing: bool,
    /// Connections that closed with messages in flight: how many, and the first
    /// few endpoints.
    undelivered: usize,
    named: Vec<String>,
}

impl Socket {
    /// Create a socket for `role`, apply `options` and the role's own setup, bind
    /// and connect.
    ///
    /// Every endpoint is parsed before any is used, so a typo in the last one does not
    /// leave the first one bound.
    pub(crate) fn open(role: &'static Role, options: &Options) -> Result<Socket> {
        let name = role.name;
        if options.binds.is_empty() && options.connects.is_empty() {
            return Err(Error::usage(format!(
                "the {name} needs at least one endpoint to bind or connect"
            )));
        }
        let binds = parse_all(&options.binds)?
            .iter()
            .map(Endpoint::for_bind)
            .collect::<Result<Vec<_>>>()?;
        let connects = parse_all(&options.connects)?;
        sys::raise_message_limits(options.limits.max_frames, options.limits.max_message_size);
        let context = options.context.clone().unwrap_or_default();
        let mut socket = context
            .socket(role.kind)
            .map_err(|e| Error::zmq(format!("cannot create a {name} socket"), e))?;
        if options.security.needs_authenticator() && !has_zap_handler(&context)? {
            return Err(Error::usage(format!(
                "the {name} authenticates its peers ({}), but no Authenticator runs in \
                 its context: start one and pass the context in the options",
                options.security.mechanism()
            )));
        }
        configure(&mut socket, options, binds.iter().chain(&connects))
            .and_then(|()| socket.set_immediate(role.deals_to_one))
            .and_then(|()| (role.setup)(&mut socket, options))
            .map_err(|e| Error::zmq(format!("cannot configure the {name} socket"), e))?;
        options.security.apply(&mut socket).map_err(|e| {
            let mechanism = options.security.mechanism();
            Error::zmq(
                format!("cannot set up {mechanism} security on the {name}"),
                e,
            )
        })?;
        let mechanism = match options.security {
            Security::CurveClient(_) | Security::Plain(_) => options.security.mechanism(),
            _ => "NULL",
        };
        let stream = options.connection_hook.is_some();
        let monitor = Monitor::attach(&context, &mut socket, role, mechanism, stream)?;
        let mut endpoints = Vec::with_capacity(binds.len());
        let mut ipc_files = Vec::new();
        for endpoint in &binds {
            endpoint.check_bindable()?;
            socket
                .bind(&endpoint.to_string())
                .map_err(|e| bind_error(endpoint, e))?;
            let bound = resolved(&socket, endpoint);
            ipc_files.extend(ipc_file(&bound));
            endpoints.push(bound);
        }
        for endpoint in &connects {
            endpoint.check_connectable()?;
            socket
                .connect(&endpoint.to_string())
                .map_err(|e| Error::zmq(format!("cannot connect to {endpoint}"), e))?;
        }
        Ok(Socket {
            socket,
            monitor,
            role,
            endpoints,
            ipc_files,
            connect_count: connects.len(),
            limits: options.limits,
            linger: options.linger,
            send_timeout: options.send_timeout,
            recv_timeout: options.recv_timeout,
            stop: options.stop.clone(),
            peer_hook: options.peer_hook.clone(),
            connection_hook: options.connection_hook.clone(),
            refused: None,
            since_watch: 0,
            watched: Instant::now(),
            in_flight: role.deals_to_one.then(InFlight::default),
            told: (Instant::now(), 0, 0),
            _context: context,
        })
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub(crate) fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// How many endpoints the socket connects to.
    pub(crate) fn connect_count(&self) -> usize {
        self.connect_count
    }

    /// Set integer option `option` (a libzmq option number) on the open socket;
    /// `what` names it in the error.
    pub(crate) fn set_int_option(&mut self, option: u32, value: i32, what: &str) -> Result<()> {
        sys::set_int_option(&mut self.socket, option, value)
            .map_err(|e| Error::zmq(format!("cannot {what} on the {}", self.role.name), e))
    }

    /// Set bytes option `option` (a subscription, say) on the open socket; `what`
    /// names it in the error.
    pub(crate) fn set_bytes_option(&mut self, option: u32, value: &[u8], what: &str) -> Result<()> {
        sys::set_bytes_option(&mut self.socket, option, value)
            .map_err(|e| Error::zmq(format!("cannot {what} on the {}", self.role.name), e))
    }

    /// Close at once, dropping whatever is still queued (linger 0).
    pub(crate) fn abandon(self) {
        let _ = self.socket.set_linger(0);
    }

    /// The receive timeout configured in the options.
    pub(crate) fn recv_timeout(&self) -> Option<Duration> {
        self.recv_timeout
    }

    /// `Err(Interrupted)` if the stop was requested.
    pub(crate) fn check_stop(&self) -> Result<()> {
        self.stop.as_ref().map_or(Ok(()), Stop::check)
    }

    /// Read the connection events: tell the peer hook, and fail if a connected
    /// endpoint refused the handshake (libzmq gives such an endpoint up in silence).
    pub(crate) fn watch(&mut self) -> Result<()> {
        self.since_watch = 0;
        self.watched = Instant::now();
        self.monitor.update()?;
        self.look_at_deliveries();
        let oversized: Vec<String> = self.monitor.take_oversized().collect();
        for endpoint in oversized {
            let what = format!(
                "sent a message over the limits ({} frames, {} bytes); dropped its connection",
                self.limits.max_frames, self.limits.max_message_size
            );
            self.tell_endpoint(endpoint, what);
        }
        let refusals: Vec<_> = self.monitor.take_refusals().collect();
        for refusal in refusals {
            let what = match refusal.peer {
                Some(peer) => format!("({peer}) {}; dropped its connection", refusal.reason),
                None => format!("{}; dropped its connection", refusal.reason),
            };
            self.tell_endpoint(refusal.endpoint, what);
        }
        if let Some(hook) = &self.connection_hook {
            for event in self.monitor.take_stream() {
                hook.call(&event);
            }
        }
        for event in self.monitor.take_events() {
            if let Some(hook) = &self.peer_hook {
                hook.call(&event);
            }
            if let PeerEvent::Rejected { .. } = &event {
                self.refused.get_or_insert_with(|| event.to_string());
            }
        }
        match &self.refused {
            Some(why) => Err(Error::new(ErrorKind::Network, why.clone())),
            None => Ok(()),
        }
    }

    /// For a dealing socket: judge the connections that closed since the last look
    /// (messages in flight to them are lost), then note what each open connection
    /// has not read yet.
    fn look_at_deliveries(&mut self) {
        let Some(in_flight) = self.in_flight.as_mut() else {
            return;
        };
        for departure in self.monitor.take_departures() {
            // A peer that reset the connection left data unread. One that leaves
            // while we are still sending loses what was dealt to it since the last
            // look: libzmq's queue for it, and what its own libzmq had taken in.
            let mid_stream = in_flight.sent_since_look > 0 && !in_flight.closing;
            if !departure.reset && !mid_stream {
                continue;
            }
            in_flight.undelivered += 1;
            if in_flight.named.len() < NAMED_UNDELIVERED {
                in_flight.named.push(departure.address.clone());
            }
            if let Some(hook) = &self.peer_hook {
                hook.call(&PeerEvent::Undelivered {
                    endpoint: departure.address,
                    outgoing: departure.outgoing,
                });
            }
        }
        in_flight.sent_since_look = 0;
    }

    /// Tell the peer hook that the peer of connection `fd` (`None`: over inproc)
    /// broke a limit: `what` it did and what was done. At most
    /// [`PeerEvent::TOLD_PER_SECOND`] a second; the rest are counted.
    pub(crate) fn tell(&mut self, fd: Option<RawFd>, what: String) {
        let endpoint = fd
            .and_then(|fd| self.monitor.address_of(fd))
            .unwrap_or("inproc")
            .to_string();
        self.tell_endpoint(endpoint, what);
    }

    /// [`Socket::tell`] about the peer of a connection through `endpoint`.
    fn tell_endpoint(&mut self, endpoint: String, what: String) {
        let Some(hook) = &self.peer_hook else {
            return;
        };
        let (since, told, untold) = &mut self.told;
        if since.elapsed() >= Duration::from_secs(1) {
            *since = Instant::now();
            *told = 0;
        }
        if *told >= PeerEvent::TOLD_PER_SECOND {
            *untold += 1;
            return;
        }
        *told += 1;
        hook.call(&PeerEvent::Misbehaved {
            endpoint,
            what,
            untold: std::mem::take(untold),
        });
    }

    /// Which connection `fd` is (see [`Monitor::connection_of`]): a received
    /// message names the descriptor it came by, and descriptors are reused.
    pub(crate) fn connection_of(&mut self, fd: RawFd) -> Option<u64> {
        if let Some(id) = self.monitor.connection_of(fd) {
            return Some(id);
        }
        self.monitor.update().ok()?;
        self.monitor.connection_of(fd)
    }

    /// Cut off the peer of connection `fd` if it is one of ours (the monitor has
    /// seen it open): its connection is shut down and libzmq lets it go. Whether it
    /// was.
    pub(crate) fn cut_off(&mut self, fd: RawFd) -> bool {
        self.monitor.update().is_ok() && self.monitor.is_open(fd) && sys::shut_down(fd).is_ok()
    }

    /// Count one message through; look at the connection events now and then:
    /// after [`WATCH_EVERY`] messages, or [`WATCH_INTERVAL`] (the clock is read
    /// every 16 messages, so that a trickle is watched too).
    fn tick(&mut self) -> Result<()> {
        self.since_watch += 1;
        if self.since_watch % 16 == 0
            && (self.since_watch >= WATCH_EVERY || self.watched.elapsed() >= WATCH_INTERVAL)
        {
            self.watch()?;
        }
        Ok(())
    }

    /// Send every frame of `msg` as one multipart message. Blocks while the pattern
    /// says so (no peer, or every peer at its HWM), up to the send timeout of the
    /// options; the stop interrupts it.
    pub(crate) fn send(&mut self, msg: Message) -> Result<()> {
        self.send_within(msg, self.send_timeout).map(drop)
    }

    /// Look at the connections now: a role that is about to be idle (waiting for
    /// input) calls it, so that a peer leaving while it waits is not taken for one
    /// that left in the middle of the stream.
    pub(crate) fn settle(&mut self) -> Result<()> {
        self.watch()
    }

    /// [`Socket::send`], waiting at most `timeout` (`None`: no limit) for room;
    /// returns how long it waited (zero, without a look at the clock, when the
    /// message could be queued at once).
    ///
    /// libzmq waits for room itself, one [`WAIT_SLICE`] at a time (the socket's send
    /// timeout); between slices the stop, the connection events and the deadline are
    /// looked at. A frame that could not be queued stays ours, to send again.
    pub(crate) fn send_within(
        &mut self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Duration> {
        self.check_stop()?;
        self.tick()?;
        // In place: libzmq takes each frame's contents and leaves it empty.
        let frames = msg.frames_mut();
        let last = frames.len() - 1;
        let mut blocked: Option<Instant> = None;
        for (i, frame) in frames.iter_mut().enumerate() {
            let flags = if i < last { zmq::SNDMORE } else { 0 };
            loop {
                match frame.raw_mut().send(&mut self.socket, flags) {
                    Ok(()) => break,
                    Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => {
                        // The first refusal took one slice already.
                        let since = *blocked.get_or_insert_with(|| Instant::now() - WAIT_SLICE);
                        let deadline = timeout.map(|t| since + t);
                        self.still_sending(deadline)?;
                    }
                    Err(e) => return Err(self.send_error(e)),
                }
            }
        }
        if let Some(in_flight) = self.in_flight.as_mut() {
            in_flight.sent_since_look += 1;
        }
        Ok(blocked.map_or(Duration::ZERO, |since| since.elapsed()))
    }

    /// Between two slices of a blocked send: stop, refused peers, deadline.
    fn still_sending(&mut self, deadline: Option<Instant>) -> Result<()> {
        self.check_stop()?;
        self.watch()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(self.send_error(zmq::Error::EAGAIN));
        }
        Ok(())
    }

    fn send_error(&self, e: zmq::Error) -> Error {
        match e {
            zmq::Error::EAGAIN => Error::timeout(format!(
                "{} send timed out: no peer ready to take the message",
                self.role.name
            )),
            zmq::Error::EFSM => Error::usage(format!(
                "{} cannot send now (a request must be answered before the next one)",
                self.role.name
            )),
            e => Error::zmq(format!("{} send failed", self.role.name), e),
        }
    }

    /// Receive into `msg`, reusing its buffers, waiting up to `wait` (`None` = until a
    /// message or a stop). `Ok(false)` when nothing arrived in time; `msg` may then
    /// have been cleared.
    ///
    /// Waiting is libzmq's own blocking receive, one [`WAIT_SLICE`] at a time (the
    /// socket's receive timeout), so a message that arrives wakes the receiver the
    /// way it wakes a plain `zmq_recv`, and one that is there, or comes within the
    /// first slice, costs no look at the clock; only a wait shorter than a slice (or
    /// the last stretch of a longer one) is a poll.
    pub(crate) fn recv_into(&mut self, msg: &mut Message, wait: Option<Duration>) -> Result<bool> {
        self.check_stop()?;
        if wait.is_some_and(|wait| wait < WAIT_SLICE) {
            // A message already queued is taken without reading the clock.
            if self.try_recv_into(msg)? {
                return Ok(true);
            }
            if wait == Some(Duration::ZERO) {
                return Ok(false);
            }
            return self.recv_within(msg, wait);
        }
        if self.recv_frames(msg, 0)? {
            return Ok(true);
        }
        self.watch()?;
        self.recv_within(msg, wait.map(|wait| wait.saturating_sub(WAIT_SLICE)))
    }

    /// Wait up to `wait` for a message, slice by slice, watching the clock.
    fn recv_within(&mut self, msg: &mut Message, wait: Option<Duration>) -> Result<bool> {
        let deadline = wait.map(|wait| Instant::now() + wait);
        let mut left = wait;
        loop {
            self.check_stop()?;
            let arrived = match left {
                Some(left) if left.is_zero() => return self.try_recv_into(msg),
                Some(left) if left < WAIT_SLICE => {
                    self.try_recv_into(msg)?
                        || (self.poll(zmq::POLLIN, left)? && self.try_recv_into(msg)?)
                }
                _ => self.recv_frames(msg, 0)?,
            };
            if arrived {
                return Ok(true);
            }
            self.watch()?;
            left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) {
                return Ok(false);
            }
        }
    }

    /// Receive a message if one is waiting, without blocking.
    pub(crate) fn try_recv_into(&mut self, msg: &mut Message) -> Result<bool> {
        self.recv_frames(msg, zmq::DONTWAIT)
    }

    /// Receive one multipart message into `msg`, its first frame with `first_flags`
    /// (`DONTWAIT`, or 0 to wait up to the socket's receive timeout). `Ok(false)` if
    /// none came (or a signal interrupted the wait).
    fn recv_frames(&mut self, msg: &mut Message, first_flags: i32) -> Result<bool> {
        let mut count = 0;
        loop {
            let slot = msg.frame_slot(count).raw_mut();
            let flags = if count == 0 { first_flags } else { 0 };
            match slot.recv(&mut self.socket, flags) {
                Ok(()) => {}
                Err(zmq::Error::EAGAIN) if count == 0 => return Ok(false),
                Err(zmq::Error::EINTR) if count == 0 => return Ok(false),
                Err(e) => return Err(Error::zmq(format!("{} receive failed", self.role.name), e)),
            }
            count += 1;
            if !slot.more() {
                break;
            }
            if count == self.limits.max_frames {
                let total = count + self.discard_rest()?;
                msg.truncate_frames(1);
                return Err(Error::protocol(format!(
                    "{} dropped a message of {total} frames, more than the limit of {}",
                    self.role.name, self.limits.max_frames
                )));
            }
        }
        msg.truncate_frames(count);
        self.tick()?;
        Ok(true)
    }

    /// Receive and drop the remaining frames of a multipart message.
    fn discard_rest(&mut self) -> Result<usize> {
        let mut scratch = Frame::empty();
        let mut dropped = 0;
        loop {
            scratch
                .raw_mut()
                .recv(&mut self.socket, 0)
                .map_err(|e| Error::zmq(format!("{} receive failed", self.role.name), e))?;
            dropped += 1;
            if !scratch.raw_mut().more() {
                return Ok(dropped);
            }
        }
    }

    /// Wait up to `timeout` for `events`; `Ok(false)` on timeout or signal.
    pub(crate) fn poll(&self, events: zmq::PollEvents, timeout: Duration) -> Result<bool> {
        let ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        match self.socket.poll(events, ms) {
            Ok(n) => Ok(n > 0),
            Err(zmq::Error::EINTR) => Ok(false),
            Err(e) => Err(Error::zmq(format!("{} poll failed", self.role.name), e)),
        }
    }

    /// The connection monitor, brought up to date.
    pub(crate) fn monitor(&mut self) -> Result<&mut Monitor> {
        self.watch()?;
        Ok(&mut self.monitor)
    }

    /// Peers whose handshake is done and whose connection is open: the peers a
    /// round-robin send can reach.
    pub(crate) fn ready_peers(&mut self) -> Result<usize> {
        Ok(self.monitor()?.ready_count())
    }

    /// Wait until `count` peers are ready (see [`Socket::ready_peers`]), up to
    /// `timeout`; `what` names them in the timeout error. Event-driven: it wakes on
    /// the monitor's events, never sleeps.
    ///
    /// libzmq queues a peer's pipe for the socket before it reports the handshake, so
    /// once the count is reached, one look at the socket's events attaches every
    /// pipe: the next send can reach each of those peers.
    pub(crate) fn wait_for_peers(
        &mut self,
        count: usize,
        timeout: Option<Duration>,
        what: &str,
    ) -> Result<usize> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let ready = self.ready_peers()?;
            if ready >= count {
                self.poll(zmq::POLLOUT, Duration::ZERO)?;
                return Ok(ready);
            }
            self.check_stop()?;
            let slice = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(WAIT_SLICE),
                    _ => {
                        return Err(Error::timeout(format!(
                            "waited {} for {count} {what}: {ready} connected",
                            crate::duration::display(timeout.unwrap_or_default())
                        )))
                    }
                },
                None => WAIT_SLICE,
            };
            self.monitor.wait(slice)?;
        }
    }

    /// Confirm delivery (see the module docs), then close. A timeout error says how
    /// many bytes were still unread by peers after the linger period without
    /// progress; an incomplete error names the connections of a dealing socket that
    /// closed with messages in flight.
    pub(crate) fn close(mut self) -> Result<()> {
        let unread = self.drain()?;
        let role = self.role.name;
        let undelivered = self
            .in_flight
            .take()
            .filter(|in_flight| in_flight.undelivered > 0);
        let linger = self.linger;
        drop(self);
        if let Some(lost) = undelivered {
            let more = match lost.undelivered - lost.named.len() {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            return Err(Error::new(
                ErrorKind::Incomplete,
                format!(
                    "{} connection(s) of the {role} closed with messages in flight ({}{more}): what was dealt to them may be lost",
                    lost.undelivered,
                    lost.named.join(", ")
                ),
            ));
        }
        match unread {
            0 => Ok(()),
            bytes => Err(Error::timeout(format!(
                "{bytes} bytes sent by the {role} were still unread by peers, who read nothing for {}",
                crate::duration::display(linger)
            ))),
        }
    }

    /// Wait until every peer has read what we sent: as long as the peers make
    /// progress, up to the linger period without any (or after a stop). Returns the
    /// bytes still unread.
    fn drain(&mut self) -> Result<usize> {
        if let Some(in_flight) = self.in_flight.as_mut() {
            in_flight.closing = true;
        }
        let mut quiet_looks = 0;
        let mut last = None;
        let mut progress = Instant::now();
        let mut stopped: Option<Instant> = None;
        loop {
            self.watch()?;
            let unread: usize = self.monitor.peer_fds().filter_map(sys::unsent_bytes).sum();
            quiet_looks = if unread == 0 { quiet_looks + 1 } else { 0 };
            if quiet_looks >= DRAIN_QUIET_LOOKS {
                return Ok(0);
            }
            let now = Instant::now();
            if last != Some(unread) {
                last = Some(unread);
                progress = now;
            }
            if stopped.is_none() && self.stop.as_ref().is_some_and(Stop::is_requested) {
                stopped = Some(now);
            }
            // After a stop, the linger period counts from the stop, progress or not.
            let since = stopped.unwrap_or(progress);
            if now.duration_since(since) >= self.linger {
                return Ok(unread);
            }
            // Looks stay frequent: a peer that reads its last bytes and leaves is
            // judged on the last look before it left.
            std::thread::sleep(DRAIN_STEP);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // The connection events that came since the last look, for whoever
        // listens to every one (a role may end before it ever waited).
        if let Some(hook) = &self.connection_hook {
            if self.monitor.update().is_ok() {
                for event in self.monitor.take_stream() {
                    hook.call(&event);
                }
            }
        }
        if self.role.at_close == AtClose::Drop {
            let _ = self.socket.set_linger(0);
        }
        // libzmq leaves the file of an ipc endpoint behind when the process ends
        // before its I/O thread has closed the listener; remove ours, and only ours
        // (another process may have bound the path since).
        for (path, identity) in self.ipc_files.drain(..) {
            let ours = std::fs::metadata(&path).is_ok_and(|m| (m.dev(), m.ino()) == identity);
            if ours {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// The file of a bound ipc endpoint and its identity.
fn ipc_file(bound: &Endpoint) -> Option<(PathBuf, (u64, u64))> {
    let path = bound.ipc_path()?.to_path_buf();
    let meta = std::fs::metadata(&path).ok()?;
    Some((path, (meta.dev(), meta.ino())))
}

fn bind_error(endpoint: &Endpoint, e: zmq::Error) -> Error {
    let hint = match e {
        zmq::Error::ENODEV => "the host must be an address of this machine, an interface or *",
        zmq::Error::EADDRNOTAVAIL => "the address is not one of this machine's",
        _ => return Error::zmq(format!("cannot bind {endpoint}"), e),
    };
    Error::new(
        ErrorKind::Network,
        format!("cannot bind {endpoint}: {e} ({hint})"),
    )
}

fn parse_all(endpoints: &[String]) -> Result<Vec<Endpoint>> {
    endpoints.iter().map(|e| Endpoint::parse(e)).collect()
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn configure<'a>(
    socket: &mut zmq::Socket,
    options: &Options,
    mut endpoints: impl Iterator<Item = &'a Endpoint>,
) -> zmq::Result<()> {
    socket.set_linger(millis(options.linger))?;
    socket.set_sndhwm(count(options.send_hwm))?;
    socket.set_rcvhwm(count(options.recv_hwm))?;
    let max = i64::try_from(options.limits.max_message_size).unwrap_or(i64::MAX);
    socket.set_maxmsgsize(max)?;
    // A blocking send or receive returns at least once a slice, to look at the stop;
    // the deadlines of the options are kept by Socket itself.
    socket.set_sndtimeo(millis(WAIT_SLICE))?;
    socket.set_rcvtimeo(millis(WAIT_SLICE))?;
    match options.heartbeat {
        Some(interval) => {
            socket.set_heartbeat_ivl(millis(interval))?;
            socket.set_heartbeat_timeout(millis(options.heartbeat_timeout))?;
            // The peer is told to give up on us after the same time (in units of
            // 100 ms, at most 6553.5 s).
            let ttl = (options.heartbeat_timeout.as_millis() / 100).min(u128::from(u16::MAX));
            socket.set_heartbeat_ttl(i32::try_from(ttl * 100).unwrap_or(i32::MAX))?;
            // A heartbeat waiting behind data a slow peer does not take is not
            // counted against it (see src/libzmq); a peer whose host is gone is
            // then TCP's to notice: data it does not acknowledge within the same
            // time ends the connection (TCP_USER_TIMEOUT).
            sys::set_int_option(
                socket,
                ZMQ_TCP_MAXRT,
                millis(interval + options.heartbeat_timeout),
            )?;
        }
        None => socket.set_heartbeat_ivl(0)?,
    }
    socket.set_reconnect_ivl(millis(options.reconnect))?;
    socket.set_handshake_ivl(millis(options.handshake_timeout))?;
    socket.set_reconnect_ivl_max(options.reconnect_max.map_or(0, millis))?;
    let ipv6 = endpoints.any(|e| e.transport() == Transport::Tcp && e.address().starts_with('['));
    if ipv6 {
        socket.set_ipv6(true)?;
    }
    Ok(())
}

/// The endpoint libzmq actually bound (wildcard port resolved).
fn resolved(socket: &zmq::Socket, requested: &Endpoint) -> Endpoint {
    socket
        .get_last_endpoint()
        .ok()
        .and_then(|r| r.ok())
        .and_then(|text| Endpoint::parse(&text).ok())
        .unwrap_or_else(|| requested.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    static PULL: Role = Role {
        kind: zmq::PULL,
        name: "puller",
        peers: "a pusher (PUSH)",
        deals_to_one: false,
        at_close: AtClose::Drop,
        setup: Role::no_setup,
    };
    static PUSH: Role = Role {
        kind: zmq::PUSH,
        name: "pusher",
        peers: "a puller (PULL)",
        deals_to_one: true,
        at_close: AtClose::Deliver,
        setup: Role::no_setup,
    };

    /// A PUSH and a PULL socket joined over inproc.
    fn pair() -> (Socket, Socket) {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let endpoint = format!("inproc://socket-test-{n}");
        let context = zmq::Context::new();
        let options = Options::new()
            .context(context)
            .recv_timeout(Duration::from_secs(5));
        let pull = Socket::open(&PULL, &options.clone().bind(&endpoint)).unwrap();
        let push = Socket::open(&PUSH, &options.connect(&endpoint)).unwrap();
        (push, pull)
    }

    #[test]
    fn frames_arrive_as_sent_into_one_reused_message() {
        let (mut push, mut pull) = pair();
        let shapes: [&[&str]; 6] = [
            &["one"],
            &["topic", "body"],
            &["a", "b", "c"],
            &["solo"],
            &["", "x", "", "y", "z"],
            &["last", "pair"],
        ];
        for shape in shapes {
            push.send(Message::from_frames(shape.iter().copied()).unwrap())
                .unwrap();
        }
        let mut received = Message::new(Frame::empty());
        for shape in shapes {
            assert!(pull
                .recv_into(&mut received, Some(Duration::from_secs(5)))
                .unwrap());
            assert_eq!(
                received,
                Message::from_frames(shape.iter().copied()).unwrap()
            );
        }
    }

    #[test]
    fn a_wait_longer_than_a_slice_gets_a_message_sent_during_it() {
        let (mut push, mut pull) = pair();
        let sender = std::thread::spawn(move || {
            for text in ["first", "second"] {
                // Not synchronisation: each receive below must return the message
                // whenever it is sent; the pause makes its wait span several slices.
                std::thread::sleep(WAIT_SLICE * 3);
                push.send(Message::from_frames([text, "whole"]).unwrap())?;
            }
            Ok::<(), Error>(())
        });
        let mut received = Message::new(Frame::empty());
        for (wait, text) in [(None, "first"), (Some(Duration::from_secs(20)), "second")] {
            assert!(pull.recv_into(&mut received, wait).unwrap(), "{wait:?}");
            assert_eq!(
                received.to_vecs(),
                [text.as_bytes().to_vec(), b"whole".to_vec()]
            );
        }
        sender.join().unwrap().unwrap();
    }

    #[test]
    fn a_deadline_shorter_than_a_slice_is_kept() {
        let (_push, mut pull) = pair();
        let mut received = Message::new(Frame::empty());
        for wait in [
            Duration::ZERO,
            WAIT_SLICE / 5,
            WAIT_SLICE * 2 + WAIT_SLICE / 2,
        ] {
            let started = Instant::now();
            assert!(!pull.recv_into(&mut received, Some(wait)).unwrap());
            let took = started.elapsed();
            assert!(took >= wait, "{wait:?} took only {took:?}");
            assert!(
                took < wait + Duration::from_secs(5),
                "{wait:?} took {took:?}"
            );
        }
    }

    #[test]
    fn a_stop_ends_a_wait_without_deadline() {
        let stop = Stop::new();
        let context = zmq::Context::new();
        let options = Options::new()
            .context(context)
            .bind("inproc://socket-test-stop")
            .stop(stop.clone());
        let mut pull = Socket::open(&PULL, &options).unwrap();
        let (done, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut received = Message::new(Frame::empty());
            let _ = done.send(pull.recv_into(&mut received, None).map_err(|e| e.kind()));
        });
        stop.request();
        let outcome = outcome.recv_timeout(Duration::from_secs(10));
        assert_eq!(outcome, Ok(Err(ErrorKind::Interrupted)));
    }

    #[test]
    fn large_frames_handed_over_without_a_copy_arrive_whole() {
        let (mut push, mut pull) = pair();
        let big: Vec<u8> = (0..crate::frame::ZERO_COPY_THRESHOLD * 3)
            .map(|i| (i % 251) as u8)
            .collect();
        push.send(Message::with_topic("big", big.clone())).unwrap();
        let mut received = Message::new(Frame::empty());
        assert!(pull
            .recv_into(&mut received, Some(Duration::from_secs(5)))
            .unwrap());
        assert_eq!(received.to_vecs(), [b"big".to_vec(), big]);
    }
}
