//! Pipelines that account for every item: `zpush --header` numbers a batch, workers
//! (`zpull --push`) keep the numbering, and `zpull --sink` says whether every item
//! arrived exactly once, and if not, exactly which are missing or duplicated.
//!
//! Workers are frozen with SIGSTOP to hold items deterministically (no sleeps): a
//! frozen worker's items wait in kernel buffers until it resumes or is killed.

use crate::support::{run, zmq_socket, Bin, Finished, Proc, TempDir, ANY};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Instant;
use zpattern::frame::{Header, HEADER_LEN};

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
fn a_worker_killed_mid_batch_leaves_exactly_its_items_missing() {
    // The sink gives up 3 s after the last arrival: long enough for the survivor
    // on a loaded machine, since what it forwards must not be reported missing.
    let (mut sink, sink_ep) = sink("3s");
    let (mut source, source_ep) = run(Bin::Zpush, &["--bind", ANY, "--header", "--pullers", "2"])
        .stdin_piped()
        .bound();
    let survivor = worker(&source_ep, &sink_ep);
    let victim = worker(&source_ep, &sink_ep);
    let all = items(200);
    // One item each: once both reached the sink, both workers are up and working.
    source.write_stdin(format!("{}\n{}\n", all[0], all[1]).as_bytes());
    lines(&mut sink, 2);
    victim.signal(libc::SIGSTOP);
    source.write_stdin((all[2..].join("\n") + "\n").as_bytes());
    source.close_stdin();
    // Round-robin deals the other 198 items in turn: once the survivor's 99 are in,
    // the victim's share waits in its buffers. Kill it with the batch unfinished.
    lines(&mut sink, 99);
    victim.signal(libc::SIGKILL);

    let out = sink.finish().expect(3);
    let report = report(&out);
    let batch = &report["batches"][0];
    assert_eq!(report["verdict"], "incomplete", "{report}");
    assert_eq!(batch["expected"], 200, "{report}");
    assert_eq!(batch["duplicates"], 0, "{report}");
    let missing = expand(&batch["missing_ranges"]);
    let arrived: BTreeSet<u64> = out.lines().iter().map(|l| seq(l)).collect();
    let everything: BTreeSet<u64> = (0..200).collect();
    // Exactly what did not arrive is reported missing, nothing more or less.
    assert_eq!(missing, &everything - &arrived);
    assert_eq!(batch["missing"], missing.len());
    assert!(
        missing.len() >= 98,
        "the victim's share is missing: {missing:?}"
    );
    let survived: BTreeSet<u64> = stop(survivor).iter().map(|l| seq(l)).collect();
    assert!(missing.is_disjoint(&survived));
    let verdict = format!(
        "zpull: batch incomplete: 1 of 1 batches seen, {} items missing",
        missing.len()
    );
    assert!(out.errors().contains(&verdict.as_str()), "{out:?}");
    // zpush may or may not see the kill before it closes; either way it exits.
    let pushed = source.finish();
    assert!(matches!(pushed.code, Some(0 | 2)), "{pushed:?}");
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
    // The first worker is up well before the others; zpush holds the batch back.
    let mut first = worker(&source_ep, &sink_ep);
    assert_eq!(
        first.line_within(std::time::Duration::from_millis(200)),
        None
    );
    let second = worker(&source_ep, &sink_ep);
    let third = worker(&source_ep, &sink_ep);

    let out = sink.finish().expect(0);
    source.finish().expect(0);
    assert_eq!(report(&out)["verdict"], "complete");
    for share in [stop(first), stop(second), stop(third)] {
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
fn the_end_may_overtake_items_and_the_sink_keeps_waiting() {
    let (mut sink, endpoint) =
        run(Bin::Zpull, &["--bind", ANY, "--sink", "--timeout", "20s"]).bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    send_item(&peer, "item 0000", &Header::item(5, 0, None));
    send_item(&peer, "item 0001", &Header::item(5, 1, None));
    send_item(&peer, "", &Header::end_of_stream(5, 4));
    send_item(&peer, "item 0002", &Header::item(5, 2, None));
    // One connection delivers in order: the end has been counted when item 2 is
    // printed, and the sink is still waiting for item 3.
    assert_eq!(lines(&mut sink, 3), ["item 0000", "item 0001", "item 0002"]);
    assert_eq!(sink.try_exit(), None);
    send_item(&peer, "item 0003", &Header::item(5, 3, None));
    let out = sink.finish().expect(0);
    assert_eq!(out.lines(), items(4));
}

#[test]
fn malformed_headers_from_a_foreign_peer_are_counted_and_reported() {
    let (sink, endpoint) = sink("20s");
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    let valid = Header::item(3, 0, Some(2)).encode();
    let mut version_2 = valid;
    version_2[3] = 2;
    let mut version_99 = valid;
    version_99[3] = 99;
    let mut bad_flags = valid;
    bad_flags[4] = 0x80;
    let mut reserved = valid;
    reserved[6] = 0x01;
    let junk: [Vec<&[u8]>; 8] = [
        vec![b"no header"],
        vec![b"not a header", b"hello"],
        vec![b"from the future", &version_2],
        vec![b"from far in the future", &version_99],
        vec![b"too short", &valid[..HEADER_LEN - 1]],
        vec![b"bad flags", &bad_flags],
        vec![b"reserved bytes set", &reserved],
        // A valid header, but nothing else: no item.
        vec![&valid],
    ];
    for frames in &junk {
        peer.send_multipart(frames.iter().copied(), 0)
            .expect("send");
    }
    send_item(&peer, "item 0000", &Header::item(3, 0, Some(2)));
    send_item(&peer, "item 0001", &Header::item(3, 1, Some(2)));

    let out = sink.finish().expect(3);
    assert_eq!(out.lines(), items(2));
    let report = report(&out);
    assert_eq!(report["verdict"], "inconsistent", "{report}");
    assert_eq!(report["malformed"], junk.len());
    assert_eq!(report["batches"][0]["verdict"], "complete");
    let warnings: Vec<&str> = out
        .errors()
        .into_iter()
        .filter(|l| l.starts_with("zpull: warning: dropped a message: "))
        .collect();
    assert_eq!(
        warnings.len(),
        junk.len(),
        "one warning per malformed message: {out:?}"
    );
    for why in [
        "message has no header frame",
        "last frame is not a zpattern header",
        "header version 2 is not supported",
        "header version 99 is not supported",
        "header is 39 bytes, expected 40",
        "header has unknown flag bits 0x80",
        "header has non-zero reserved bytes 00 01 00",
        "message has only a header frame, no payload",
    ] {
        assert!(
            warnings.iter().any(|w| w.ends_with(why)),
            "{why}: {warnings:?}"
        );
    }
}

#[test]
fn duplicates_are_reported_and_printed_once() {
    let (sink, endpoint) = sink("20s");
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    for seq in [0, 1, 1, 2, 1] {
        send_item(
            &peer,
            &format!("item {seq:04}"),
            &Header::item(8, seq, None),
        );
    }
    send_item(&peer, "", &Header::end_of_stream(8, 3));
    let out = sink.finish().expect(3);
    assert_eq!(out.lines(), items(3));
    let batch = &report(&out)["batches"][0];
    assert_eq!(batch["verdict"], "inconsistent");
    assert_eq!(batch["duplicates"], 2);
    assert_eq!(batch["duplicate_ranges"], serde_json::json!([[1, 1]]));
}

/// A sink bound to an ipc socket file in `dir` after a foreign PUSH connected to it
/// sent every message of `sent`: libzmq queues them until the connection is up, then
/// writes them at once, so the sink finds them all queued together.
fn sink_after_the_fact(dir: &TempDir, sent: &[(&str, Header)], args: &[&str]) -> Finished {
    let endpoint = dir.ipc("sink.sock");
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    for (payload, header) in sent {
        send_item(&peer, payload, header);
    }
    let mut sink_args = vec!["--bind", &endpoint, "--sink", "--timeout", "20s"];
    sink_args.extend(["--report", "json"]);
    sink_args.extend(args);
    run(Bin::Zpull, &sink_args).start().finish()
}

#[test]
fn a_duplicate_queued_behind_the_last_item_is_reported() {
    let dir = TempDir::new();
    let known = [0, 1, 2, 1].map(|seq| ("item", Header::item(11, seq, Some(3))));
    let unknown = [
        ("item", Header::item(12, 0, None)),
        ("item", Header::item(12, 1, None)),
        ("", Header::end_of_stream(12, 2)),
        ("item", Header::item(12, 0, None)),
    ];
    for (sent, duplicate) in [(&known[..], 1), (&unknown[..], 0)] {
        // No grace period: the duplicate is already queued when the batch is whole.
        let out = sink_after_the_fact(&dir, sent, &["--grace", "0s"]).expect(3);
        let report = report(&out);
        let batch = &report["batches"][0];
        assert_eq!(report["verdict"], "inconsistent", "{report}");
        assert_eq!(batch["duplicates"], 1, "{report}");
        assert_eq!(
            batch["duplicate_ranges"],
            serde_json::json!([[duplicate, duplicate]])
        );
        assert_eq!(
            out.lines().len(),
            sent.len() - 1 - usize::from(duplicate == 0)
        );
    }
}

#[test]
fn a_duplicate_in_flight_when_the_batch_is_whole_is_reported() {
    let (mut sink, endpoint) = run(
        Bin::Zpull,
        &["--bind", ANY, "--sink", "--timeout", "20s", "--grace", "2s"],
    )
    .bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    for seq in 0..3 {
        send_item(
            &peer,
            &format!("item {seq:04}"),
            &Header::item(13, seq, Some(3)),
        );
    }
    // The batch is whole once the last item is printed: the duplicate comes after.
    assert_eq!(lines(&mut sink, 3), items(3));
    send_item(&peer, "item 0001", &Header::item(13, 1, Some(3)));
    let out = sink.finish().expect(3);
    assert_eq!(out.lines(), items(3));
    assert_eq!(
        out.errors(),
        [
            "zpull: batch 13: inconsistent: 3 of 3 items; 1 duplicates: 1",
            "zpull: batch inconsistent: 1 of 1 batches seen, 1 duplicates",
        ]
    );
}

#[test]
fn a_second_batch_keeps_the_sink_collecting_until_it_is_whole() {
    let (mut sink, endpoint) = run(
        Bin::Zpull,
        &["--bind", ANY, "--sink", "--timeout", "20s", "--grace", "0s"],
    )
    .bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    send_item(&peer, "b0", &Header::item(2, 0, Some(2)));
    send_item(&peer, "a0", &Header::item(1, 0, Some(1)));
    // Batch 1 is whole, and one batch is wanted; batch 2 is still on its way.
    assert_eq!(lines(&mut sink, 2), ["b0", "a0"]);
    send_item(&peer, "b1", &Header::item(2, 1, Some(2)));
    let out = sink.finish().expect(0);
    assert_eq!(out.lines(), ["b0", "a0", "b1"]);
    assert_eq!(
        out.errors(),
        [
            "zpull: batch 1: complete: 1 of 1 items, each exactly once",
            "zpull: batch 2: complete: 2 of 2 items, each exactly once",
        ]
    );
}

#[test]
fn a_sink_that_sees_nothing_gives_up_at_its_timeout() {
    let (sink, _) = run(Bin::Zpull, &["--bind", ANY, "--sink", "--timeout", "300ms"]).bound();
    let out = sink.finish().expect(3);
    assert_eq!(
        out.errors(),
        [
            "zpull: 0 of 1 batches seen",
            "zpull: batch incomplete: 0 of 1 batches seen"
        ]
    );
}

#[test]
fn an_interrupted_sink_still_reports() {
    let (sink, _) = run(Bin::Zpull, &["--bind", ANY, "--sink"]).bound();
    sink.terminate();
    let out = sink.finish().expect(130);
    assert_eq!(
        out.errors(),
        [
            "zpull: 0 of 1 batches seen",
            "zpull: interrupted: sent 0, received 0, dropped 0"
        ]
    );
}

#[test]
fn a_worker_drops_messages_without_a_valid_header_and_says_so() {
    let (sink, sink_ep) = sink("20s");
    let (worker, worker_ep) = run(
        Bin::Zpull,
        &["--bind", ANY, "--header", "--push", &sink_ep, "--verbose"],
    )
    .bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &worker_ep);
    peer.send_multipart([&b"junk"[..], b"ZPH"], 0)
        .expect("send");
    send_item(&peer, "item 0000", &Header::item(4, 0, Some(1)));
    let out = sink.finish().expect(0);
    assert_eq!(out.lines(), ["item 0000"]);
    worker.terminate();
    let worked = worker.finish().expect(130);
    assert_eq!(
        worked.errors(),
        [
            "zpull: warning: dropped a message: last frame is not a zpattern header",
            // Interrupted, the summary says so, and what was dropped.
            "zpull: interrupted: sent 1, received 1, dropped 1",
        ]
    );
}

#[test]
fn a_worker_that_dropped_malformed_messages_exits_3_at_its_end() {
    let (sink, sink_ep) = sink("20s");
    let (worker, worker_ep) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--header",
            "--push",
            &sink_ep,
            "--timeout",
            "1s",
            "--verbose",
        ],
    )
    .bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &worker_ep);
    let mut version_99 = Header::item(4, 0, Some(1)).encode();
    version_99[3] = 99;
    peer.send_multipart([&b"item 0000"[..], &version_99], 0)
        .expect("send");
    send_item(&peer, "item 0000", &Header::item(4, 0, Some(1)));
    // The sink sees a whole batch and nothing malformed: the loss was upstream.
    let out = sink.finish().expect(0);
    assert_eq!(report(&out)["malformed"], 0);
    let worked = worker.finish().expect(3);
    assert_eq!(
        worked.errors(),
        [
            "zpull: warning: dropped a message: header version 99 is not supported",
            "zpull: ends of stream: 0 passed on, 0 repeated copies dropped",
            "zpull: sent 1, received 1 message; dropped 1 without a valid batch header",
            "zpull: dropped 1 malformed messages (see the warnings), not pushed on",
        ]
    );
}

#[test]
fn a_stage_whose_stdout_reader_goes_away_keeps_pushing_on() {
    let (sink, sink_ep) = sink("20s");
    let (mut worker, worker_ep) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--header",
            "--push",
            &sink_ep,
            "--timeout",
            "1s",
        ],
    )
    .raw_stdout()
    .bound();
    // As in `zpull ... | head -0`: the reader is gone before the first item.
    drop(worker.take_stdout());
    let all = items(5000);
    let zpush = run(Bin::Zpush, &["--connect", &worker_ep, "--header"])
        .stdin_lines(&all)
        .start();
    zpush.finish().expect(0);
    let out = sink.finish().expect(0);
    assert_eq!(report(&out)["batches"][0]["received"], 5000);
    let worked = worker.finish().expect(0);
    assert!(worked.errors().is_empty(), "{worked:?}");
}

#[test]
fn a_stage_whose_stdout_fails_keeps_pushing_on_and_exits_1() {
    let (sink, sink_ep) = sink("20s");
    let (worker, worker_ep) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--header",
            "--push",
            &sink_ep,
            "--timeout",
            "1s",
        ],
    )
    .stdout_file(std::path::Path::new("/dev/full"))
    .bound();
    let zpush = run(Bin::Zpush, &["--connect", &worker_ep, "--header"])
        .stdin_lines(&items(100))
        .start();
    zpush.finish().expect(0);
    let out = sink.finish().expect(0);
    assert_eq!(report(&out)["batches"][0]["received"], 100);
    let worked = worker.finish().expect(1);
    let full = "cannot write to stdout: No space left on device (os error 28)";
    assert_eq!(
        worked.errors(),
        [
            format!("zpull: warning: {full}; printing stopped, items are still pushed on"),
            format!("zpull: {full}"),
        ]
    );
}

#[test]
fn an_item_the_exec_command_fails_on_is_reported_and_missing_at_the_sink() {
    let (sink, sink_ep) = sink("2s");
    let (worker, worker_ep) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--header",
            "--push",
            &sink_ep,
            "--exec",
            "grep -v poison",
            "--timeout",
            "3s",
        ],
    )
    .bound();
    let zpush = run(Bin::Zpush, &["--connect", &worker_ep, "--header"])
        .stdin_lines(&["item 0000", "item 0001 poison", "item 0002"])
        .start();
    zpush.finish().expect(0);
    let out = sink.finish().expect(3);
    assert_eq!(out.lines(), ["item 0000", "item 0002"]);
    assert_eq!(
        report(&out)["batches"][0]["missing_ranges"],
        serde_json::json!([[1, 1]])
    );
    let worked = worker.finish().expect(1);
    let errors = worked.errors();
    assert_eq!(errors.len(), 2, "{worked:?}");
    assert!(
        errors[0].starts_with("zpull: warning: batch ")
            && errors[0].contains(" item 1 not forwarded: 'grep -v poison' failed"),
        "{errors:?}"
    );
    assert_eq!(
        errors[1],
        "zpull: 1 of 3 items failed in --exec and were not pushed on"
    );
}

#[test]
fn a_stage_whose_downstream_takes_nothing_gives_up_at_its_timeout() {
    let dir = TempDir::new();
    let nobody = dir.ipc("nobody.sock");
    let (worker, worker_ep) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--header",
            "--push",
            &nobody,
            "--timeout",
            "1s",
        ],
    )
    .bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &worker_ep);
    send_item(&peer, "item 0000", &Header::item(5, 0, Some(1)));
    let started = Instant::now();
    let out = worker.finish().expect(2);
    assert!(started.elapsed().as_millis() >= 1000, "{out:?}");
    assert_eq!(out.lines(), ["item 0000"]);
    assert_eq!(
        out.errors(),
        [format!(
            "zpull: batch 5 item 0 not forwarded: cannot push on to {nobody}: no puller took a message for 1s"
        )]
    );
}

#[test]
fn a_worker_on_threads_shares_the_batch_among_them() {
    let (sink, sink_ep) = sink("20s");
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
    .stdin_lines(&items(90))
    .bound();
    let worker = run(
        Bin::Zpull,
        &[
            "--connect",
            &source_ep,
            "--header",
            "--push",
            &sink_ep,
            "--threads",
            "3",
        ],
    )
    .start();
    let out = sink.finish().expect(0);
    source.finish().expect(0);
    let mut printed = out.lines();
    printed.sort();
    assert_eq!(printed, items(90));
    let mut handled = stop(worker);
    handled.sort();
    assert_eq!(handled, items(90));
}

#[test]
fn a_worker_on_threads_cannot_bind() {
    let out = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--push",
            "tcp://127.0.0.1:1",
            "--threads",
            "2",
        ],
    )
    .start()
    .finish()
    .expect(2);
    assert_eq!(
        out.errors(),
        ["zpull: a worker with 2 threads cannot bind: each thread has its own sockets; connect them instead"]
    );
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
    assert_eq!(errors[1], "zsub: received 3 messages");
}

#[test]
fn the_sink_deadline_bounds_a_stream_that_never_ends() {
    let (sink, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--sink", "--deadline", "2s"]).bound();
    // Items keep coming, so the idle timeout would never end this sink.
    let zpush = run(
        Bin::Zpush,
        &[
            "--connect",
            &endpoint,
            "--header",
            "--batch-id",
            "2",
            "--data",
            "x",
            "--count",
            "1000000",
            "--interval",
            "1ms",
        ],
    )
    .start();
    let out = sink.finish().expect(3);
    let errors = out.errors();
    assert!(
        errors[0].starts_with("zpull: batch 2: incomplete: ")
            && errors[0].contains(" of 1000000 items; missing "),
        "{errors:?}"
    );
    drop(zpush);
}
