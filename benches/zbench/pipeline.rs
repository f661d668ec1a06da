//! Case 1: PUSH→PULL throughput. A hand-written loop on the raw `zmq` crate against
//! [`Pusher`]/[`Puller`], same sizes, same transport, same high-water marks (the
//! default, 1000).
//!
//! Each side has its own context (one I/O thread each, as two processes would) and
//! receives on a second thread. The clock runs from the first send until the last
//! message is received and the sender is done; for zpattern "done" includes
//! [`Pusher::close`], which confirms delivery, because users pay for it. The raw
//! sender is closed only after the receiver has everything, off the clock: closing
//! it earlier loses messages over `ipc://` (libzmq issue #4660), which is what
//! zpattern's close exists to prevent.

use crate::measure::Sample;
use crate::place;
use crate::{bound_endpoint, joined, lost, BenchResult, Place, DEADLINE, DEADLINE_MS};
use std::thread;
use std::time::Instant;
use zpattern::security::{CurveClient, CurveServer, Security};
use zpattern::{Frame, Message, Options, Puller, Pusher, Receive, Transmit};

/// What one run sends.
#[derive(Clone, Debug)]
pub struct Throughput {
    /// Where the receiver binds.
    pub place: Place,
    /// Bytes per message (one frame).
    pub size: usize,
    /// Messages per run.
    pub count: u64,
    /// Whether both ends speak CURVE (the puller the server, with a key pair made
    /// for the run, letting in any client that knows its key; no ZAP handler).
    pub curve: bool,
}

/// A fresh server key pair per run, for the CURVE cases.
fn server_keys() -> BenchResult<zpattern::security::Keypair> {
    Ok(zpattern::security::Keypair::generate()?)
}

/// The byte every payload is filled with.
const FILL: u8 = 0x5a;

/// The raw `zmq` crate: `send(&[u8])` and `recv` into one reused `zmq::Message`.
pub fn raw(case: &Throughput) -> BenchResult<Sample> {
    let cores = place::cores();
    let (receiver_cpu, sender_cpu) = (cores.map(|c| c.receiver), cores.map(|c| c.sender));
    let receiving = zmq::Context::new();
    let pull = place::opened_on(receiver_cpu, || receiving.socket(zmq::PULL))?;
    pull.set_rcvtimeo(DEADLINE_MS)?;
    let sending = zmq::Context::new();
    let push = place::opened_on(sender_cpu, || sending.socket(zmq::PUSH))?;
    push.set_sndtimeo(DEADLINE_MS)?;
    if case.curve {
        let server = zmq::CurveKeyPair::new()?;
        let client = zmq::CurveKeyPair::new()?;
        pull.set_curve_server(true)?;
        pull.set_curve_secretkey(&server.secret_key)?;
        push.set_curve_serverkey(&server.public_key)?;
        push.set_curve_publickey(&client.public_key)?;
        push.set_curve_secretkey(&client.secret_key)?;
    }
    pull.bind(&case.place.bind_address())?;
    let endpoint = bound_endpoint(&pull)?;
    push.connect(&endpoint)?;
    push.send("warm-up", 0)?;
    pull.recv_msg(0)?;

    let count = case.count;
    let receiver = thread::spawn(move || -> BenchResult<(u64, Instant)> {
        let _pin = place::this_thread_on(receiver_cpu);
        let mut msg = zmq::Message::new();
        let mut bytes = 0;
        for received in 0..count {
            pull.recv(&mut msg, 0)
                .map_err(|e| lost(received, count, e))?;
            bytes += msg.len() as u64;
        }
        Ok((bytes, Instant::now()))
    });
    let payload = vec![FILL; case.size];
    let pinned = place::this_thread_on(sender_cpu);
    let start = Instant::now();
    for _ in 0..count {
        push.send(&payload[..], 0)?;
    }
    drop(pinned);
    let sent = Instant::now();
    let (bytes, received) = joined(receiver)?;
    Ok(Sample::throughput(received.max(sent) - start, count, bytes))
}

/// zpattern: `Pusher::send(Message::new(&[u8]))`, `Puller::recv_into` one reused
/// `Message`, and `Pusher::close` on the clock.
pub fn zpattern(case: &Throughput) -> BenchResult<Sample> {
    let cores = place::cores();
    let (receiver_cpu, sender_cpu) = (cores.map(|c| c.receiver), cores.map(|c| c.sender));
    let (server, client) = match case.curve {
        true => {
            let keys = server_keys()?;
            let client = CurveClient::ephemeral(*keys.public())?;
            (
                Security::CurveServer(CurveServer::without_zap(keys)),
                Security::CurveClient(client),
            )
        }
        false => (Security::Null, Security::Null),
    };
    let mut puller = place::opened_on(receiver_cpu, || {
        Puller::open(
            Options::new()
                .bind(case.place.bind_address())
                .security(server),
        )
    })?;
    let endpoint = puller.endpoints()[0].to_string();
    // Linger bounds the delivery-confirming close; the raw side's is unbounded.
    let mut pusher = place::opened_on(sender_cpu, || {
        Pusher::open(
            Options::new()
                .connect(&endpoint)
                .linger(DEADLINE)
                .security(client),
        )
    })?;
    pusher.send(Message::new("warm-up"))?;
    puller
        .recv_timeout(Some(DEADLINE))?
        .ok_or("the warm-up message never arrived")?;

    let count = case.count;
    let receiver = thread::spawn(move || -> BenchResult<(u64, Instant)> {
        let _pin = place::this_thread_on(receiver_cpu);
        let mut msg = Message::new(Frame::empty());
        let mut bytes = 0;
        for received in 0..count {
            if !puller.recv_into(&mut msg, Some(DEADLINE))? {
                return Err(lost(received, count, "timed out"));
            }
            bytes += msg.byte_len() as u64;
        }
        Ok((bytes, Instant::now()))
    });
    let payload = vec![FILL; case.size];
    let pinned = place::this_thread_on(sender_cpu);
    let start = Instant::now();
    for _ in 0..count {
        pusher.send(Message::new(&payload[..]))?;
    }
    pusher.close()?;
    drop(pinned);
    let sent = Instant::now();
    let (bytes, received) = joined(receiver)?;
    Ok(Sample::throughput(received.max(sent) - start, count, bytes))
}
