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
    // More frames than the limit: libzmq drops the sender's connection before the
    // message is whole, and zrep says so.
    let hostile = dealer(&context, &endpoint);
    let mut many: Vec<Vec<u8>> = vec![Vec::new()];
    many.extend((0..300).map(|i| format!("f{i}").into_bytes()));
    hostile.send_multipart(many, 0).unwrap();
    assert!(
        hostile.recv_multipart(0).is_err(),
        "a dropped request gets no reply"
    );
    // No envelope at all: a REP socket would take it as one and be stuck.
    let careless = dealer(&context, &endpoint);
    careless.send_multipart(["no", "delimiter"], 0).unwrap();
    assert!(
        careless.recv_multipart(0).is_err(),
        "a dropped request gets no reply"
    );
    let client = zmq_socket(&context, zmq::REQ);
    client.set_rcvtimeo(10_000).unwrap();
    client.connect(&endpoint).unwrap();
    client.send("hello", 0).unwrap();
    assert_eq!(client.recv_multipart(0).unwrap(), [b"ok hello".to_vec()]);
    let out = zrep.finish().expect(0);
    let errors = out.errors();
    let oversized = format!(
        "zrep: a peer on {endpoint} sent a message over the limits (256 frames, 1048576 bytes); dropped its connection"
    );
    assert!(errors.contains(&oversized.as_str()), "{errors:?}");
    assert!(
        errors.contains(
            &"zrep: warning: replier dropped a request without an envelope (no empty delimiter frame)"
        ),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
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
        ["zrep: warning: dropped a request: its reply would be 3002 bytes in 3001 frames, over the limits (1048576 bytes, 256 frames)"]
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
            "1s",
            "--retries",
            "1",
            "--backoff",
            "10ms",
        ],
    )
    .start();
    // First attempt: a reply of 300 frames, which costs the server its connection.
    // Second: a good one, on the requester's new connection.
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
    let oversized = format!(
        "zreq: a peer on {endpoint} sent a message over the limits (256 frames, 1048576 bytes); dropped its connection"
    );
    assert!(errors.contains(&oversized.as_str()), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("zreq: no reply within 1s; resending (attempt 2 of 2)")),
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

/// A raw ZMTP 3.0 peer: the greeting of a PUSH socket with the NULL mechanism,
/// connected over TCP to `endpoint` (`tcp://127.0.0.1:PORT`).
fn raw_pusher(endpoint: &str) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let address = endpoint.strip_prefix("tcp://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut greeting = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
    greeting.extend_from_slice(b"NULL");
    greeting.resize(64, 0);
    stream.write_all(&greeting).unwrap();
    let mut theirs = [0u8; 64];
    stream.read_exact(&mut theirs).unwrap();
    // READY, with Socket-Type PUSH.
    let mut ready = vec![5];
    ready.extend_from_slice(b"READY");
    ready.push(11);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&4u32.to_be_bytes());
    ready.extend_from_slice(b"PUSH");
    let mut command = vec![0x04, u8::try_from(ready.len()).unwrap()];
    command.extend_from_slice(&ready);
    stream.write_all(&command).unwrap();
    stream
}

#[test]
fn a_message_of_millions_of_empty_frames_is_cut_short() {
    use std::io::Write;
    let (mut zpull, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--timeout", "2s"]).bound();
    let mut peer = raw_pusher(&endpoint);
    // Two million empty frames, each saying another follows: libzmq would hold
    // them all (about 64 bytes each) waiting for the last one.
    let chunk: Vec<u8> = [0x01, 0x00].repeat(64 * 1024);
    let mut sent = 0;
    while sent < 2_000_000 {
        if peer.write_all(&chunk).is_err() {
            break; // cut off
        }
        sent += 64 * 1024;
    }
    assert!(
        sent < 2_000_000,
        "the receiver took {sent} frames of one message"
    );
    let usage = wait_all_with_usage(&mut [&mut zpull], DEADLINE).expect("zpull ends");
    let out = zpull.finish().expect(0);
    assert!(usage[0].peak_rss_kib < 64 * 1024, "{:?}", usage[0]);
    let dropped = format!(
        "zpull: a peer on {endpoint} sent a message over the limits (256 frames, 1048576 bytes); dropped its connection"
    );
    assert_eq!(out.errors(), [dropped]);
}

#[test]
fn the_open_files_limit_is_raised_to_the_hard_limit_at_start() {
    // Started with the common soft limit of 1,024 (the hard limit above it).
    let zpull = env!("CARGO_BIN_EXE_zpull");
    let script = format!("ulimit -Sn 1024 && exec {zpull} --bind {ANY} --timeout 5s");
    let (zpull, _endpoint) = crate::support::program("zpull", "sh", &["-c", &script]).bound();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", zpull.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers[0], numbers[1], "soft and hard: {line}");
    drop(zpull);
}

#[test]
fn a_connection_that_never_completes_its_handshake_is_dropped() {
    use std::io::Read;
    let (_zpull, endpoint) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--handshake-timeout",
            "300ms",
            "--timeout",
            "20s",
        ],
    )
    .bound();
    let address = endpoint.strip_prefix("tcp://").unwrap();
    let mut idle = std::net::TcpStream::connect(address).unwrap();
    idle.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    // zpull sends its greeting, then hangs up when ours never comes (an end of
    // file, or a reset; a read that times out instead means it kept us).
    let mut everything = Vec::new();
    let ended = idle.read_to_end(&mut everything);
    assert!(
        !matches!(&ended, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{ended:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the idle connection was kept for {:?}",
        started.elapsed()
    );
}
