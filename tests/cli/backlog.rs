//! A receiver that is behind its sender keeps everything the sender sent, also once
//! the sender is gone: nothing waiting for it in the kernel is lost when the
//! connection ends, whatever ends it (the sender's exit, a reset provoked by a
//! heartbeat, heartbeat timeouts while the receiver is not reading).

use crate::support::{run, zmq_socket, Bin, TempDir, ANY, DEADLINE};
use std::time::Instant;

/// How many messages the sender leaves behind: far more than the receiver's queue
/// (`--hwm 10`) holds, so most of them wait in the kernel when the sender exits.
const BACKLOG: usize = 400;

/// A zpull reading 200 messages a second, with heartbeats every 100 ms, bound to
/// `bind`; a plain ZeroMQ PUSH socket sends it the whole backlog and closes at once.
/// Before libzmq's stream engine was fixed, the first heartbeat after the sender's
/// exit reset the connection (TCP) or the exit itself hung it up (ipc), and what the
/// kernel still held was dropped unread: zpull received its queue's worth and no more,
/// or aborted on an assertion.
fn a_reader_behind_a_departed_sender_gets_everything(bind: &str) {
    let (zpull, endpoint) = run(
        Bin::Zpull,
        &[
            "--bind",
            bind,
            "--hwm",
            "10",
            "--rate",
            "200",
            "--heartbeat",
            "100ms",
            "--heartbeat-timeout",
            "300ms",
            "--timeout",
            "3s",
        ],
    )
    .bound();
    let context = zmq::Context::new();
    let push = zmq_socket(&context, zmq::PUSH);
    push.set_linger(5_000).unwrap();
    push.connect(&endpoint).unwrap();
    let started = Instant::now();
    for i in 0..BACKLOG {
        push.send(format!("{i:04} {}", "x".repeat(100)).as_bytes(), 0)
            .unwrap();
    }
    drop(push);
    drop(context); // waits until the messages are in the kernel, then closes
    assert!(started.elapsed() < DEADLINE);
    let out = zpull.finish().expect(0);
    let expected: Vec<String> = (0..BACKLOG)
        .map(|i| format!("{i:04} {}", "x".repeat(100)))
        .collect();
    assert_eq!(out.lines(), expected, "{out:?}");
}

#[test]
fn a_reader_behind_a_departed_sender_gets_everything_over_tcp() {
    a_reader_behind_a_departed_sender_gets_everything(ANY);
}

#[test]
fn a_reader_behind_a_departed_sender_gets_everything_over_ipc() {
    let dir = TempDir::new();
    a_reader_behind_a_departed_sender_gets_everything(&dir.ipc("behind.sock"));
}

/// A sender whose receiver is slower than its heartbeat timeout, with messages too
/// large for the kernel buffers to hold the backlog: the PINGs wait behind data the
/// receiver is not taking yet, and the receiver stops reading for longer than the
/// timeout. Neither end may take that for a dead peer: every message arrives, and
/// the sender exits 0 because its peer kept reading.
#[test]
fn backpressure_longer_than_the_heartbeat_timeout_cuts_nobody_off() {
    let heartbeat = ["--heartbeat", "100ms", "--heartbeat-timeout", "300ms"];
    let mut args = vec![
        "--bind",
        ANY,
        "--hwm",
        "2",
        "--rate",
        "20",
        "--timeout",
        "3s",
    ];
    args.extend_from_slice(&heartbeat);
    let (zpull, endpoint) = run(Bin::Zpull, &args).bound();
    let lines: Vec<String> = (0..40)
        .map(|i| format!("{i:02}{}", "y".repeat(64 * 1024)))
        .collect();
    let mut args = vec!["--connect", &endpoint, "--hwm", "2"];
    args.extend_from_slice(&heartbeat);
    let zpush = run(Bin::Zpush, &args).stdin_lines(&lines).start();
    let zpush = zpush.finish();
    let zpull = zpull.finish().expect(0);
    zpush.expect(0);
    assert!(
        !zpull.stderr_text().contains("closed") && zpull.lines() == lines,
        "{} of {} lines; {:?}",
        zpull.lines().len(),
        lines.len(),
        zpull.stderr
    );
}

/// A puller that drops its connection mid-stream (here: a message over its
/// `--max-size`) takes what was in flight to it along; zpush cannot say which
/// messages, but it must not say all went well.
#[test]
fn a_puller_leaving_with_messages_in_flight_fails_zpush() {
    let (zpull, endpoint) = run(
        Bin::Zpull,
        &["--bind", ANY, "--max-size", "1k", "--timeout", "1s"],
    )
    .bound();
    let mut lines: Vec<String> = (0..50).map(|i| format!("small {i}")).collect();
    lines.push("z".repeat(4096));
    lines.extend((50..2000).map(|i| format!("small {i}")));
    let zpush = run(
        Bin::Zpush,
        &["--connect", &endpoint, "--wait-timeout", "10s"],
    )
    .stdin_lines(&lines)
    .start()
    .finish()
    .expect(3);
    let zpull = zpull.finish().expect(0);
    assert!(zpull.lines().len() < lines.len(), "{zpull:?}");
    let text = zpush.stderr_text();
    assert!(
        text.contains("closed with messages in flight") && text.contains(&endpoint),
        "{text}"
    );
}

/// A sender applies `--max-size` to what it sends: the line is refused, named, and
/// nothing after it is sent.
#[test]
fn a_sender_refuses_a_message_over_its_max_size() {
    let (zpull, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--timeout", "1s"]).bound();
    let lines = ["first".to_string(), "x".repeat(2000), "third".to_string()];
    let zpush = run(Bin::Zpush, &["--connect", &endpoint, "--max-size", "1k"])
        .stdin_lines(&lines)
        .start()
        .finish()
        .expect(2);
    assert_eq!(
        zpush.errors(),
        ["zpush: stdin line 2: 2000 bytes, over --max-size (1024)"]
    );
    assert_eq!(zpull.finish().expect(0).lines(), ["first"]);
}

/// An input line is bounded too: reading `/dev/zero` (one endless line) ends at
/// once with an error instead of growing without limit.
#[test]
fn an_endless_input_line_is_refused_without_reading_it_whole() {
    let (_zpull, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--timeout", "1s"]).bound();
    let started = Instant::now();
    let zpush = run(
        Bin::Zpush,
        &[
            "--connect",
            &endpoint,
            "--max-size",
            "64k",
            "-f",
            "/dev/zero",
        ],
    )
    .start()
    .finish()
    .expect(2);
    assert!(started.elapsed() < DEADLINE);
    let text = zpush.stderr_text();
    assert!(
        text.contains("/dev/zero line 1: longer than") && text.contains("--max-size (65536)"),
        "{text}"
    );
}

/// A sender that only binds waits for a puller before its first message, says so,
/// and gives up at `--wait-timeout`: it never blocks in silence.
#[test]
fn a_binding_zpush_without_pullers_gives_up_at_its_wait_timeout() {
    let started = Instant::now();
    let out = run(Bin::Zpush, &["--bind", ANY, "--wait-timeout", "1500ms"])
        .stdin_lines(&["1", "2", "3"])
        .start()
        .finish()
        .expect(2);
    assert!(started.elapsed() < DEADLINE);
    assert_eq!(
        out.errors(),
        [
            "zpush: waiting for 1 puller(s) to connect",
            "zpush: waited 1.5s for 1 puller(s): 0 connected",
        ]
    );
}
