//! One peer, authenticated or not, must not stop a process, exhaust its memory or
//! lock others out: every resource it can make a process hold is bounded, the
//! excess is dropped and reported, and the process goes on serving everyone else.

use crate::support::{bind_ephemeral, run, wait_all_with_usage, zmq_socket, Bin, ANY, DEADLINE};
use zpattern::frame::Header;

/// A DEALER peer that talks to a zrep as a REQ would (an empty delimiter, then the
/// request), with a receive timeout.
fn dealer(context: &zmq::Context, endpoint: &str) -> zmq::Socket {
    let socket = zmq_socket(context, zmq::DEALER);
    socket.set_rcvtimeo(500).unwrap();
    socket.connect(endpoint).unwrap();
    socket
}

#[test]
fn zrep_drops_requests_that_break_a_limit_and_goes_on_serving() {
    let (zrep, endpoint) = run(
        Bin::Zrep,
        &["--bind", ANY, "--reply", "ok {}", "--count", "1"],
    )
    .bound();
    let context = zmq::Context::new();
    let hostile = dealer(&context, &endpoint);
    let mut many: Vec<Vec<u8>> = vec![Vec::new()];
    many.extend((0..300).map(|i| format!("f{i}").into_bytes()));
    hostile.send_multipart(many, 0).unwrap();
    // No envelope at all: a REP socket would take it as one and be stuck.
    hostile.send_multipart(["no", "delimiter"], 0).unwrap();
    assert!(
        hostile.recv_multipart(0).is_err(),
        "a dropped request gets no reply"
    );
    let client = zmq_socket(&context, zmq::REQ);
    client.set_rcvtimeo(10_000).unwrap();
    client.connect(&endpoint).unwrap();
    client.send("hello", 0).unwrap();
    assert_eq!(client.recv_multipart(0).unwrap(), [b"ok hello".to_vec()]);
    let out = zrep.finish().expect(0);
    assert_eq!(
        out.errors(),
        [
            "zrep: warning: replier dropped a message of 302 frames, more than the limit of 256",
            "zrep: warning: replier dropped a request without an envelope (no empty delimiter frame)",
        ]
    );
}

#[test]
fn a_reply_template_cannot_be_blown_up_by_a_request() {
    // Each TAB of the request is a frame of the reply, once per {} in the template:
    // 1,000 TABs and three {} would be 3,001 frames.
    let (zrep, endpoint) = run(
        Bin::Zrep,
        &["--bind", ANY, "--reply", "{} {} {}", "--count", "1"],
    )
    .bound();
    let context = zmq::Context::new();
    let client = dealer(&context, &endpoint);
    client
        .send_multipart([&b""[..], "\t".repeat(1000).as_bytes()], 0)
        .unwrap();
    assert!(client.recv_multipart(0).is_err());
    client.send_multipart([&b""[..], b"short"], 0).unwrap();
    client.set_rcvtimeo(10_000).unwrap();
    assert_eq!(
        client.recv_multipart(0).unwrap(),
        [Vec::new(), b"short short short".to_vec()]
    );
    let out = zrep.finish().expect(0);
    assert_eq!(
        out.errors(),
        ["zrep: warning: dropped a request: its reply would be 3002 bytes in 3001 frames, over the limits (16777216 bytes, 256 frames)"]
    );
}

#[test]
fn a_reply_of_too_many_frames_is_a_failed_attempt_for_zreq() {
    let context = zmq::Context::new();
    let server = zmq_socket(&context, zmq::ROUTER);
    let endpoint = bind_ephemeral(&server);
    let zreq = run(
        Bin::Zreq,
        &[
            "--connect",
            &endpoint,
            "--data",
            "question",
            "--timeout",
            "5s",
            "--retries",
            "1",
            "--backoff",
            "10ms",
        ],
    )
    .start();
    // First attempt: a reply of 300 frames. Second: a good one.
    let request = server.recv_multipart(0).unwrap();
    let mut bad = request[..2].to_vec();
    bad.extend((0..300).map(|i| format!("f{i}").into_bytes()));
    server.send_multipart(bad, 0).unwrap();
    let request = server.recv_multipart(0).unwrap();
    let mut good = request[..2].to_vec();
    good.push(b"answer".to_vec());
    server.send_multipart(good, 0).unwrap();
    let out = zreq.finish().expect(0);
    assert_eq!(out.lines(), ["answer"]);
    let errors = out.errors();
    assert_eq!(
        errors[0],
        "zreq: warning: requester dropped a message of 300 frames, more than the limit of 256"
    );
    assert!(
        errors[1].starts_with("zreq: no reply within 5s; resending (attempt 2 of 2)"),
        "{errors:?}"
    );
}

/// Forged batch headers (a distinct batch id each, sequence numbers near 2^24) sent
/// by one peer into `args`; the receiver's peak resident memory in KiB.
fn peak_memory_under_forged_headers(bin: Bin, args: &[&str], kind: zmq::SocketType) -> u64 {
    let mut all = vec!["--bind", ANY];
    all.extend_from_slice(args);
    let (mut receiver, endpoint) = run(bin, &all).bound();
    let context = zmq::Context::new();
    let peer = zmq_socket(&context, kind);
    peer.connect(&endpoint).unwrap();
    if kind == zmq::XPUB {
        // Wait for the subscriber's subscription: then it receives what follows.
        peer.set_rcvtimeo(30_000).unwrap();
        peer.recv_bytes(0).expect("a subscription");
    }
    for batch in 0..800u64 {
        let header = Header::item(batch, (1 << 24) - 1 - batch, None).encode();
        peer.send_multipart([&b"x"[..], &header], 0).unwrap();
    }
    let usage = wait_all_with_usage(&mut [&mut receiver], DEADLINE).expect("it ends");
    receiver.finish();
    usage[0].peak_rss_kib
}

#[test]
fn forged_batch_headers_cost_what_they_weigh_at_a_sink() {
    // Before, each cost a bitmap as long as its sequence number: 800 of them, 1.6 GB.
    let kib =
        peak_memory_under_forged_headers(Bin::Zpull, &["--sink", "--timeout", "1s"], zmq::PUSH);
    assert!(kib < 64 * 1024, "peak memory {kib} KiB");
}

#[test]
fn forged_batch_headers_cost_what_they_weigh_at_a_subscriber() {
    let kib =
        peak_memory_under_forged_headers(Bin::Zsub, &["--header", "--timeout", "1s"], zmq::XPUB);
    assert!(kib < 64 * 1024, "peak memory {kib} KiB");
}

/// The peak resident memory of process `pid` so far, in KiB.
fn peak_kib(pid: u32) -> u64 {
    crate::support::high_water_kib(&format!("/proc/{pid}/status"))
}

#[test]
fn a_subscription_flood_is_bounded_reported_and_cut_off() {
    let (mut zpub, endpoint) = run(
        Bin::Zpub,
        &[
            "--bind",
            ANY,
            "--subscribers",
            "1",
            "--linger",
            "5s",
            "--no-drop",
        ],
    )
    .stdin_piped()
    .bound();
    let context = zmq::Context::new();
    let subscriber = zmq_socket(&context, zmq::SUB);
    subscriber.set_rcvtimeo(30_000).unwrap();
    subscriber.set_subscribe(b"news").unwrap();
    subscriber.connect(&endpoint).unwrap();
    let hostile = zmq_socket(&context, zmq::XSUB);
    hostile.connect(&endpoint).unwrap();
    let before = peak_kib(zpub.id());
    // 100,000 distinct topics, as fast as the publisher takes them in.
    let flooding = std::thread::spawn(move || {
        for i in 0..100_000u32 {
            let mut topic = vec![1u8];
            topic.extend_from_slice(format!("topic-{i:08}-{}", "x".repeat(40)).as_bytes());
            if hostile.send(topic, 0).is_err() {
                break;
            }
        }
        hostile
    });
    // The publisher goes on publishing meanwhile; the subscriber gets every line.
    let reading = std::thread::spawn(move || {
        (0..2000)
            .map(|_| subscriber.recv_multipart(0).unwrap())
            .collect::<Vec<_>>()
    });
    for i in 0..2000 {
        zpub.write_stdin(format!("news\t{i}\n").as_bytes());
    }
    let received = reading.join().unwrap();
    for (i, frames) in received.iter().enumerate() {
        assert_eq!(frames, &[b"news".to_vec(), i.to_string().into_bytes()]);
    }
    let _hostile = flooding.join().unwrap();
    let grown = peak_kib(zpub.id()).saturating_sub(before);
    zpub.close_stdin();
    let out = zpub.finish().expect(0);
    assert!(
        grown < 32 * 1024,
        "the flood grew zpub by {grown} KiB: {out:?}"
    );
    let text = out.stderr_text();
    assert!(
        text.contains(
            "sent more than 1000 subscriptions or 65536 bytes of topics; dropping the excess"
        ) && text.contains("; cut it off"),
        "{text}"
    );
}
