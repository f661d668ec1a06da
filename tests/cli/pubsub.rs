//! zpub and zsub together: topic filtering, multipart messages, waiting for
//! subscribers, and a reader that goes away.

use crate::support::{frames, recv_frames, run, zmq_socket, Bin, ANY, DEADLINE};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Publish `lines` from zpub to a zsub started with `zsub_args`; zsub's output.
fn publish(zsub_args: &[&str], lines: &[&str]) -> Vec<String> {
    let mut args = vec!["--bind", ANY];
    args.extend_from_slice(zsub_args);
    let (zsub, endpoint) = run(Bin::Zsub, &args).bound();
    let zpub = run(Bin::Zpub, &["--connect", &endpoint])
        .stdin_lines(lines)
        .start();
    let out = zsub.finish().expect(0);
    zpub.finish().expect(0);
    out.lines()
}

#[test]
fn a_topic_is_a_byte_prefix() {
    // Messages keep their order, so anything let through wrongly would be among the
    // first three, which is all zsub prints.
    let got = publish(
        &["--topic", "cat", "--count", "3"],
        &["dog", "cat", "ca", "Cat", "cats", "doggy", "catalog"],
    );
    assert_eq!(got, ["cat", "cats", "catalog"]);
}

#[test]
fn several_topics_each_let_their_messages_through() {
    let got = publish(
        &["--topic", "cat", "--topic", "dog", "--count", "4"],
        &[
            "bird\t0",
            "cat\t1",
            "fish\t0",
            "dog\t2",
            "cow\t0",
            "dogs\t3",
            "hamster\t0",
            "catalog\t4",
        ],
    );
    assert_eq!(got, ["cat\t1", "dog\t2", "dogs\t3", "catalog\t4"]);
}

#[test]
fn subscribe_is_an_alias_of_topic() {
    let got = publish(
        &["--subscribe", "persian", "--count", "2"],
        &[
            "siamese\tbowler",
            "persian\tfedora",
            "maine coon\tberet",
            "persian\ttop hat",
        ],
    );
    assert_eq!(got, ["persian\tfedora", "persian\ttop hat"]);
}

#[test]
fn without_a_topic_everything_arrives() {
    let got = publish(&["--count", "3"], &["cat", "dog\tbone", "zebra"]);
    assert_eq!(got, ["cat", "dog\tbone", "zebra"]);
}

#[test]
fn a_tab_separated_line_travels_as_two_frames_and_prints_back() {
    // zpub reads its line at once but sends only when both subscribers are in.
    let (zpub, endpoint) = run(Bin::Zpub, &["--bind", ANY, "--subscribers", "2"])
        .stdin_lines(&["persian\tfedora"])
        .bound();
    let context = zmq::Context::new();
    let foreign = zmq_socket(&context, zmq::SUB);
    foreign.connect(&endpoint).unwrap();
    foreign.set_subscribe(b"persian").unwrap();
    let zsub = run(Bin::Zsub, &["--connect", &endpoint, "--count", "1"]).start();
    assert_eq!(recv_frames(&foreign), frames(&[b"persian", b"fedora"]));
    let out = zsub.finish().expect(0);
    assert_eq!(out.stdout, [b"persian\tfedora".to_vec()]);
    zpub.finish().expect(0);
}

#[test]
fn zpub_waits_for_the_number_of_subscribers_asked_for() {
    let items = ["one", "two", "three", "four", "five"];
    let (zpub, endpoint) = run(Bin::Zpub, &["--bind", ANY, "--subscribers", "2"])
        .stdin_lines(&items)
        .bound();
    let mut first = run(Bin::Zsub, &["--connect", &endpoint, "--count", "5"]).start();
    // With one subscriber of the two, nothing may be published yet. (A correct zpub
    // never fails this check; one that did not wait is caught here or just below,
    // where the late subscriber would miss the messages.)
    assert_eq!(first.line_within(Duration::from_millis(300)), None);
    let second = run(Bin::Zsub, &["--connect", &endpoint, "--count", "5"]).start();
    assert_eq!(first.finish().expect(0).lines(), items);
    assert_eq!(second.finish().expect(0).lines(), items);
    zpub.finish().expect(0);
}

#[test]
fn one_subscriber_of_two_is_not_enough() {
    let (zsub, endpoint) = run(Bin::Zsub, &["--bind", ANY]).bound();
    let zpub = run(
        Bin::Zpub,
        &[
            "--connect",
            &endpoint,
            "--subscribers",
            "2",
            "--wait-timeout",
            "500ms",
            "--data",
            "early",
        ],
    )
    .start();
    let out = zpub.finish().expect(2);
    assert_eq!(out.errors().len(), 1, "{out:?}");
    assert!(
        out.errors()[0].starts_with("zpub: waited 500ms for 2 subscriber(s)"),
        "{out:?}"
    );
    zsub.terminate();
    let out = zsub.finish().expect(130);
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn wait_timeout_without_subscribers_exits_2() {
    let started = Instant::now();
    let (zpub, _) = run(
        Bin::Zpub,
        &["--bind", ANY, "--data", "x", "--wait-timeout", "300ms"],
    )
    .bound();
    let out = zpub.finish().expect(2);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        out.errors(),
        ["zpub: waited 300ms for 1 subscriber(s): 0 subscribed, 0 connected"]
    );
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn zsub_ends_quietly_when_its_reader_goes_away() {
    let (mut zpub, endpoint) = run(Bin::Zpub, &["--bind", ANY]).stdin_piped().bound();
    let mut zsub = run(Bin::Zsub, &["--connect", &endpoint, "--quiet"])
        .raw_stdout()
        .start();
    let stdout = zsub.take_stdout();
    zpub.write_stdin(b"first\n");
    // Read the first line, as `zsub | head -1` does, then close the pipe.
    let (first_line, read) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = first_line.send(line);
        // The reader, and with it the pipe, is dropped here.
    });
    assert_eq!(read.recv_timeout(DEADLINE).unwrap(), "first\n");
    // Keep publishing until zsub notices that its reader is gone.
    let deadline = Instant::now() + DEADLINE;
    while zsub.try_exit().is_none() {
        assert!(Instant::now() < deadline, "zsub kept running");
        zpub.write_stdin(b"more\n");
        thread::sleep(Duration::from_millis(5));
    }
    let out = zsub.finish().expect(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    zpub.close_stdin();
    zpub.finish().expect(0);
}

#[test]
fn zpub_with_nothing_to_send_waits_for_nobody() {
    let started = Instant::now();
    run(Bin::Zpub, &["--connect", "tcp://127.0.0.1:9"])
        .stdin_bytes("")
        .start()
        .finish()
        .expect(0);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn zsub_without_a_publisher_ends_at_its_timeout_not_a_linger_later() {
    // Nothing listens at the endpoint; the subscription zsub queued for it must not
    // hold up its exit.
    let started = Instant::now();
    let out = run(
        Bin::Zsub,
        &["--connect", "tcp://127.0.0.1:9", "--timeout", "200ms"],
    )
    .start()
    .finish()
    .expect(0);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?} {out:?}",
        started.elapsed()
    );
}

#[test]
fn subscribers_are_counted_by_connection_not_by_subscription() {
    // One subscriber with two topics is one subscriber: --subscribers 2 waits for a
    // second one.
    let context = zmq::Context::new();
    let (mut zpub, endpoint) = run(
        Bin::Zpub,
        &[
            "--bind",
            ANY,
            "--topic",
            "x",
            "--data",
            "hi",
            "--subscribers",
            "2",
        ],
    )
    .bound();
    let first = zmq_socket(&context, zmq::SUB);
    first.set_subscribe(b"x").unwrap();
    first.set_subscribe(b"y").unwrap();
    first.connect(&endpoint).unwrap();
    let waiting = zpub.stderr_line_within(DEADLINE).expect("a waiting notice");
    assert_eq!(waiting, "zpub: waiting for 2 subscriber(s) to subscribe");
    assert!(zpub.try_exit().is_none(), "zpub must still be waiting");
    let second = zmq_socket(&context, zmq::SUB);
    second.set_subscribe(b"x").unwrap();
    second.connect(&endpoint).unwrap();
    for subscriber in [&first, &second] {
        assert_eq!(recv_frames(subscriber), frames(&[b"x", b"hi"]));
    }
    zpub.finish().expect(0);
}
