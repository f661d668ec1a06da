//! Workers (`zpull --push`): what a stage does when its input, its output or its
//! stdout goes wrong, and how it says what it did not push on.

use super::{foreign_pusher, items, report, send_item, sink, stop};
use crate::support::{run, Bin, TempDir, ANY};
use std::time::Instant;
use zpattern::frame::Header;

/// A stage binding an ephemeral port, in header mode, pushing on to `downstream`,
/// with `extra` arguments.
fn stage(downstream: &str, extra: &[&str]) -> crate::support::Spawn {
    let mut args = vec!["--bind", ANY, "--header", "--push", downstream];
    args.extend_from_slice(extra);
    run(Bin::Zpull, &args)
}

#[test]
fn a_worker_drops_messages_without_a_valid_header_and_says_so() {
    let (sink, sink_ep) = sink("20s");
    let (worker, worker_ep) = stage(&sink_ep, &["--verbose"]).bound();
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
    let (worker, worker_ep) = stage(&sink_ep, &["--timeout", "1s", "--verbose"]).bound();
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
    let (mut worker, worker_ep) = stage(&sink_ep, &["--timeout", "1s"]).raw_stdout().bound();
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
    let (worker, worker_ep) = stage(&sink_ep, &["--timeout", "1s"])
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
    let (worker, worker_ep) =
        stage(&sink_ep, &["--exec", "grep -v poison", "--timeout", "3s"]).bound();
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
    let (worker, worker_ep) = stage(&nobody, &["--timeout", "1s"]).bound();
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
