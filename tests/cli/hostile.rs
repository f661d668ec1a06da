//! Hostile and bad input: messages of too many frames, frames over `--max-size`,
//! bytes that are not UTF-8, malformed batch headers, empty input lines and a
//! stdout that cannot be written. Each ends in a clear message and a documented
//! exit code, never a panic (the harness fails any test whose process panicked).

use crate::support::{bind_ephemeral, run, zmq_socket, Bin, Proc, ANY, DEADLINE};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// The endpoint `push` last connected to.
fn zpull_endpoint(push: &zmq::Socket) -> String {
    push.get_last_endpoint().unwrap().unwrap()
}

/// A foreign PUSH socket connected to a zpull started with `args` (plus a bind).
fn foreign_pusher(args: &[&str]) -> (Proc, zmq::Context, zmq::Socket) {
    let mut all = vec!["--bind", ANY];
    all.extend_from_slice(args);
    let (zpull, endpoint) = run(Bin::Zpull, &all).bound();
    let context = zmq::Context::new();
    let push = zmq_socket(&context, zmq::PUSH);
    push.connect(&endpoint).expect("connect");
    (zpull, context, push)
}

/// Send `message` until `receiver` has exited (it stops after one message), and
/// return its ending.
fn until_received(
    mut receiver: Proc,
    push: &zmq::Socket,
    message: &str,
) -> crate::support::Finished {
    let deadline = Instant::now() + DEADLINE;
    while receiver.try_exit().is_none() {
        assert!(
            Instant::now() < deadline,
            "the receiver never got '{message}'"
        );
        push.send(message, zmq::DONTWAIT).ok();
        thread::sleep(Duration::from_millis(20));
    }
    receiver.finish()
}

#[test]
fn a_message_of_too_many_frames_costs_its_sender_the_connection() {
    // libzmq (as zpattern builds it) counts the frames of a message as they come
    // and drops the connection past the limit, before the message is whole: a
    // flood of empty frames cannot pile up. The receiver says so; the peer may
    // reconnect, and its later messages arrive.
    let (zpull, _context, push) = foreign_pusher(&["--count", "1"]);
    let endpoint = zpull_endpoint(&push);
    let many: Vec<Vec<u8>> = (0..300).map(|i| format!("f{i}").into_bytes()).collect();
    push.send_multipart(many, 0).unwrap();
    let out = until_received(zpull, &push, "after").expect(0);
    assert_eq!(out.lines(), ["after"]);
    assert_eq!(
        out.errors(),
        [format!(
            "zpull: a peer on {endpoint} sent a message over the limits (256 frames, 1048576 bytes); dropped its connection"
        )]
    );
}

#[test]
fn a_frame_over_max_size_is_refused_and_the_peer_may_come_back() {
    // libzmq checks the size announced in the frame header and drops the connection
    // before allocating; the peer reconnects and its later messages get through.
    let (zpull, _context, push) = foreign_pusher(&["--count", "1", "--max-size", "1k"]);
    let endpoint = zpull_endpoint(&push);
    push.send(vec![b'x'; 4096], 0).unwrap();
    let out = until_received(zpull, &push, "small").expect(0);
    assert_eq!(out.lines(), ["small"]);
    assert_eq!(
        out.errors(),
        [format!(
            "zpull: a peer on {endpoint} sent a message over the limits (256 frames, 1024 bytes); dropped its connection"
        )]
    );
}

#[test]
fn bytes_that_are_not_utf8_are_shown_safely_in_every_format() {
    let expected: [(&str, &[u8]); 4] = [
        ("text", b"caf\xe9\tok"),
        ("escaped", b"caf\\xe9\tok"),
        ("hex", b"636166e9\t6f6b"),
        ("json", br#"{"frames":[{"hex":"636166e9"},"ok"]}"#),
    ];
    for (format, line) in expected {
        let (zpull, _context, push) = foreign_pusher(&["--count", "1", "--format", format]);
        push.send_multipart([&b"caf\xe9"[..], b"ok"], 0).unwrap();
        let out = zpull.finish().expect(0);
        assert_eq!(out.stdout, [line.to_vec()], "--format {format}");
    }
}

#[test]
fn text_input_passes_bytes_that_are_not_utf8_through() {
    let context = zmq::Context::new();
    let pull = zmq_socket(&context, zmq::PULL);
    let endpoint = bind_ephemeral(&pull);
    let zpush = run(Bin::Zpush, &["--connect", &endpoint])
        .stdin_bytes(&b"caf\xe9\n\n\nlast\n"[..])
        .start();
    assert_eq!(pull.recv_multipart(0).unwrap(), [b"caf\xe9".to_vec()]);
    // Empty lines carry no message.
    assert_eq!(pull.recv_multipart(0).unwrap(), [b"last".to_vec()]);
    zpush.finish().expect(0);
}

#[test]
fn malformed_headers_are_reported_and_skipped_by_zsub() {
    let context = zmq::Context::new();
    let publisher = zmq_socket(&context, zmq::XPUB);
    let endpoint = bind_ephemeral(&publisher);
    let zsub = run(
        Bin::Zsub,
        &["--connect", &endpoint, "--header", "--count", "1"],
    )
    .start();
    publisher.recv_bytes(0).expect("zsub subscribes");
    let mut valid = b"ZPH\x01\0\0\0\0".to_vec();
    valid.extend(3u64.to_be_bytes());
    valid.extend([0u8; 24]);
    let mut short = valid.clone();
    short.pop();
    let mut future = valid.clone();
    future[3] = 2;
    for header in [&b"no header"[..], &short, &future, &valid] {
        publisher.send_multipart([&b"tick"[..], header], 0).unwrap();
    }
    let out = zsub.finish().expect(0);
    assert_eq!(out.lines(), ["tick"]);
    let errors = out.errors();
    assert_eq!(
        errors[..3],
        [
            "zsub: warning: dropped a message: last frame is not a zpattern header",
            "zsub: warning: dropped a message: header is 39 bytes, expected 40",
            "zsub: warning: dropped a message: header version 2 is not supported",
        ]
    );
    assert!(
        errors.contains(
            &"zsub: 3 messages without a valid header (last: header version 2 is not supported)"
        ),
        "{errors:?}"
    );
}

#[test]
fn an_unwritable_stdout_is_a_clear_runtime_error() {
    let (zpull, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--count", "1"])
        .stdout_file(Path::new("/dev/full"))
        .bound();
    run(Bin::Zpush, &["--connect", &endpoint, "--data", "hi"])
        .start()
        .finish()
        .expect(0);
    let out = zpull.finish().expect(1);
    assert_eq!(
        out.errors(),
        ["zpull: cannot write to stdout: No space left on device (os error 28)"]
    );
}

#[test]
fn a_stdout_closed_before_the_start_discards_the_output_quietly() {
    // The shell closes descriptor 1 before zpull starts; Rust's runtime reopens it
    // on /dev/null, so the run goes on and ends as usual.
    let (pusher, endpoint) = {
        let context = zmq::Context::new();
        let pusher = zmq_socket(&context, zmq::PUSH);
        let endpoint = bind_ephemeral(&pusher);
        ((context, pusher), endpoint)
    };
    let zpull = env!("CARGO_BIN_EXE_zpull");
    let script = format!("exec {zpull} --connect {endpoint} --count 2 >&-");
    let mut proc = crate::support::program("zpull", "sh", &["-c", &script]).start();
    for text in ["one", "two"] {
        pusher.1.send(text, 0).unwrap();
    }
    assert!(
        proc.wait_with_deadline(DEADLINE).is_some(),
        "zpull did not end"
    );
    let out = proc.finish().expect(0);
    assert!(out.errors().is_empty(), "{out:?}");
}
