//! Ctrl-C and SIGTERM mid-stream, for each of the six binaries: the binary stops
//! (also while its input is silent), flushes what it printed, prints one summary
//! line `NAME: interrupted: sent N, received M, dropped K` on stderr and exits 130.
//! A second Ctrl-C ends a binary that is still busy at once.

use crate::support::{bind_ephemeral, run, zmq_socket, Bin, Finished, Proc, ANY, DEADLINE};
use std::time::{Duration, Instant};

/// Interrupt `proc` with `signal` and collect how it ended.
fn interrupt(mut proc: Proc, signal: libc::c_int) -> Finished {
    proc.signal(signal);
    // Wait before finishing: finishing closes stdin, and a sender that saw the end
    // of its input before the signal would rightly end with 0.
    proc.wait_with_deadline(DEADLINE);
    proc.finish().expect(130)
}

/// The summary line, which must be the last thing on stderr.
fn summary(out: &Finished) -> &str {
    let last = out.stderr.last().map(String::as_str).unwrap_or_default();
    assert!(
        last.starts_with(&format!("{}: interrupted: ", out.name)),
        "no summary at the end: {out:?}"
    );
    last
}

/// A sender that goes on for minutes, one message a millisecond.
fn endless_sender(bin: Bin, endpoint: &str) -> Proc {
    let args = [
        "--connect",
        endpoint,
        "--data",
        "tick",
        "--count",
        "1000000",
        "--interval",
        "1ms",
    ];
    run(bin, &args).start()
}

/// A receiver is interrupted mid-stream: every line it counted is on stdout.
fn receiver_mid_stream(receiver: Bin, sender: Bin, signal: libc::c_int) {
    let (mut rx, endpoint) = run(receiver, &["--bind", ANY]).bound();
    let _tx = endless_sender(sender, &endpoint);
    for _ in 0..3 {
        assert_eq!(rx.line(), "tick");
    }
    let out = interrupt(rx, signal);
    let received = out.stdout.len();
    assert!(received >= 3, "{out:?}");
    assert_eq!(
        summary(&out),
        format!(
            "{}: interrupted: sent 0, received {received}, dropped 0",
            receiver.name()
        )
    );
}

#[test]
fn zsub_interrupted_mid_stream_flushes_and_sums_up() {
    receiver_mid_stream(Bin::Zsub, Bin::Zpub, libc::SIGINT);
}

#[test]
fn zpull_interrupted_mid_stream_flushes_and_sums_up() {
    receiver_mid_stream(Bin::Zpull, Bin::Zpush, libc::SIGINT);
}

#[test]
fn sigterm_ends_a_receiver_like_ctrl_c() {
    receiver_mid_stream(Bin::Zsub, Bin::Zpub, libc::SIGTERM);
}

/// A sender reading a stdin that has gone silent is interrupted: it stops reading
/// and says how many it sent.
fn sender_on_silent_input(sender: Bin, receiver: Bin, dropped: &str) {
    let (mut rx, endpoint) = run(receiver, &["--bind", ANY]).bound();
    let mut tx = run(sender, &["--connect", &endpoint]).stdin_piped().start();
    tx.write_stdin(b"one\ntwo\nthree\n");
    for line in ["one", "two", "three"] {
        assert_eq!(rx.line(), line);
    }
    let out = interrupt(tx, libc::SIGINT);
    assert_eq!(
        summary(&out),
        format!(
            "{}: interrupted: sent 3, received 0, dropped {dropped}",
            sender.name()
        )
    );
}

#[test]
fn zpub_interrupted_on_silent_input_sums_up() {
    // A PUB socket cannot know what it dropped, and says so.
    sender_on_silent_input(Bin::Zpub, Bin::Zsub, "unknown");
}

#[test]
fn zpush_interrupted_on_silent_input_sums_up() {
    sender_on_silent_input(Bin::Zpush, Bin::Zpull, "0");
}

#[test]
fn zreq_interrupted_on_silent_input_has_printed_every_reply() {
    let (_zrep, endpoint) = run(Bin::Zrep, &["--bind", ANY]).bound();
    let mut zreq = run(Bin::Zreq, &["--connect", &endpoint])
        .stdin_piped()
        .start();
    zreq.write_stdin(b"ping\npong\n");
    assert_eq!(zreq.line(), "ping");
    assert_eq!(zreq.line(), "pong");
    let out = interrupt(zreq, libc::SIGINT);
    assert_eq!(out.lines(), ["ping", "pong"]);
    assert_eq!(
        summary(&out),
        "zreq: interrupted: sent 2, received 2, dropped 0"
    );
}

#[test]
fn zrep_interrupted_between_requests_sums_up() {
    let (mut zrep, endpoint) = run(Bin::Zrep, &["--bind", ANY]).bound();
    run(
        Bin::Zreq,
        &["--connect", &endpoint, "--data", "hi", "--count", "2"],
    )
    .start()
    .finish()
    .expect(0);
    assert_eq!(zrep.line(), "hi");
    assert_eq!(zrep.line(), "hi");
    let out = interrupt(zrep, libc::SIGINT);
    assert_eq!(out.lines(), ["hi", "hi"]);
    assert_eq!(
        summary(&out),
        "zrep: interrupted: sent 2, received 2, dropped 0"
    );
}

#[test]
fn ctrl_c_ends_a_zrep_exec_command_and_what_it_started() {
    let (mut zrep, endpoint) = run(
        Bin::Zrep,
        &["--bind", ANY, "--exec", "sleep 30 & sleep 30; wait"],
    )
    .bound();
    let _zreq = run(Bin::Zreq, &["--connect", &endpoint, "--data", "hi"]).start();
    assert_eq!(zrep.line(), "hi");
    let started = Instant::now();
    let out = interrupt(zrep, libc::SIGINT);
    assert!(started.elapsed() < Duration::from_secs(10), "{out:?}");
    assert_eq!(
        summary(&out),
        "zrep: interrupted: sent 0, received 1, dropped 0"
    );
}

#[test]
fn a_second_ctrl_c_ends_a_binary_that_is_still_lingering() {
    // The puller freezes once the stream flows: what zpush sends next stays queued,
    // and the first Ctrl-C leaves zpush delivering it for up to its --linger.
    let (mut puller, endpoint) = run(Bin::Zpull, &["--bind", ANY]).bound();
    let data = "x".repeat(10_000);
    let mut zpush = run(
        Bin::Zpush,
        &[
            "--connect",
            &endpoint,
            "--data",
            &data,
            "--count",
            "100000",
            "--linger",
            "60s",
        ],
    )
    .start();
    assert_eq!(puller.line(), data);
    puller.signal(libc::SIGSTOP);
    assert!(
        zpush
            .wait_with_deadline(Duration::from_millis(500))
            .is_none(),
        "zpush should be blocked on the frozen puller"
    );
    zpush.signal(libc::SIGINT);
    assert!(
        zpush
            .wait_with_deadline(Duration::from_millis(500))
            .is_none(),
        "the first Ctrl-C was expected to leave zpush lingering"
    );
    zpush.signal(libc::SIGINT);
    let status = zpush.wait_with_deadline(DEADLINE).expect("exits at once");
    assert_eq!(status.code(), Some(130));
    puller.signal(libc::SIGCONT);
}

#[test]
fn an_interrupted_zsub_reports_its_gaps_and_counts_them_as_dropped() {
    let context = zmq::Context::new();
    let publisher = zmq_socket(&context, zmq::XPUB);
    let endpoint = bind_ephemeral(&publisher);
    let mut zsub = run(Bin::Zsub, &["--connect", &endpoint, "--header"]).start();
    publisher.recv_bytes(0).expect("zsub subscribes");
    for seq in [0u64, 1, 3] {
        let mut header = b"ZPH\x01\0\0\0\0".to_vec();
        header.extend(5u64.to_be_bytes());
        header.extend(seq.to_be_bytes());
        header.extend([0u8; 16]);
        publisher
            .send_multipart([b"tick".to_vec(), header], 0)
            .unwrap();
    }
    for _ in 0..3 {
        assert_eq!(zsub.line(), "tick");
    }
    let out = interrupt(zsub, libc::SIGINT);
    assert_eq!(
        out.errors(),
        [
            "zsub: batch 5: incomplete: 3 items, end of stream not seen (size unknown); missing at least 1: 2",
            "zsub: interrupted: sent 0, received 3, dropped 1",
        ]
    );
}

#[test]
fn sigterm_ends_each_of_the_six_like_ctrl_c() {
    // Each binary waiting on a peer that never comes: SIGTERM ends it with the
    // summary and 130.
    for (bin, args) in [
        (Bin::Zpub, &["--data", "x"][..]),
        (Bin::Zsub, &[][..]),
        (Bin::Zreq, &["--data", "x"][..]),
        (Bin::Zrep, &[][..]),
        (Bin::Zpush, &["--data", "x"][..]),
        (Bin::Zpull, &[][..]),
    ] {
        let mut all = vec!["--bind", ANY];
        all.extend_from_slice(args);
        let (proc, _) = run(bin, &all).bound();
        let out = interrupt(proc, libc::SIGTERM);
        assert!(
            summary(&out).starts_with(&format!("{}: interrupted: sent 0, received 0", bin.name())),
            "{out:?}"
        );
    }
}
