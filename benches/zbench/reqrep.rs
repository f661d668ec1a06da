//! Case 3: REQ↔REP round trips of 64 bytes over TCP, each timed on its own. A raw
//! REQ/REP pair of the `zmq` crate against [`Requester`]/[`Replier`]; both repliers
//! echo the request back as it came.

use crate::measure::{Percentiles, Sample};
use crate::place;
use crate::{bound_endpoint, joined, BenchResult, DEADLINE, DEADLINE_MS};
use std::thread;
use std::time::Instant;
use zpattern::{Message, Options, Replier, Requester};

/// Bytes in each request (and reply).
pub const SIZE: usize = 64;

/// The raw `zmq` crate: `send(&[u8])` then `recv` into a reused `zmq::Message`; the
/// replier sends back the `zmq::Message` it received.
pub fn raw(count: u64) -> BenchResult<Sample> {
    let cores = place::cores();
    let (server_cpu, client_cpu) = (cores.map(|c| c.receiver), cores.map(|c| c.sender));
    let serving = zmq::Context::new();
    let replier = place::opened_on(server_cpu, || serving.socket(zmq::REP))?;
    replier.set_rcvtimeo(DEADLINE_MS)?;
    replier.bind("tcp://127.0.0.1:*")?;
    let endpoint = bound_endpoint(&replier)?;
    // The warm-up request and the timed ones.
    let server = thread::spawn(move || -> BenchResult<()> {
        let _pin = place::this_thread_on(server_cpu);
        for _ in 0..=count {
            let request = replier.recv_msg(0)?;
            replier.send(request, 0)?;
        }
        Ok(())
    });
    let asking = zmq::Context::new();
    let requester = place::opened_on(client_cpu, || asking.socket(zmq::REQ))?;
    requester.set_rcvtimeo(DEADLINE_MS)?;
    requester.connect(&endpoint)?;
    let payload = [b'q'; SIZE];
    let mut reply = zmq::Message::new();
    requester.send(&payload[..], 0)?;
    requester.recv(&mut reply, 0)?;

    let mut latencies = Vec::with_capacity(usize::try_from(count)?);
    let mut bytes = 0;
    let pinned = place::this_thread_on(client_cpu);
    let start = Instant::now();
    for _ in 0..count {
        let asked = Instant::now();
        requester.send(&payload[..], 0)?;
        requester.recv(&mut reply, 0)?;
        latencies.push(asked.elapsed());
        bytes += reply.len() as u64;
    }
    let elapsed = start.elapsed();
    drop(pinned);
    joined(server)?;
    Ok(Sample {
        latency: Percentiles::of(latencies),
        ..Sample::throughput(elapsed, count, bytes)
    })
}

/// zpattern: `Requester::request(Message::new(&[u8]))` against `Replier::serve`
/// with a handler that returns the request.
pub fn zpattern(count: u64) -> BenchResult<Sample> {
    let cores = place::cores();
    let (server_cpu, client_cpu) = (cores.map(|c| c.receiver), cores.map(|c| c.sender));
    let mut replier = place::opened_on(server_cpu, || {
        Replier::open(
            Options::new()
                .bind("tcp://127.0.0.1:*")
                .recv_timeout(DEADLINE),
        )
    })?;
    let endpoint = replier.endpoints()[0].to_string();
    let server = thread::spawn(move || -> BenchResult<u64> {
        let _pin = place::this_thread_on(server_cpu);
        Ok(replier.serve(Some(count + 1), Ok)?)
    });
    let mut requester = place::opened_on(client_cpu, || {
        Requester::open(Options::new().connect(&endpoint).recv_timeout(DEADLINE))
    })?;
    let payload = [b'q'; SIZE];
    requester.request(Message::new(&payload[..]))?;

    let mut latencies = Vec::with_capacity(usize::try_from(count)?);
    let mut bytes = 0;
    let pinned = place::this_thread_on(client_cpu);
    let start = Instant::now();
    for _ in 0..count {
        let asked = Instant::now();
        let reply = requester.request(Message::new(&payload[..]))?;
        latencies.push(asked.elapsed());
        bytes += reply.byte_len() as u64;
    }
    let elapsed = start.elapsed();
    drop(pinned);
    joined(server)?;
    Ok(Sample {
        latency: Percentiles::of(latencies),
        ..Sample::throughput(elapsed, count, bytes)
    })
}
