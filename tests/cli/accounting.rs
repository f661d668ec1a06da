//! Pipelines that account for every item: `zpush --header` numbers a batch, workers
//! (`zpull --push`) keep the numbering, and `zpull --sink` says whether every item
//! arrived exactly once, and if not, exactly which are missing or duplicated.
//!
//! Here: exactly-once delivery, fair start, end of stream, through one stage and
//! two; `killed`: workers killed mid-batch; `sink`: what the sink reads and reports;
//! `stages`: what a stage does when its input, output or stdout goes wrong.

mod killed;
mod sink;
mod stages;

use crate::support::{run, zmq_socket, Bin, Finished, Proc, ANY, DEADLINE};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use zpattern::frame::Header;

/// `count` distinct items, numbered from 0 like their sequence numbers.
fn items(count: u64) -> Vec<String> {
    (0..count).map(|i| format!("item {i:04}")).collect()
}

/// The sequence number of an item line.
fn seq(item: &str) -> u64 {
    item.trim_start_matches("item ")
        .parse()
        .expect("item number")
}

/// A sink printing a JSON report, bound to an ephemeral port.
fn sink(idle: &str) -> (Proc, String) {
    run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--sink",
            "--timeout",
            idle,
            "--report",
            "json",
        ],
    )
    .bound()
}

/// A worker pulling from `source` and pushing on to `sink`, keeping the header.
fn worker(source: &str, sink: &str) -> Proc {
    run(
        Bin::Zpull,
        &["--connect", source, "--header", "--push", sink],
    )
    .start()
}

/// The sink's JSON report from its stderr.
fn report(sink: &Finished) -> Value {
    let line = sink
        .stderr
        .iter()
        .find_map(|l| l.strip_prefix("zpull: report "))
        .unwrap_or_else(|| panic!("no report: {sink:?}"));
    serde_json::from_str(line).expect("report is JSON")
}

/// The numbers that `ranges` ([[first, last], ...]) hold.
fn expand(ranges: &Value) -> BTreeSet<u64> {
    let mut numbers = BTreeSet::new();
    for range in ranges.as_array().expect("ranges") {
        let (first, last) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
        numbers.extend(first..=last);
    }
    numbers
}

/// Stop an idle worker with SIGTERM; the items it pushed on.
fn stop(worker: Proc) -> Vec<String> {
    worker.terminate();
    let out = worker.finish().expect(130);
    out.lines()
}

/// Wait for `count` more lines on `proc`'s stdout.
fn lines(proc: &mut Proc, count: usize) -> Vec<String> {
    (0..count).map(|_| proc.line()).collect()
}

/// How many TCP connections peers have made to the port of `endpoint`
/// (`tcp://127.0.0.1:PORT`) and the kernel has established: the server side's
/// entries in `/proc/net/tcp`.
fn established(endpoint: &str) -> usize {
    let port = endpoint.rsplit(':').next().expect("a port");
    let port: u16 = port.parse().expect("a numeric port");
    let local = format!(":{port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(&local) && fields[3] == "01"
        })
        .count()
}

/// Wait (up to [`DEADLINE`]) until `count` peers are connected to `endpoint`.
fn wait_for_connections(endpoint: &str, count: usize) {
    let deadline = Instant::now() + DEADLINE;
    while established(endpoint) < count {
        assert!(
            Instant::now() < deadline,
            "{endpoint}: {} of {count} connections within {DEADLINE:?}",
            established(endpoint)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A worker bound to an ephemeral port, pushing on to every one of `next`, with
/// `more` arguments.
fn bound_worker(next: &[&str], more: &[&str]) -> (Proc, String) {
    let mut args = vec!["--bind", ANY, "--header"];
    for endpoint in next {
        args.extend(["--push", *endpoint]);
    }
    args.extend(more);
    run(Bin::Zpull, &args).bound()
}

/// The sequence numbers of item lines.
fn numbers(lines: &[String]) -> BTreeSet<u64> {
    lines.iter().map(|l| seq(l)).collect()
}

/// Start a stage of two workers pushing on to `next` (with `more` arguments), once
/// every worker of `next` is connected to: returns them and their endpoints.
fn stage(next: &[&str], more: &[&str]) -> (Vec<Proc>, Vec<String>) {
    let (first, first_ep) = bound_worker(next, more);
    let (second, second_ep) = bound_worker(next, more);
    // So that each worker deals to every worker of the next stage.
    for endpoint in next {
        wait_for_connections(endpoint, 2);
    }
    (vec![first, second], vec![first_ep, second_ep])
}

/// `workers` connect to a zpush that binds and waits for all of them: each gets an
/// equal share, and the sink sees every item exactly once.
fn exactly_once_with(workers: usize, known_size: bool) {
    let (sink, sink_ep) = sink("20s");
    let pullers = workers.to_string();
    let all = items(200);
    let mut args = vec!["--bind", ANY, "--header", "--pullers", &pullers];
    args.extend(["--wait-timeout", "20s"]);
    let source = if known_size {
        args.extend(["--data", "item", "--count", "200"]);
        run(Bin::Zpush, &args)
    } else {
        run(Bin::Zpush, &args).stdin_lines(&all)
    };
    let (source, source_ep) = source.bound();
    let pool: Vec<Proc> = (0..workers).map(|_| worker(&source_ep, &sink_ep)).collect();

    let out = sink.finish().expect(0);
    source.finish().expect(0);
    let report = report(&out);
    assert_eq!(report["verdict"], "complete", "{report}");
    assert_eq!(report["batches"][0]["received"], 200);
    assert_eq!(report["batches"][0]["expected"], 200);
    let shares: Vec<Vec<String>> = pool.into_iter().map(stop).collect();
    for share in &shares {
        assert_eq!(share.len(), 200 / workers, "unequal shares: {shares:?}");
    }
    if !known_size {
        let mut printed = out.lines();
        printed.sort();
        assert_eq!(printed, all);
        let mut handled: Vec<String> = shares.concat();
        handled.sort();
        assert_eq!(handled, all);
    }
}

#[test]
fn every_item_arrives_exactly_once_through_one_worker() {
    exactly_once_with(1, true);
}

#[test]
fn every_item_arrives_exactly_once_through_two_workers() {
    exactly_once_with(2, false);
}

#[test]
fn every_item_arrives_exactly_once_through_four_workers() {
    exactly_once_with(4, false);
}

#[test]
fn late_joining_workers_share_the_batch_from_the_first_item() {
    let (sink, sink_ep) = sink("20s");
    let all = items(300);
    let (source, source_ep) = run(
        Bin::Zpush,
        &[
            "--bind",
            ANY,
            "--header",
            "--pullers",
            "3",
            "--wait-timeout",
            "20s",
        ],
    )
    .stdin_lines(&all)
    .bound();
    // The workers join one after another, each once the one before is connected:
    // the first is there well before the others, and zpush holds the batch back.
    // (Not after the third: zpush then sends the batch and exits.)
    let mut pool = Vec::new();
    for joined in 0..3 {
        wait_for_connections(&source_ep, joined);
        pool.push(worker(&source_ep, &sink_ep));
    }
    let out = sink.finish().expect(0);
    source.finish().expect(0);
    assert_eq!(report(&out)["verdict"], "complete");
    for share in pool.into_iter().map(stop) {
        assert_eq!(share.len(), 100, "{share:?}");
    }
}

#[test]
fn zpush_gives_up_waiting_for_pullers_at_its_wait_timeout() {
    let started = Instant::now();
    let out = run(
        Bin::Zpush,
        &[
            "--bind",
            ANY,
            "--pullers",
            "2",
            "--wait-timeout",
            "300ms",
            "--data",
            "x",
        ],
    )
    .start()
    .finish()
    .expect(2);
    assert!(started.elapsed().as_millis() >= 300);
    assert_eq!(
        out.errors(),
        ["zpush: waited 300ms for 2 puller(s): 0 connected"]
    );
}

#[test]
fn a_batch_of_unknown_size_ends_with_its_end_of_stream() {
    let (sink, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--sink", "--timeout", "20s"]).bound();
    let all = items(5);
    let zpush = run(
        Bin::Zpush,
        &["--connect", &endpoint, "--header", "--batch-id", "42"],
    )
    .stdin_lines(&all)
    .start();
    zpush.finish().expect(0);
    let out = sink.finish().expect(0);
    assert_eq!(out.lines(), all);
    assert_eq!(
        out.errors(),
        ["zpull: batch 42: complete: 5 of 5 items, each exactly once"]
    );
}

#[test]
fn the_end_of_stream_reaches_every_worker_of_two_stages() {
    let (sink, sink_ep) = sink("20s");
    let verbose = ["--timeout", "3s", "--verbose"];
    let (second, second_eps) = stage(&[&sink_ep], &verbose);
    let (first, first_eps) = stage(&[&second_eps[0], &second_eps[1]], &verbose);
    let all = items(100);
    let zpush = run(
        Bin::Zpush,
        &[
            "--connect",
            &first_eps[0],
            "--connect",
            &first_eps[1],
            "--header",
        ],
    )
    .stdin_lines(&all)
    .start();
    zpush.finish().expect(0);
    let out = sink.finish().expect(0);
    let batch = &report(&out)["batches"][0];
    assert_eq!(
        (batch["expected"].as_u64(), batch["received"].as_u64()),
        (Some(100), Some(100))
    );
    // zpush sends one end to each first-stage worker; each passes it on to both
    // second-stage workers, which pass the first copy on and drop the second.
    let mut repeated = Vec::new();
    for (number, worker) in first.into_iter().chain(second).enumerate() {
        let worked = worker.finish().expect(0);
        let ends = worked
            .errors()
            .into_iter()
            .find_map(|l| l.strip_prefix("zpull: ends of stream: 1 passed on, "))
            .unwrap_or_else(|| panic!("worker {number} did not pass the end on: {worked:?}"))
            .to_string();
        repeated.push(ends);
    }
    assert_eq!(
        repeated,
        [
            "0 repeated copies dropped",
            "0 repeated copies dropped",
            "1 repeated copies dropped",
            "1 repeated copies dropped"
        ]
    );
}

#[test]
fn an_empty_batch_is_complete() {
    let (sink, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--sink", "--timeout", "20s"]).bound();
    let zpush = run(
        Bin::Zpush,
        &["--connect", &endpoint, "--header", "--batch-id", "1"],
    )
    .stdin_bytes("")
    .start();
    zpush.finish().expect(0);
    let out = sink.finish().expect(0);
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.errors(),
        ["zpull: batch 1: complete: 0 of 0 items, each exactly once"]
    );
}

/// A foreign PUSH socket connected to `endpoint`.
fn foreign_pusher(context: &zmq::Context, endpoint: &str) -> zmq::Socket {
    let socket = zmq_socket(context, zmq::PUSH);
    socket.connect(endpoint).expect("connect");
    socket
}

/// Send `payload` with `header` as its last frame.
fn send_item(socket: &zmq::Socket, payload: &str, header: &Header) {
    let frames: [&[u8]; 2] = [payload.as_bytes(), &header.encode()];
    socket.send_multipart(frames, 0).expect("send");
}

#[test]
fn zpush_header_frames_on_the_wire() {
    let context = zmq::Context::new();
    let pull = zmq_socket(&context, zmq::PULL);
    let endpoint = crate::support::bind_ephemeral(&pull);
    let zpush = run(
        Bin::Zpush,
        &[
            "--connect",
            &endpoint,
            "--header",
            "--batch-id",
            "7",
            "--data",
            "x",
            "--count",
            "2",
        ],
    )
    .start();
    let mut headers = Vec::new();
    for payload in [&b"x"[..], b"x", b""] {
        let frames = crate::support::recv_frames(&pull);
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0], payload);
        assert_eq!(
            &frames[1][..5],
            if payload.is_empty() {
                b"ZPH\x01\x01"
            } else {
                b"ZPH\x01\x00"
            }
        );
        headers.push(Header::decode(&frames[1]).expect("a valid header"));
    }
    zpush.finish().expect(0);
    let fields: Vec<(u64, u64, Option<u64>, bool)> = headers
        .iter()
        .map(|h| (h.batch, h.seq, h.size, h.end))
        .collect();
    assert_eq!(
        fields,
        [
            (7, 0, Some(2), false),
            (7, 1, Some(2), false),
            (7, 2, Some(2), true)
        ]
    );
    assert!(headers.iter().all(|h| h.sent_micros > 0));
}

#[test]
fn pub_sub_header_mode_strips_the_header_and_hides_the_end() {
    let (zsub, endpoint) = run(
        Bin::Zsub,
        &["--bind", ANY, "--header", "--timeout", "1s", "--verbose"],
    )
    .bound();
    let zpub = run(
        Bin::Zpub,
        &[
            "--connect",
            &endpoint,
            "--header",
            "--topic",
            "cats",
            "--data",
            "hat",
            "--count",
            "3",
        ],
    )
    .start();
    zpub.finish().expect(0);
    let out = zsub.finish().expect(0);
    assert_eq!(out.lines(), ["cats\that", "cats\that", "cats\that"]);
    let errors = out.errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    // --verbose: the gap report even when nothing is missing.
    assert!(
        errors[0].starts_with("zsub: batch ")
            && errors[0].ends_with(": complete: 3 of 3 items, each exactly once"),
        "{errors:?}"
    );
    // With headers, the summary has the items' one-way latency.
    assert!(
        errors[1].starts_with("zsub: received 3 messages; latency p50 "),
        "{errors:?}"
    );
}
