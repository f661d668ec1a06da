//! Case 2: PUB→SUB throughput of `[topic (10 B), body (64 B)]` messages to one
//! subscriber of that topic, over TCP. A raw PUB/SUB pair of the `zmq` crate against
//! [`Publisher`]/[`Subscriber`].
//!
//! Both sides run with unlimited high-water marks, so that every message is
//! delivered and the figure counts delivered messages (with the default HWM a fast
//! publisher drops most of them). The clock runs as in case 1, with
//! [`Publisher::close`] on it.

use crate::measure::Sample;
use crate::place;
use crate::{bound_endpoint, joined, lost, BenchResult, DEADLINE, DEADLINE_MS};
use std::thread;
use std::time::Instant;
use zpattern::{Frame, Message, Options, Publisher, Receive, Subscriber, Transmit};

/// The topic every message carries and the subscriber subscribes to: 10 bytes.
pub const TOPIC: &[u8] = b"weather.eu";
/// Bytes in each message body.
pub const BODY_SIZE: usize = 64;

/// The raw `zmq` crate: `send(topic, SNDMORE)`, `send(body)`; two `recv`s into two
/// reused `zmq::Message`s.
pub fn raw(count: u64) -> BenchResult<Sample> {
    let cores = place::cores();
    let (receiver_cpu, sender_cpu) = (cores.map(|c| c.receiver), cores.map(|c| c.sender));
    let publishing = zmq::Context::new();
    let publisher = place::opened_on(sender_cpu, || publishing.socket(zmq::PUB))?;
    publisher.set_sndhwm(0)?;
    publisher.bind("tcp://127.0.0.1:*")?;
    let endpoint = bound_endpoint(&publisher)?;
    let subscribing = zmq::Context::new();
    let subscriber = place::opened_on(receiver_cpu, || subscribing.socket(zmq::SUB))?;
    subscriber.set_rcvhwm(0)?;
    subscriber.set_rcvtimeo(DEADLINE_MS)?;
    subscriber.set_subscribe(TOPIC)?;
    subscriber.connect(&endpoint)?;
    raw_join(&publisher, &subscriber)?;

    let receiver = thread::spawn(move || -> BenchResult<(u64, Instant)> {
        let _pin = place::this_thread_on(receiver_cpu);
        let (mut topic, mut body) = (zmq::Message::new(), zmq::Message::new());
        let mut bytes = 0;
        for received in 0..count {
            subscriber
                .recv(&mut topic, 0)
                .and_then(|()| subscriber.recv(&mut body, 0))
                .map_err(|e| lost(received, count, e))?;
            bytes += (topic.len() + body.len()) as u64;
        }
        Ok((bytes, Instant::now()))
    });
    let body = [b'b'; BODY_SIZE];
    let pinned = place::this_thread_on(sender_cpu);
    let start = Instant::now();
    for _ in 0..count {
        publisher.send(TOPIC, zmq::SNDMORE)?;
        publisher.send(&body[..], 0)?;
    }
    drop(pinned);
    let sent = Instant::now();
    let (bytes, received) = joined(receiver)?;
    Ok(Sample::throughput(received.max(sent) - start, count, bytes))
}

/// A plain PUB cannot see its subscribers: publish until one message gets through,
/// then a marker, and read up to the marker, so the timed stream starts clean.
fn raw_join(publisher: &zmq::Socket, subscriber: &zmq::Socket) -> BenchResult<()> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        publisher.send(TOPIC, zmq::SNDMORE)?;
        publisher.send("hello", 0)?;
        if subscriber.poll(zmq::POLLIN, 1)? > 0 {
            break;
        }
        if Instant::now() >= deadline {
            return Err("the raw subscriber never received a message".into());
        }
    }
    publisher.send(TOPIC, zmq::SNDMORE)?;
    publisher.send("go", 0)?;
    let mut frame = zmq::Message::new();
    loop {
        subscriber.recv(&mut frame, 0)?;
        subscriber.recv(&mut frame, 0)?;
        if &frame[..] == b"go" {
            return Ok(());
        }
    }
}

/// zpattern: `Publisher::send(Message::with_topic(..))` after
/// `wait_for_subscribers`, `Subscriber::recv_into` one reused `Message`, and
/// `Publisher::close` on the clock.
pub fn zpattern(count: u64) -> BenchResult<Sample> {
    let cores = place::cores();
    let (receiver_cpu, sender_cpu) = (cores.map(|c| c.receiver), cores.map(|c| c.sender));
    // Linger bounds the delivery-confirming close; the raw side's is unbounded.
    let mut publisher = place::opened_on(sender_cpu, || {
        Publisher::open(
            Options::new()
                .bind("tcp://127.0.0.1:*")
                .hwm(0)
                .linger(DEADLINE),
        )
    })?;
    let endpoint = publisher.endpoints()[0].to_string();
    let mut subscriber = place::opened_on(receiver_cpu, || {
        Subscriber::open(Options::new().connect(&endpoint).hwm(0))
    })?;
    subscriber.subscribe(TOPIC)?;
    publisher.wait_for_subscribers(1, Some(DEADLINE))?;
    publisher.send(Message::with_topic(TOPIC, "hello"))?;
    subscriber
        .recv_timeout(Some(DEADLINE))?
        .ok_or("the warm-up message never arrived")?;

    let receiver = thread::spawn(move || -> BenchResult<(u64, Instant)> {
        let _pin = place::this_thread_on(receiver_cpu);
        let mut msg = Message::new(Frame::empty());
        let mut bytes = 0;
        for received in 0..count {
            if !subscriber.recv_into(&mut msg, Some(DEADLINE))? {
                return Err(lost(received, count, "timed out"));
            }
            bytes += msg.byte_len() as u64;
        }
        Ok((bytes, Instant::now()))
    });
    let body = [b'b'; BODY_SIZE];
    let pinned = place::this_thread_on(sender_cpu);
    let start = Instant::now();
    for _ in 0..count {
        publisher.send(Message::with_topic(TOPIC, &body[..]))?;
    }
    publisher.close()?;
    drop(pinned);
    let sent = Instant::now();
    let (bytes, received) = joined(receiver)?;
    Ok(Sample::throughput(received.max(sent) - start, count, bytes))
}
