//! Faults a ZeroMQ program meets in the field: a server killed and restarted under a
//! requester (Lazy Pirate), a publisher that vanishes without closing its
//! connection (heartbeats), and a peer of the wrong socket type.

use crate::support::{run, zmq_socket, Bin, Proc, TempDir, ANY, DEADLINE};
use std::time::{Duration, Instant};

/// Wait (up to [`DEADLINE`]) for a stderr line of `proc` containing `text`.
fn stderr_line_with(proc: &mut Proc, text: &str) -> String {
    let deadline = Instant::now() + DEADLINE;
    while let Some(wait) = deadline.checked_duration_since(Instant::now()) {
        match proc.stderr_line_within(wait) {
            Some(line) if line.contains(text) => return line,
            Some(_) => {}
            None => break,
        }
    }
    panic!("no stderr line with '{text}' within {DEADLINE:?}");
}

/// A zrep answering `reply to REQUEST` at `endpoint`.
fn server(endpoint: &str) -> Proc {
    let (server, _) = run(Bin::Zrep, &["--bind", endpoint, "--reply", "reply to {}"]).bound();
    server
}

#[test]
fn zreq_with_retries_rides_out_a_server_killed_and_restarted() {
    let dir = TempDir::new();
    let endpoint = dir.ipc("rep.sock");
    let mut first = server(&endpoint);
    let mut zreq = run(
        Bin::Zreq,
        &[
            "--connect",
            &endpoint,
            "--timeout",
            "300ms",
            "--retries",
            "20",
        ],
    )
    .stdin_piped()
    .start();
    let requests: Vec<String> = (1..=6).map(|n| format!("request {n}")).collect();
    for request in &requests[..3] {
        zreq.write_stdin(format!("{request}\n").as_bytes());
        assert_eq!(zreq.line(), format!("reply to {request}"));
    }
    // Killed between requests: the next one goes out to nobody and times out.
    first.kill();
    first
        .wait_with_deadline(DEADLINE)
        .expect("the killed server ends");
    zreq.write_stdin(format!("{}\n", requests[3]).as_bytes());
    let resend = stderr_line_with(&mut zreq, "resending");
    assert!(resend.starts_with("zreq: no reply within 300ms; resending (attempt 2 of 21)"));
    let second = server(&endpoint);
    for request in &requests[4..] {
        zreq.write_stdin(format!("{request}\n").as_bytes());
    }
    let out = zreq.finish().expect(0);
    // Every request answered, once, in order, by its own reply.
    let replies: Vec<String> = requests.iter().map(|r| format!("reply to {r}")).collect();
    assert_eq!(out.lines(), replies);
    drop(second);
}

#[test]
fn zreq_without_retries_gives_up_when_the_server_is_gone() {
    let dir = TempDir::new();
    let endpoint = dir.ipc("rep.sock");
    let mut gone = server(&endpoint);
    gone.kill();
    gone.wait_with_deadline(DEADLINE)
        .expect("the killed server ends");
    let out = run(
        Bin::Zreq,
        &[
            "--connect",
            &endpoint,
            "--data",
            "hello",
            "--timeout",
            "200ms",
        ],
    )
    .start()
    .finish()
    .expect(2);
    assert_eq!(out.errors(), ["zreq: no reply within 200ms"]);
}

#[test]
fn zreq_says_how_often_it_tried_when_the_retries_run_out() {
    let started = Instant::now();
    let out = run(
        Bin::Zreq,
        &[
            "--bind",
            ANY,
            "--data",
            "anyone?",
            "--timeout",
            "100ms",
            "--retries",
            "2",
            "--backoff",
            "10ms",
        ],
    )
    .start()
    .finish()
    .expect(2);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let errors = out.errors();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].starts_with("zreq: no reply within 100ms; resending (attempt 2 of 3)"));
    assert!(errors[1].starts_with("zreq: no reply within 100ms; resending (attempt 3 of 3)"));
    assert_eq!(errors[2], "zreq: no reply after 3 attempts of 100ms each");
}

#[test]
fn zsub_notices_a_publisher_that_froze_and_reconnects_when_it_thaws() {
    // SIGSTOP keeps the publisher's connection open but silent, as a host that
    // vanished from the network would: only a heartbeat can tell.
    let (zpub, endpoint) = run(
        Bin::Zpub,
        &[
            "--bind",
            ANY,
            "--data",
            "tick",
            "--count",
            "100000",
            "--interval",
            "20ms",
        ],
    )
    .bound();
    let mut zsub = run(
        Bin::Zsub,
        &[
            "--connect",
            &endpoint,
            "--heartbeat",
            "100ms",
            "--heartbeat-timeout",
            "300ms",
        ],
    )
    .start();
    assert_eq!(zsub.line(), "tick");
    zpub.signal(libc::SIGSTOP);
    let lost = stderr_line_with(&mut zsub, "closed; reconnecting");
    assert_eq!(
        lost,
        format!("zsub: the connection to {endpoint} closed; reconnecting")
    );
    zpub.signal(libc::SIGCONT);
    let back = stderr_line_with(&mut zsub, "reconnected");
    assert_eq!(back, format!("zsub: reconnected to {endpoint}"));
    // Subscribed again: messages flow.
    assert_eq!(zsub.line(), "tick");
    zsub.terminate();
    zsub.finish().expect(130);
}

#[test]
fn a_peer_of_the_wrong_socket_type_is_an_error_not_a_silence() {
    let context = zmq::Context::new();
    for (bin, args, foreign, needs) in [
        (Bin::Zsub, &["--timeout", "20s"][..], zmq::PUSH, "publisher"),
        (
            Bin::Zreq,
            &["--data", "x", "--timeout", "20s"][..],
            zmq::PULL,
            "replier",
        ),
        (Bin::Zpush, &["--data", "x"][..], zmq::PUB, "puller"),
        (Bin::Zpull, &["--timeout", "20s"][..], zmq::REP, "pusher"),
    ] {
        let wrong = zmq_socket(&context, foreign);
        let endpoint = crate::support::bind_ephemeral(&wrong);
        let mut all = vec!["--connect", endpoint.as_str()];
        all.extend_from_slice(args);
        let started = Instant::now();
        let out = run(bin, &all).start().finish().expect(1);
        assert!(started.elapsed() < Duration::from_secs(10), "{out:?}");
        let line = format!(
            "{}: {endpoint}: refused the handshake: the {}",
            bin.name(),
            match bin {
                Bin::Zsub => "subscriber",
                Bin::Zreq => "requester",
                Bin::Zpush => "pusher",
                _ => "puller",
            }
        );
        // The refusal is the last word; before it, an attempt may have failed
        // while the peer was still closing on us.
        let errors = out.errors();
        let (last, before) = errors.split_last().expect("an error line");
        assert!(
            last.starts_with(&line) && last.contains(needs),
            "{errors:?}"
        );
        assert!(
            before.iter().all(|l| l.contains("; retrying")),
            "{errors:?}"
        );
    }
}
