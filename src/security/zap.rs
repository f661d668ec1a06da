//! The ZAP handler (ZeroMQ RFC 27): the [`Authenticator`] that libzmq asks, over
//! `inproc://zeromq.zap.01` in its context, whether a peer completing a handshake
//! may in, and that answers from a [`Policy`] on a thread of its own.
//!
//! When libzmq asks: for PLAIN and CURVE servers whenever a handler is bound in the
//! context; for NULL servers only when their socket has a ZAP domain
//! (`ZMQ_ZAP_DOMAIN`). A server configured with [`super::CurveServer`],
//! [`super::PlainServer`] or [`super::NullServer`] sets its domain and makes libzmq
//! refuse its peers when no handler is bound (`ZMQ_ZAP_ENFORCE_DOMAIN`), so that a
//! handler that is missing or already stopped fails closed. Without that option,
//! libzmq lets every CURVE client in when no handler is bound: keep the
//! `Authenticator` alive for as long as the servers it guards.
//!
//! Each request is read into fixed buffers (at most [`MAX_FRAMES`] frames of at
//! most 255 bytes are looked at; the rest of an oversized request is discarded,
//! never copied) and answered: 200 (with the user id: the PLAIN user name or the
//! CURVE key in Z85), 400 (refused), or 500 (a request that breaks RFC 27).

use super::policy::{Policy, Verdict, MAX_FRAMES};
use super::report::{printable, Limiter, Refusal, Report};
use crate::error::{Error, Result};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where libzmq sends ZAP requests, in each context.
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The longest frame of a request that is looked at: enough for every field RFC 27
/// defines (PLAIN names and passwords, ZAP domains and routing ids are at most 255
/// bytes; a CURVE key is 32).
const MAX_FRAME: usize = 255;

/// How long dropping an [`Authenticator`] waits for its thread.
pub const STOP_WAIT: Duration = Duration::from_secs(2);

/// How many requests were answered, and how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Answered 200.
    pub allowed: u64,
    /// Answered 400.
    pub refused: u64,
    /// Answered 500: requests that break RFC 27.
    pub malformed: u64,
}

#[derive(Default)]
struct Counters {
    allowed: AtomicU64,
    refused: AtomicU64,
    malformed: AtomicU64,
}

/// The ZAP handler of one ZeroMQ context: started once per context, answering on its
/// own thread until it is dropped.
///
/// Refusals go to the owner's callback, on the handler's thread, at most
/// [`super::RateLimit::reports`] per period, then a [`Report::Suppressed`] count. A
/// callback that panics is not called again; the handler goes on answering.
///
/// A CURVE pull socket that lets in one client key, and refuses an intruder:
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
/// use zpattern::security::{
///     Authenticator, ClientKeys, CurveClient, CurveServer, Keypair, Policy, Report,
/// };
///
/// let context = zmq::Context::new();
/// let server_keys = Keypair::generate()?;
/// let client_keys = Keypair::generate()?;
///
/// let (reports, refusals) = mpsc::channel();
/// let _authenticator = Authenticator::start(
///     &context,
///     Policy::new().curve_clients(ClientKeys::new().with(*client_keys.public())),
///     move |report: &Report| {
///         let _ = reports.send(report.to_string());
///     },
/// )?;
///
/// let mut server = context.socket(zmq::PULL)?;
/// CurveServer::new(server_keys.clone()).apply(&mut server)?;
/// server.set_rcvtimeo(10_000)?;
/// server.bind("tcp://127.0.0.1:*")?;
/// let endpoint = server.get_last_endpoint()?.map_err(|_| "endpoint is not UTF-8")?;
///
/// // An intruder knows the server's key, but its own key is not let in.
/// let mut intruder = context.socket(zmq::PUSH)?;
/// CurveClient::new(*server_keys.public(), Keypair::generate()?).apply(&mut intruder)?;
/// intruder.set_linger(0)?;
/// intruder.connect(&endpoint)?;
/// let refusal = refusals.recv_timeout(Duration::from_secs(10))?;
/// assert!(refusal.starts_with("refused CURVE from 127.0.0.1"), "{refusal}");
/// assert!(refusal.ends_with("is not allowed"), "{refusal}");
///
/// let mut client = context.socket(zmq::PUSH)?;
/// CurveClient::new(*server_keys.public(), client_keys).apply(&mut client)?;
/// client.set_linger(0)?;
/// client.connect(&endpoint)?;
/// client.send("hello", 0)?;
/// assert_eq!(server.recv_bytes(0)?, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Authenticator {
    waker: Mutex<zmq::Socket>,
    done: Mutex<Receiver<()>>,
    thread: Option<JoinHandle<()>>,
    counts: Arc<Counters>,
}

impl Authenticator {
    /// Bind the ZAP endpoint of `context` and answer its requests per `policy`,
    /// calling `on_report` with refusals.
    ///
    /// Fails if the context already has a ZAP handler (ours or another):
    /// libzmq asks only one.
    pub fn start(
        context: &zmq::Context,
        policy: Policy,
        on_report: impl FnMut(&Report) + Send + 'static,
    ) -> Result<Authenticator> {
        let socket = |kind, what: &str| {
            let socket = context
                .socket(kind)
                .map_err(|e| Error::zmq(format!("cannot open the ZAP handler's {what}"), e))?;
            // Closing never waits for anything queued.
            socket
                .set_linger(0)
                .map_err(|e| Error::zmq("cannot set up the ZAP handler", e))?;
            Ok::<_, Error>(socket)
        };
        let handler = socket(zmq::REP, "socket")?;
        // A reply that cannot go out within a second is dropped, not waited for.
        handler
            .set_sndtimeo(1000)
            .map_err(|e| Error::zmq("cannot set up the ZAP handler", e))?;
        handler.bind(ZAP_ENDPOINT).map_err(|e| match e {
            zmq::Error::EADDRINUSE => Error::zmq(
                format!(
                    "{ZAP_ENDPOINT} is already bound in this context: \
                     a context has one ZAP handler (one Authenticator)"
                ),
                e,
            ),
            _ => Error::zmq(format!("cannot bind the ZAP handler to {ZAP_ENDPOINT}"), e),
        })?;
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let stop_endpoint = format!(
            "inproc://zpattern-zap-stop-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let wake = socket(zmq::PAIR, "stop signal")?;
        let waker = socket(zmq::PAIR, "stop signal")?;
        wake.bind(&stop_endpoint)
            .and_then(|()| waker.connect(&stop_endpoint))
            .map_err(|e| Error::zmq("cannot set up the ZAP handler's stop signal", e))?;
        let counts = Arc::new(Counters::default());
        let (done_tx, done) = mpsc::channel();
        let serving = Serving {
            handler,
            wake,
            policy,
            callback: Some(Box::new(on_report)),
            counts: Arc::clone(&counts),
        };
        let thread = std::thread::Builder::new()
            .name("zap-handler".into())
            .spawn(move || {
                serving.run();
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::io("cannot start the ZAP handler's thread", e))?;
        Ok(Authenticator {
            waker: Mutex::new(waker),
            done: Mutex::new(done),
            thread: Some(thread),
            counts,
        })
    }

    /// How many requests were answered so far, and how.
    pub fn counts(&self) -> Counts {
        Counts {
            allowed: self.counts.allowed.load(Ordering::Relaxed),
            refused: self.counts.refused.load(Ordering::Relaxed),
            malformed: self.counts.malformed.load(Ordering::Relaxed),
        }
    }

    /// Stop answering, as dropping does; `false` if the thread did not end within
    /// [`STOP_WAIT`] (a report callback that blocks), in which case it is left to
    /// end on its own.
    pub fn stop(mut self) -> bool {
        self.shutdown()
    }

    fn shutdown(&mut self) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        if let Ok(waker) = self.waker.get_mut() {
            let _ = waker.send("", zmq::DONTWAIT);
        }
        let ended = match self.done.get_mut() {
            Ok(done) => !matches!(done.recv_timeout(STOP_WAIT), Err(RecvTimeoutError::Timeout)),
            Err(_) => false,
        };
        if ended {
            let _ = thread.join();
        }
        ended
    }
}

impl Drop for Authenticator {
    /// Stops the thread (within [`STOP_WAIT`]), which reports what the rate limit
    /// held back, unbinds the ZAP endpoint and closes its socket.
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("running", &self.thread.is_some())
            .field("counts", &self.counts())
            .finish()
    }
}

type Callback = Box<dyn FnMut(&Report) + Send>;

/// What the handler's thread owns.
struct Serving {
    handler: zmq::Socket,
    wake: zmq::Socket,
    policy: Policy,
    callback: Option<Callback>,
    counts: Arc<Counters>,
}

/// One request as read: the first [`MAX_FRAMES`] frames, each cut at
/// [`MAX_FRAME`] bytes.
struct Request {
    frames: [[u8; MAX_FRAME]; MAX_FRAMES],
    lengths: [usize; MAX_FRAMES],
    /// Frames in the request, including those not kept.
    count: usize,
    /// Whether a kept frame was longer than [`MAX_FRAME`].
    oversized: bool,
}

impl Serving {
    fn run(mut self) {
        let mut limiter = Limiter::new(self.policy.rate_limit);
        let mut request = Request {
            frames: [[0; MAX_FRAME]; MAX_FRAMES],
            lengths: [0; MAX_FRAMES],
            count: 0,
            oversized: false,
        };
        loop {
            let timeout = limiter.deadline().map_or(-1, |deadline| {
                let wait = deadline.saturating_duration_since(Instant::now());
                i64::try_from(wait.as_millis()).unwrap_or(i64::MAX).max(1)
            });
            let (request_ready, stop) = {
                let mut items = [
                    self.handler.as_poll_item(zmq::POLLIN),
                    self.wake.as_poll_item(zmq::POLLIN),
                ];
                match zmq::poll(&mut items, timeout) {
                    Ok(_) => (items[0].is_readable(), items[1].is_readable()),
                    Err(zmq::Error::EINTR) => (false, false),
                    Err(_) => break,
                }
            };
            if stop {
                break;
            }
            if request_ready {
                match self.answer(&mut request) {
                    Ok(Some(refusal)) => {
                        let callback = &mut self.callback;
                        limiter.offer(Instant::now(), refusal, &mut |r| report(callback, r));
                    }
                    Ok(None) | Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => {}
                    Err(_) => break,
                }
            }
            let callback = &mut self.callback;
            limiter.tick(Instant::now(), &mut |r| report(callback, r));
        }
        let callback = &mut self.callback;
        limiter.flush(&mut |r| report(callback, r));
        let _ = self.handler.unbind(ZAP_ENDPOINT);
    }

    /// Read one request, answer it, and say what was refused.
    fn answer(&mut self, request: &mut Request) -> zmq::Result<Option<Refusal>> {
        read_request(&self.handler, request)?;
        let kept = request.count.min(MAX_FRAMES);
        let frames: Vec<&[u8]> = (0..kept)
            .map(|i| &request.frames[i][..request.lengths[i]])
            .collect();
        let verdict = if request.oversized {
            Verdict::Malformed("a frame longer than 255 bytes")
        } else if request.count > MAX_FRAMES {
            Verdict::Malformed("more than 8 frames")
        } else {
            self.policy.decide(&frames)
        };
        let id = frames.get(1).copied().unwrap_or(b"");
        let (status, text, user_id, metadata): (&[u8], &[u8], &[u8], &[u8]) = match &verdict {
            Verdict::Allow { user_id, metadata } => (b"200", b"OK", user_id, metadata),
            Verdict::Refuse(_) => (b"400", b"No access", b"", b""),
            Verdict::Malformed(_) => (b"500", b"Malformed request", b"", b""),
        };
        let reply: [&[u8]; 6] = [b"1.0", id, status, text, user_id, metadata];
        let counter = match verdict {
            Verdict::Allow { .. } => &self.counts.allowed,
            Verdict::Refuse(_) => &self.counts.refused,
            Verdict::Malformed(_) => &self.counts.malformed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let sent = self.handler.send_multipart(reply, 0);
        let field = |i: usize| printable(frames.get(i).copied().unwrap_or(b""));
        let refusal = |status, reason| Refusal {
            address: field(3),
            mechanism: field(5),
            domain: field(2),
            status,
            reason,
        };
        let refused = match verdict {
            Verdict::Allow { .. } => None,
            Verdict::Refuse(reason) => Some(refusal(400, reason)),
            Verdict::Malformed(what) => Some(refusal(500, super::Reason::Malformed(what))),
        };
        // The request's password is not kept beyond its answer.
        request.frames.iter_mut().for_each(|f| f.fill(0));
        sent.map(|()| refused)
    }
}

/// Read the frames of one request into `request`, keeping what fits.
fn read_request(handler: &zmq::Socket, request: &mut Request) -> zmq::Result<()> {
    request.count = 0;
    request.oversized = false;
    let mut discard = [0u8; 1];
    loop {
        let index = request.count;
        if index < MAX_FRAMES {
            let size = handler.recv_into(&mut request.frames[index], zmq::DONTWAIT)?;
            request.lengths[index] = size.min(MAX_FRAME);
            request.oversized |= size > MAX_FRAME;
        } else {
            handler.recv_into(&mut discard, zmq::DONTWAIT)?;
        }
        request.count += 1;
        if !handler.get_rcvmore()? {
            return Ok(());
        }
    }
}

/// Hand `report` to the owner's callback; a callback that panics is dropped.
fn report(callback: &mut Option<Callback>, report: &Report) {
    if let Some(f) = callback {
        if catch_unwind(AssertUnwindSafe(|| f(report))).is_err() {
            *callback = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{
        AddressRefusal, ClientKeys, CurveClient, CurveServer, Keypair, NullServer, Passwords,
        Plain, PlainServer, RateLimit, Reason,
    };
    use std::sync::mpsc::Receiver;

    /// Every wait of these tests ends by then.
    const DEADLINE: Duration = Duration::from_secs(10);

    /// A handler with `policy` whose reports arrive on the receiver.
    fn start(context: &zmq::Context, policy: Policy) -> (Authenticator, Receiver<Report>) {
        let (tx, rx) = mpsc::channel();
        let auth = Authenticator::start(context, policy, move |r: &Report| {
            let _ = tx.send(r.clone());
        })
        .unwrap();
        (auth, rx)
    }

    /// A REQ socket speaking ZAP to the handler directly, as libzmq does.
    fn zap_client(context: &zmq::Context) -> zmq::Socket {
        let req = context.socket(zmq::REQ).unwrap();
        req.set_linger(0).unwrap();
        req.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
        req.connect(ZAP_ENDPOINT).unwrap();
        req
    }

    fn ask(req: &zmq::Socket, frames: &[&[u8]]) -> Vec<Vec<u8>> {
        req.send_multipart(frames, 0).unwrap();
        req.recv_multipart(0).unwrap()
    }

    fn request<'a>(
        address: &'a [u8],
        mechanism: &'a [u8],
        credentials: &[&'a [u8]],
    ) -> Vec<&'a [u8]> {
        let mut frames: Vec<&[u8]> = vec![b"1.0", b"7", b"global", address, b"", mechanism];
        frames.extend_from_slice(credentials);
        frames
    }

    fn refused(reports: &Receiver<Report>) -> Refusal {
        match reports.recv_timeout(DEADLINE) {
            Ok(Report::Refused(refusal)) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn requests_are_answered_per_policy_and_refusals_reported() {
        let context = zmq::Context::new();
        let policy = Policy::new()
            .deny("10.0.0.0/8".parse().unwrap())
            .passwords(Passwords::parse("admin=secret", "pw").unwrap())
            .curve_clients(ClientKeys::new());
        let (auth, reports) = start(&context, policy);
        let req = zap_client(&context);

        let reply = ask(&req, &request(b"127.0.0.1", b"NULL", &[]));
        let expected: [&[u8]; 6] = [b"1.0", b"7", b"200", b"OK", b"", b""];
        assert_eq!(reply, expected);

        let reply = ask(&req, &request(b"10.1.1.1", b"NULL", &[]));
        assert_eq!(reply[2], b"400");
        let refusal = refused(&reports);
        assert_eq!(refusal.reason, Reason::Address(AddressRefusal::Denied));
        assert_eq!(
            refusal.to_string(),
            "refused NULL from 10.1.1.1 (domain global): address denied"
        );

        let reply = ask(&req, &request(b"::1", b"PLAIN", &[b"admin", b"secret"]));
        assert_eq!((&reply[2][..], &reply[4][..]), (&b"200"[..], &b"admin"[..]));
        let reply = ask(&req, &request(b"::1", b"PLAIN", &[b"admin", b"hunter2"]));
        assert_eq!(reply[2], b"400");
        let shown = refused(&reports).to_string();
        assert_eq!(
            shown,
            "refused PLAIN from ::1 (domain global): wrong password for user \"admin\""
        );

        let key = Keypair::generate().unwrap();
        let reply = ask(&req, &request(b"::1", b"CURVE", &[key.public().as_bytes()]));
        assert_eq!(reply[2], b"400");
        assert_eq!(refused(&reports).reason, Reason::UnknownKey(*key.public()));

        assert_eq!(
            auth.counts(),
            Counts {
                allowed: 2,
                refused: 3,
                malformed: 0
            }
        );
    }

    #[test]
    fn malformed_requests_get_500_and_the_handler_goes_on() {
        let context = zmq::Context::new();
        let (auth, reports) = start(&context, Policy::new());
        let req = zap_client(&context);
        let long = vec![b'x'; 300];
        let mut many = request(b"::1", b"NULL", &[]);
        many.extend([&b"extra"[..]; 6]);
        let mut old = request(b"::1", b"NULL", &[]);
        old[0] = b"0.9";
        let cases: [(Vec<&[u8]>, &str); 4] = [
            (vec![b"1.0", b"7", b"", b"::1"], "fewer than 6 frames"),
            (old, "version is not 1.0"),
            (
                request(b"::1", b"PLAIN", &[b"admin", &long]),
                "a frame longer than 255 bytes",
            ),
            (many, "more than 8 frames"),
        ];
        for (frames, what) in cases {
            let reply = ask(&req, &frames);
            assert_eq!(reply[..3], [&b"1.0"[..], b"7", b"500"]);
            let refusal = refused(&reports);
            assert_eq!(
                (refusal.status, refusal.reason),
                (500, Reason::Malformed(what))
            );
        }
        // Even one frame gets an answer, with an empty request id.
        assert_eq!(ask(&req, &[b"junk"])[..3], [&b"1.0"[..], b"", b"500"]);
        assert_eq!(ask(&req, &request(b"::1", b"NULL", &[]))[2], b"200");
        assert_eq!(auth.counts().malformed, 5);
    }

    #[test]
    fn refusals_beyond_the_rate_are_counted_then_summarised() {
        let context = zmq::Context::new();
        let limit = RateLimit {
            reports: 3,
            per: Duration::from_millis(200),
        };
        let policy = Policy::new().deny("::1".parse().unwrap()).rate_limit(limit);
        let (_auth, reports) = start(&context, policy);
        let req = zap_client(&context);
        for _ in 0..10 {
            assert_eq!(ask(&req, &request(b"::1", b"NULL", &[]))[2], b"400");
        }
        for _ in 0..3 {
            refused(&reports);
        }
        // The count comes when the period ends, with no request to prompt it.
        match reports.recv_timeout(DEADLINE) {
            Ok(Report::Suppressed { count, within }) => {
                // A slow machine may have opened a second period within the ten.
                assert!((1..=7).contains(&count), "{count}");
                assert_eq!(within, limit.per);
            }
            other => panic!("expected a count, got {other:?}"),
        }
    }

    #[test]
    fn a_context_has_one_handler() {
        let context = zmq::Context::new();
        let (_auth, _) = start(&context, Policy::new());
        let e = Authenticator::start(&context, Policy::new(), |_: &Report| {}).unwrap_err();
        assert_eq!(
            e.to_string(),
            "inproc://zeromq.zap.01 is already bound in this context: \
             a context has one ZAP handler (one Authenticator): Address already in use"
        );
        // Another context has its own.
        let other = zmq::Context::new();
        let (_other_auth, _) = start(&other, Policy::new());
    }

    #[test]
    fn dropping_stops_the_thread_promptly_and_frees_the_endpoint() {
        let context = zmq::Context::new();
        let limit = RateLimit {
            reports: 1,
            per: Duration::from_secs(3600),
        };
        let policy = Policy::new().deny("::1".parse().unwrap()).rate_limit(limit);
        let (auth, reports) = start(&context, policy);
        let req = zap_client(&context);
        for _ in 0..3 {
            ask(&req, &request(b"::1", b"NULL", &[]));
        }
        let began = Instant::now();
        assert!(auth.stop(), "the thread ended");
        assert!(
            began.elapsed() < Duration::from_secs(1),
            "{:?}",
            began.elapsed()
        );
        // What the rate limit held back is told at the end.
        refused(&reports);
        match reports.recv_timeout(DEADLINE) {
            Ok(Report::Suppressed { count: 2, .. }) => {}
            other => panic!("expected a count of 2, got {other:?}"),
        }
        // The endpoint is free for a new handler at once.
        let (_again, _) = start(&context, Policy::new());
    }

    #[test]
    fn a_panicking_callback_is_dropped_and_answers_go_on() {
        let context = zmq::Context::new();
        let policy = Policy::new().deny("::1".parse().unwrap());
        let auth = Authenticator::start(&context, policy, |_: &Report| panic!("callback")).unwrap();
        let req = zap_client(&context);
        for _ in 0..3 {
            assert_eq!(ask(&req, &request(b"::1", b"NULL", &[]))[2], b"400");
        }
        assert_eq!(auth.counts().refused, 3);
    }

    /// A server socket of `kind` bound on loopback TCP, with its endpoint.
    fn server(
        context: &zmq::Context,
        security: impl FnOnce(&mut zmq::Socket),
    ) -> (zmq::Socket, String) {
        let mut socket = context.socket(zmq::PULL).unwrap();
        socket.set_linger(0).unwrap();
        socket.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
        security(&mut socket);
        socket.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = socket.get_last_endpoint().unwrap().unwrap();
        (socket, endpoint)
    }

    fn client(
        context: &zmq::Context,
        endpoint: &str,
        security: impl FnOnce(&mut zmq::Socket),
    ) -> zmq::Socket {
        let mut socket = context.socket(zmq::PUSH).unwrap();
        socket.set_linger(0).unwrap();
        socket.set_sndtimeo(DEADLINE.as_millis() as i32).unwrap();
        security(&mut socket);
        socket.connect(endpoint).unwrap();
        socket
    }

    #[test]
    fn null_peers_are_checked_by_address() {
        let context = zmq::Context::new();
        let (_auth, reports) = start(&context, Policy::new().deny("127.0.0.1".parse().unwrap()));
        let (_server, endpoint) = server(&context, |s| NullServer::new().apply(s).unwrap());
        let _client = client(&context, &endpoint, |_| {});
        let refusal = refused(&reports);
        assert_eq!(refusal.address, "127.0.0.1");
        assert_eq!(refusal.domain, "zpattern");

        let context = zmq::Context::new();
        let (_auth, _) = start(
            &context,
            Policy::new().allow("127.0.0.0/8".parse().unwrap()),
        );
        let (server, endpoint) = server(&context, |s| NullServer::new().apply(s).unwrap());
        let client = client(&context, &endpoint, |_| {});
        client.send("in", 0).unwrap();
        assert_eq!(server.recv_bytes(0).unwrap(), b"in");
    }

    #[test]
    fn plain_clients_need_the_right_password() {
        let context = zmq::Context::new();
        let passwords = Passwords::parse("admin=secret", "pw").unwrap();
        let (_auth, reports) = start(&context, Policy::new().passwords(passwords));
        let (server, endpoint) = server(&context, |s| PlainServer::new().apply(s).unwrap());
        let _wrong = client(&context, &endpoint, |s| {
            Plain::new("admin", "hunter2").apply(s).unwrap()
        });
        let refusal = refused(&reports);
        assert_eq!(refusal.reason, Reason::WrongPassword("admin".into()));
        assert!(!format!("{refusal:?} {refusal}").contains("hunter2"));
        let right = client(&context, &endpoint, |s| {
            Plain::new("admin", "secret").apply(s).unwrap()
        });
        right.send("in", 0).unwrap();
        let mut msg = server.recv_msg(0).unwrap();
        assert_eq!(&msg[..], b"in");
        assert_eq!(msg.gets("User-Id"), Some("admin"));
    }

    #[test]
    fn curve_clients_need_an_allowed_key_and_bring_their_metadata() {
        let context = zmq::Context::new();
        let server_keys = Keypair::generate().unwrap();
        let mut cert = crate::security::Certificate::generate().unwrap();
        cert.set_meta("name", "cat").unwrap();
        let mut keys = ClientKeys::new();
        keys.insert_certificate(&cert);
        let (_auth, reports) = start(&context, Policy::new().curve_clients(keys));
        let (server, endpoint) = server(&context, |s| {
            CurveServer::new(server_keys.clone()).apply(s).unwrap()
        });
        let stranger = Keypair::generate().unwrap();
        let _intruder = client(&context, &endpoint, |s| {
            CurveClient::new(*server_keys.public(), stranger.clone())
                .apply(s)
                .unwrap()
        });
        assert_eq!(
            refused(&reports).reason,
            Reason::UnknownKey(*stranger.public())
        );
        let known = client(&context, &endpoint, |s| {
            let keypair = cert.keypair().unwrap();
            CurveClient::new(*server_keys.public(), keypair)
                .apply(s)
                .unwrap()
        });
        known.send("in", 0).unwrap();
        let mut msg = server.recv_msg(0).unwrap();
        assert_eq!(&msg[..], b"in");
        assert_eq!(msg.gets("name"), Some("cat"));
        let z85 = cert.public_key().to_z85();
        assert_eq!(msg.gets("User-Id"), Some(z85.as_str()));
    }

    /// A PAIR socket receiving the handshake events of `socket`.
    fn watch_handshakes(context: &zmq::Context, socket: &zmq::Socket) -> zmq::Socket {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let endpoint = format!("inproc://zap-test-monitor-{n}");
        let events = zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as i32
            | zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as i32
            | zmq::SocketEvent::HANDSHAKE_SUCCEEDED as i32;
        socket.monitor(&endpoint, events).unwrap();
        let monitor = context.socket(zmq::PAIR).unwrap();
        monitor.set_linger(0).unwrap();
        monitor.set_rcvtimeo(DEADLINE.as_millis() as i32).unwrap();
        monitor.connect(&endpoint).unwrap();
        monitor
    }

    fn next_event(monitor: &zmq::Socket) -> zmq::SocketEvent {
        let frames = monitor.recv_multipart(0).unwrap();
        zmq::SocketEvent::from_raw(u16::from_le_bytes([frames[0][0], frames[0][1]]))
    }

    #[test]
    fn servers_that_ask_zap_refuse_everyone_when_no_handler_runs() {
        use crate::security::Security;
        let context = zmq::Context::new();
        let server_keys = Keypair::generate().unwrap();
        let cases = [
            (
                Security::CurveServer(CurveServer::new(server_keys.clone())),
                Security::CurveClient(CurveClient::ephemeral(*server_keys.public()).unwrap()),
            ),
            (
                Security::PlainServer(PlainServer::new()),
                Security::Plain(Plain::new("admin", "secret")),
            ),
            (Security::NullServer(NullServer::new()), Security::Null),
        ];
        for (server_side, client_side) in cases {
            assert!(server_side.needs_authenticator());
            let (server, endpoint) = server(&context, |s| server_side.apply(s).unwrap());
            let monitor = watch_handshakes(&context, &server);
            let _client = client(&context, &endpoint, |s| client_side.apply(s).unwrap());
            let event = next_event(&monitor);
            assert_eq!(
                event,
                zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
                "{server_side:?}"
            );
        }
    }

    #[test]
    fn a_curve_server_without_zap_lets_any_client_in_whatever_runs() {
        let context = zmq::Context::new();
        // This handler would refuse every CURVE client, if it were asked.
        let (auth, _) = start(&context, Policy::new().curve_clients(ClientKeys::new()));
        let server_keys = Keypair::generate().unwrap();
        let (server, endpoint) = server(&context, |s| {
            CurveServer::without_zap(server_keys.clone())
                .apply(s)
                .unwrap()
        });
        let client = client(&context, &endpoint, |s| {
            CurveClient::ephemeral(*server_keys.public())
                .unwrap()
                .apply(s)
                .unwrap()
        });
        client.send("in", 0).unwrap();
        assert_eq!(server.recv_bytes(0).unwrap(), b"in");
        assert_eq!(auth.counts(), Counts::default());
    }
}
